"""SigV4A through botocore's CRT signer, with credentials from the execution environment.

The signer is built once per execution environment and rebuilt only when the
role's credentials in the environment change (Lambda rotates them in place).

Usage::

    signer = SignerCache()
    headers = sign_request(signer.get(os.environ), "GET", host, "/key", "", request_id)
    headers["Authorization"]   # "AWS4-ECDSA-P256-SHA256 Credential=..."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awscrt.http
import botocore.auth  # noqa: F401  (botocore.crt.auth cannot be imported first)
from botocore.credentials import Credentials
from botocore.crt.auth import CrtS3SigV4AsymAuth

SERVICE = "s3"
REGION_SET = "*"  # an MRAP routes to any of its Regions
# Headers the signer adds, which CloudFront must send.  host and x-amz-cf-id are
# signed too, but CloudFront sets those itself.
ADDED_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Region-Set", "X-Amz-Content-SHA256", "X-Amz-Security-Token")


class CredentialsError(RuntimeError):
    """The execution environment has no usable credentials."""


class SigningError(RuntimeError):
    """The CRT signer failed or produced an incomplete signature."""


class EdgeSigner(CrtS3SigV4AsymAuth):
    """botocore's CRT SigV4A signer for S3, leaving the signed headers in CRT's own map.

    botocore would copy them into an email-based ``HTTPHeaders``; that machinery and
    ``AWSRequest`` (replaced by ``_SigningRequest`` below) cost a third of a signature.
    """

    def _apply_signing_changes(self, aws_request: Any, signed_crt_request: Any) -> None:
        aws_request.headers = signed_crt_request.headers

    # ``_SigningRequest`` is always an HTTPS GET/HEAD/OPTIONS with host and x-amz-cf-id
    # only, so botocore's generic checks have one answer; skip them on the hot path.
    def _modify_request_before_signing(self, request: Any) -> None:
        pass  # no stale auth headers to remove, host already set

    def _should_sha256_sign_payload(self, request: Any) -> bool:
        return True  # sign the (empty) body's hash, as botocore does for S3 here

    def _should_sign_header(self, name: str, **kwargs: Any) -> bool:
        return True  # host and x-amz-cf-id: both must be signed

    def _crt_request_from_aws_request(self, aws_request: Any) -> Any:
        # The path and query are already in their final form: no URL to split.
        return awscrt.http.HttpRequest(
            method=aws_request.method,
            path=aws_request.path_and_query,
            headers=awscrt.http.HttpHeaders(aws_request.headers.items()),
        )


class _SigningRequest:
    """The attributes botocore's CRT signer reads from an ``AWSRequest``, and no more.

    A plain dict of lower-case headers without Content-MD5 or auth headers, no
    params and no body: exactly what ``add_auth`` needs for a GET/HEAD/OPTIONS. No
    URL either: the ``EdgeSigner`` overrides above were its only readers.
    The differential and zip tests pin this to the botocore version we ship.
    """

    __slots__ = ("body", "context", "headers", "method", "params", "path_and_query")

    def __init__(self, method: str, path_and_query: str, headers: dict[str, str]) -> None:
        self.method = method
        self.path_and_query = path_and_query
        self.headers: Any = headers
        self.params: dict[str, str] = {}
        self.body = b""
        self.context: dict[str, Any] = {}


class SignerCache:
    """One CRT signer per set of credentials; a cheap tuple compare per request."""

    __slots__ = ("_key", "_signer")

    def __init__(self) -> None:
        self._key: tuple[str, str | None] | None = None
        self._signer: EdgeSigner | None = None

    def get(self, environ: Mapping[str, str]) -> EdgeSigner:
        # AWS never reuses an access key id with another secret, so the id and the
        # token tell whether the credentials changed; the secret is read on change.
        key = (environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SESSION_TOKEN") or None)
        if key == self._key and self._signer is not None:
            return self._signer
        secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key[0] or not secret:
            raise CredentialsError("AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set")
        self._signer = EdgeSigner(Credentials(key[0], secret, key[1]), SERVICE, REGION_SET)
        self._key = key
        return self._signer


def sign_request(
    signer: EdgeSigner,
    method: str,
    host: str,
    path: str,
    query: str,
    request_id: str,
) -> dict[str, str]:
    """Sign ``host`` and ``x-amz-cf-id`` (CloudFront adds it later, equal to requestId).

    Returns the headers to add, keyed by their usual capitalisation: Authorization,
    X-Amz-Date, X-Amz-Region-Set, X-Amz-Content-SHA256 and, with a session token,
    X-Amz-Security-Token.
    """
    path_and_query = f"{path}?{query}" if query else path
    request = _SigningRequest(method, path_and_query, {"host": host, "x-amz-cf-id": request_id})
    try:
        signer.add_auth(request)
    except Exception as exc:  # awscrt raises its own error types
        raise SigningError(f"CRT signer failed: {type(exc).__name__}") from None
    signed = request.headers  # awscrt.http.HttpHeaders: case-insensitive get
    added = {name: value for name in ADDED_HEADERS if (value := signed.get(name)) is not None}
    if "x-amz-cf-id" not in added.get("Authorization", "") or "X-Amz-Date" not in added:
        raise SigningError("signature does not cover x-amz-cf-id")
    return added
