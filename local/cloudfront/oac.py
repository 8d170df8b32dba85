"""CloudFront's own origin signing (origin access control, SigningMode oac) for the local edge.

In oac mode no function runs: CloudFront signs each request to the origin the origin
access control is attached to (the MRAP) with SigV4A, region set ``*``, as the service
principal ``cloudfront.amazonaws.com`` on behalf of the distribution (``aws:SourceArn``).
Requests to any other origin (the failover origin) go unsigned: an OAC belongs to one
origin. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3-mrap.html

This signer is independent of the function's (``lambda/mrap_edge``): it drives awscrt
directly. The path and query it signs are the ones it sends, decoded as S3 decodes them
(``+`` in the path is a space, ``%XX`` a byte, UTF-8) and re-encoded in one strict form,
as a correct S3 client does; a target that does not decode is a 400. It has the
``FunctionPool`` interface the edge calls (``wait``, ``invoke(event, deadline)``,
``close``), and hands back the origin request with the signature headers added.

Usage::

    signer = OacSigner(settings.MRAP_DOMAIN)
    outcome = signer.invoke(origin_request_event)   # outcome.result: the signed request
"""

from __future__ import annotations

import copy
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import awscrt.auth
import awscrt.http

from ..lambda_edge.pool import Outcome
from ..s3.verifier import Credential

PRINCIPAL = "Service:cloudfront.amazonaws.com"  # as local.iam names a service principal
# CloudFront's signing key, locally. Never the function's role credentials.
CREDENTIAL = Credential("AKIALOCALCLOUDFRONT1", "local/cloudfront/oac/secret/EXAMPLEKEY+not+real", None)
ADDED = ("Authorization", "X-Amz-Date", "X-Amz-Region-Set", "X-Amz-Content-SHA256", "X-Amz-Security-Token")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class BadTarget(ValueError):
    """A path or query that does not decode the way S3 decodes it."""


def strict(raw: str, safe: str) -> str:
    """Decode as S3 does (``+`` a space, ``%XX`` a byte, UTF-8), re-encode strictly."""
    if _BAD_ESCAPE.search(raw):
        raise BadTarget("a '%' not followed by two hex digits")
    data = unquote_to_bytes(raw.replace("+", "%20"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadTarget("not UTF-8") from None
    return quote(data, safe=safe)


def strict_query(raw: str) -> str:
    """Each parameter strictly encoded (a bare flag gets ``=``), sorted as SigV4 sorts them."""
    pairs = sorted((strict(n, ""), strict(v, "")) for n, _, v in (p.partition("=") for p in raw.split("&") if p))
    return "&".join(f"{n}={v}" for n, v in pairs)


class OacSigner:
    """Signs origin requests to ``domain`` as CloudFront's origin access control does."""

    def __init__(self, domain: str, credential: Credential = CREDENTIAL, wait: float = 10.0) -> None:
        self.domain = domain.lower()
        self.credential = credential
        self.wait = wait  # the edge's deadline for a "function": signing never waits
        self.clock = time.time
        self._provider = awscrt.auth.AwsCredentialsProvider.new_static(
            credential.access_key_id, credential.secret_access_key, credential.token
        )

    def invoke(self, event: dict[str, Any], deadline: float | None = None) -> Outcome:
        started = time.perf_counter()
        cf = event["Records"][0]["cf"]
        request = copy.deepcopy(cf["request"])
        kind = "custom" if "custom" in request["origin"] else "s3"
        origin = request["origin"][kind]
        if origin["domainName"].lower() != self.domain:
            return Outcome(request, None, (time.perf_counter() - started) * 1000)  # not this OAC's origin
        try:
            request["uri"] = strict(request["uri"], "/")
            request["querystring"] = query = strict_query(request.get("querystring", ""))
        except BadTarget as exc:
            answer = {"status": "400", "statusDescription": "Bad Request", "body": f"400 Bad Request: {exc}\n"}
            return Outcome(answer, None, (time.perf_counter() - started) * 1000)
        path = origin.get("path", "") + request["uri"]
        # CloudFront adds X-Amz-Cf-Id (= requestId) after this point; S3 wants every x-amz-* signed.
        headers = [("host", origin["domainName"]), ("x-amz-cf-id", cf["config"]["requestId"])]
        signed = self._sign(request["method"], path + (f"?{query}" if query else ""), headers)
        # CloudFront sends the origin's domain as Host (no viewer Host is forwarded here).
        request["headers"]["host"] = [{"key": "Host", "value": origin["domainName"]}]
        for name in ADDED:
            value = signed.get(name)
            if value is not None:
                request["headers"][name.lower()] = [{"key": name, "value": value}]
        return Outcome(request, None, (time.perf_counter() - started) * 1000)

    def _sign(self, method: str, path_and_query: str, headers: list[tuple[str, str]]) -> awscrt.http.HttpHeaders:
        config = awscrt.auth.AwsSigningConfig(
            algorithm=awscrt.auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
            signature_type=awscrt.auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=self._provider,
            region="*",
            service="s3",
            date=datetime.fromtimestamp(self.clock(), UTC),
            use_double_uri_encode=False,  # S3: the path is signed as sent
            should_normalize_uri_path=False,
            signed_body_value=awscrt.auth.AwsSignedBodyValue.EMPTY_SHA256,  # GET/HEAD: no body
            signed_body_header_type=awscrt.auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        )
        http = awscrt.http.HttpRequest(method=method, path=path_and_query, headers=awscrt.http.HttpHeaders(headers))
        awscrt.auth.aws_sign_request(http, config).result()
        return http.headers

    def close(self) -> None:
        pass
