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

import botocore.auth  # noqa: F401  (botocore.crt.auth cannot be imported first)
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import CrtS3SigV4AsymAuth

SERVICE = "s3"
REGION_SET = "*"  # an MRAP routes to any of its Regions
# Headers the signer adds that CloudFront must send; host and x-amz-cf-id are
# signed too but CloudFront sets them itself.
NOT_RETURNED = frozenset({"host", "x-amz-cf-id"})


class CredentialsError(RuntimeError):
    """The execution environment has no usable credentials."""


class SigningError(RuntimeError):
    """The CRT signer failed or produced an incomplete signature."""


class SignerCache:
    """One CRT signer per set of credentials; a cheap tuple compare per request."""

    __slots__ = ("_key", "_signer")

    def __init__(self) -> None:
        self._key: tuple[str, str, str | None] | None = None
        self._signer: CrtS3SigV4AsymAuth | None = None

    def get(self, environ: Mapping[str, str]) -> CrtS3SigV4AsymAuth:
        key = (
            environ.get("AWS_ACCESS_KEY_ID", ""),
            environ.get("AWS_SECRET_ACCESS_KEY", ""),
            environ.get("AWS_SESSION_TOKEN") or None,
        )
        if key == self._key and self._signer is not None:
            return self._signer
        if not key[0] or not key[1]:
            raise CredentialsError("AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set")
        self._signer = CrtS3SigV4AsymAuth(Credentials(*key), SERVICE, REGION_SET)
        self._key = key
        return self._signer


def sign_request(
    signer: CrtS3SigV4AsymAuth,
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
    url = f"https://{host}{path}?{query}" if query else f"https://{host}{path}"
    request = AWSRequest(method=method, url=url, headers={"host": host, "x-amz-cf-id": request_id})
    try:
        signer.add_auth(request)
    except Exception as exc:  # awscrt raises its own error types
        raise SigningError(f"CRT signer failed: {type(exc).__name__}") from None
    added = {name: value for name, value in request.headers.items() if name.lower() not in NOT_RETURNED}
    auth = added.get("Authorization", "")
    if "x-amz-cf-id" not in auth or "X-Amz-Date" not in added:
        raise SigningError("signature does not cover x-amz-cf-id")
    return added
