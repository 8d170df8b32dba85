"""Lambda@Edge origin-request signer for S3 Multi-Region Access Points.

One module per step of the handler, in the order it runs:

- ``event``: parse and validate the CloudFront origin-request event.
- ``decide``: sign it, pass it through untouched, or refuse the method.
- ``canonical``: the path, query string and headers that are signed and sent.
- ``signer``: credentials from the execution environment and the SigV4A call.
- ``responses``: CloudFront-shaped results (signed request, generated errors).
- ``logs``: one JSON line per decision, never a secret.
- ``config``: the package's settings (``config.json`` beside the handler).
"""
