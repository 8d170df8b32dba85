"""Lambda@Edge origin-request handler: sign CloudFront's request to an S3 MRAP with SigV4A.

parse the event -> decide (sign, pass through, answer OPTIONS, refuse) -> canonical
path, query and headers -> check the target (a key, not too long, no sub-resource) ->
check the parameters (no guarded one the distribution does not allow) -> sign ->
CloudFront-shaped result.  Every failure becomes a generated 502 that is never
cached: an unsigned or half-signed request is never forwarded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from mrap_edge.allowlist import allowed_parameters, check_parameters, without_allow_header
from mrap_edge.canonical import PathError, canonical_path, canonical_query, forwarded_headers
from mrap_edge.config import load_config
from mrap_edge.decide import Action, check_target, decide
from mrap_edge.event import EventError, parse_event
from mrap_edge.logs import JsonLogger
from mrap_edge.responses import bad_gateway, method_not_allowed, options_no_content, refused, signed_request
from mrap_edge.signer import CredentialsError, SignerCache, SigningError, sign_request

CONFIG = load_config(Path(__file__).with_name("config.json"))
LOG = JsonLogger(CONFIG.log_level)
SIGNERS = SignerCache()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        req = parse_event(event)
    except EventError as exc:
        LOG.error("rejected", status=502, reason=f"malformed event: {exc}")
        return bad_gateway("malformed origin-request event")

    decision = decide(req, CONFIG.failover_header)
    if decision.action is Action.PASS_THROUGH:
        LOG.info("passed-through", request_id=req.request_id, reason=decision.reason, uri=req.uri[:256])
        return req.request
    if decision.action is Action.ANSWER_OPTIONS:
        LOG.info("answered", request_id=req.request_id, status=204, reason=decision.reason, uri=req.uri[:256])
        return options_no_content()
    if decision.action is Action.REJECT_METHOD:
        LOG.warning("rejected", request_id=req.request_id, status=405, reason=decision.reason)
        return method_not_allowed(req.method)

    try:
        origin_path = canonical_path(req.origin_path) if req.origin_path else ""
        uri = canonical_path(req.uri)
        query = canonical_query(req.querystring)
        path = origin_path + uri  # what S3 reads: the key is path[1:]
        refusal = check_target(path, query) or check_parameters(query, allowed_parameters(req.custom_headers))
        if refusal is None:
            headers = forwarded_headers(req.headers, req.domain)
            signer = SIGNERS.get(os.environ)
            signature = sign_request(signer, req.method, req.domain, path, query, req.request_id)
    except (PathError, CredentialsError, SigningError) as exc:
        LOG.error("rejected", request_id=req.request_id, status=502, reason=str(exc), uri=req.uri[:256])
        return bad_gateway(str(exc), req.request_id)
    except Exception as exc:  # never let a trace reach the viewer, never forward unsigned
        LOG.error("rejected", request_id=req.request_id, status=502, reason=f"unexpected {type(exc).__name__}")
        return bad_gateway("the origin request could not be signed", req.request_id)
    if refusal is not None:
        LOG.warning(
            "rejected", request_id=req.request_id, status=refusal.status, reason=refusal.reason, uri=req.uri[:256]
        )
        return refused(refusal.status, refusal.reason, req.request_id)

    # The allowlist header is for the function only: S3 never sees it.
    result = signed_request(req, origin_path, uri, query, headers, signature, without_allow_header(req.custom_headers))
    if LOG.enabled("INFO"):
        LOG.info(
            "signed",
            request_id=req.request_id,
            method=req.method,
            uri=uri[:256],
            ms=round((time.perf_counter() - started) * 1000, 3),
        )
    return result
