"""Sign only the query parameters the owner allowed: a pure step after the canonical query.

Two kinds of GetObject parameters do more than read the current object, and the
function signs with its role's authority for every viewer:

- the ``response-*`` overrides change the headers S3 returns (Content-Type,
  Content-Disposition, Cache-Control, ...). S3 honours them only on signed requests
  ("They cannot be used with an unsigned (anonymous) request", GetObject API
  reference), so signing them for anyone hands that power to anyone;
- ``versionId`` reads a version that is no longer current, even of an object deleted
  from the site, with the role's ``s3:GetObjectVersion``.

Each of these *guarded* parameters is refused (403, never signed) unless the
distribution allows it. Which ones are allowed comes from the template's parameters
(``AllowedResponseOverrides``, ``AllowVersionReads``), which build both the cache
policy's query-string whitelist and the MRAP origin's custom header
``x-mrap-edge-allow`` that this step reads: one source, so CloudFront and the function
cannot disagree (tests/template). A missing header allows none of them (fail closed).
``partNumber``, which S3 honours on anonymous requests too, is never refused here.

Usage::

    allowed = allowed_parameters(req.custom_headers)    # frozenset({"versionId"}) or frozenset()
    check_parameters("partNumber=2&versionId=3", allowed)  # None: sign it
    check_parameters("response-content-type=text%2Fhtml", frozenset())  # Refusal(403, ...)
    without_allow_header(req.custom_headers)            # what the origin receives
"""

from __future__ import annotations

from .decide import Refusal
from .event import Headers

# The origin custom header that carries the allowlist from the template to the function.
# Lower case: CloudFront keys customHeaders by lower-cased name. Not x-amz-*: CloudFront
# refuses those as origin custom headers.
ALLOW_HEADER = "x-mrap-edge-allow"

# GetObject's URI parameters beyond partNumber: the overrides (honoured only on signed
# requests) and versionId. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
RESPONSE_OVERRIDES = (
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
)
VERSION_ID = "versionId"
GUARDED = frozenset((*RESPONSE_OVERRIDES, VERSION_ID))
# GetObject's parameters that anonymous requests may use too: never refused, always forwarded.
ANONYMOUS_SAFE = ("partNumber",)

NOTHING = frozenset[str]()


def _parse(value: str) -> frozenset[str]:
    """The guarded names a header value lists; anything else in it is ignored."""
    return frozenset(name.strip() for name in value.split(",")) & GUARDED


def allowed_parameters(custom_headers: Headers) -> frozenset[str]:
    """The guarded parameters the origin's ``x-mrap-edge-allow`` header allows.

    Read from the origin's custom headers only, never from the viewer's request
    headers. No header (or an unreadable one): no guarded parameter is allowed.
    """
    entries = custom_headers.get(ALLOW_HEADER)
    if not isinstance(entries, list):
        return NOTHING
    values = [entry.get("value") for entry in entries if isinstance(entry, dict)]
    return _parse(",".join(value for value in values if isinstance(value, str)))


def _guarded(name: str) -> bool:
    """A name S3 may read as a guarded parameter, compared without case: stricter
    than S3 (whose names are case-sensitive), so no spelling of one slips through."""
    lower = name.lower()
    return lower == "versionid" or lower.startswith("response-")


def check_parameters(query: str, allowed: frozenset[str]) -> Refusal | None:
    """Refuse a canonical query string naming a guarded parameter that is not allowed.

    ``query`` must be the canonical form (names decoded and strictly re-encoded), so
    ``response%2Dcontent-type`` is already ``response-content-type`` here. An allowed
    name must match exactly; an unknown ``response-*`` name is never allowed.
    """
    if not query:
        return None
    for part in query.split("&"):
        name = part.partition("=")[0]
        if _guarded(name) and name not in allowed:
            what = "AllowVersionReads" if name.lower() == "versionid" else "AllowedResponseOverrides"
            return Refusal(403, f"query parameter {name!r} is not allowed by this distribution ({what})")
    return None


def without_allow_header(custom_headers: Headers) -> Headers:
    """The origin's custom headers without the allowlist: the origin never needs it."""
    if ALLOW_HEADER not in custom_headers:
        return custom_headers
    return {name: entries for name, entries in custom_headers.items() if name != ALLOW_HEADER}
