"""Secure defaults end to end, through the stand-in built from cloudformation.template:
with the template's defaults a viewer gets the current object and nothing more; each
opt-in (AllowedResponseOverrides, AllowVersionReads) restores its capability.

viewer -> local edge (the template's cache and response headers policies) -> the zip's
function (the MRAP origin's x-mrap-edge-allow header in its event) -> MRAP -> buckets.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from local import settings
from local.stack import LocalStack
from local.template import load_template
from tests.local.helpers import OPTED_IN, Log, put_everywhere, request, write_template

pytestmark = pytest.mark.slow
APP = "https://app.example.com"
CORS = {"CorsAllowedOrigins": APP}  # only to see which headers CORS exposes

# Each override with a value and the response header it would set (GetObject reference).
OVERRIDES = [
    ("response-content-type", "text/html", "content-type"),
    ("response-content-disposition", 'attachment; filename="evil.exe"', "content-disposition"),
    ("response-cache-control", "max-age=999999", "cache-control"),
    ("response-content-language", "fr", "content-language"),
    ("response-content-encoding", "x-test", "content-encoding"),
    ("response-expires", "Thu, 01 Jan 2099 00:00:00 GMT", "expires"),
]


def start(**kwargs) -> LocalStack:
    return LocalStack(log=Log(), concurrency=1, with_failover=False, **kwargs)


@pytest.fixture(scope="module")
def defaults() -> Iterator[LocalStack]:
    """cloudformation.template with its defaults for both opt-ins."""
    with start(parameters=CORS) as stack:
        yield stack


@pytest.fixture(scope="module")
def opted_in() -> Iterator[LocalStack]:
    """AllowVersionReads=yes and every response-* override allowed."""
    with start(parameters={**CORS, **OPTED_IN}) as stack:
        yield stack


@pytest.fixture(scope="module")
def disposition_only() -> Iterator[LocalStack]:
    with start(parameters={"AllowedResponseOverrides": "response-content-disposition"}) as stack:
        yield stack


@pytest.fixture(scope="module")
def widened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A template changed by hand: the cache policy forwards every query string and the
    MRAP origin lost its x-mrap-edge-allow header. The function still signs none of them."""
    template = copy.deepcopy(load_template())
    policy = template["Resources"]["CachePolicy"]["Properties"]["CachePolicyConfig"]
    policy["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"] = {"QueryStringBehavior": "all"}
    origins = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
    for origin in origins:
        if isinstance(origin, dict) and origin.get("Id") == "mrap":
            del origin["OriginCustomHeaders"]
    path = write_template(template, Path(tmp_path_factory.mktemp("widened")) / "widened.template")
    with start(template_path=path) as stack:
        yield stack


def put_page(stack: LocalStack, key: str) -> list[str | None]:
    return put_everywhere(stack, key, b"<p>uploaded</p>")  # stored as text/plain


def target(key: str, name: str, value: str) -> str:
    return f"/{key}?{name}={quote(value, safe='')}"


# --- response-* overrides ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "header"), OVERRIDES)
def test_by_default_a_viewer_changes_no_response_header(defaults, name: str, value: str, header: str) -> None:
    key = f"default-{name}.txt"
    put_page(defaults, key)
    status, plain, _ = request(defaults.edge, "GET", f"/{key}")
    status, headers, body = request(defaults.edge, "GET", target(key, name, value))
    # CloudFront drops the parameter (the cache policy does not forward it): the stored object as it is.
    assert (status, body) == (200, b"<p>uploaded</p>")
    assert headers.get(header) == plain.get(header) != value
    assert headers["content-type"] == "text/plain"


@pytest.mark.parametrize(("name", "value", "header"), OVERRIDES)
def test_opting_in_restores_each_override(opted_in, name: str, value: str, header: str) -> None:
    key = f"opted-{name}.txt"
    put_page(opted_in, key)
    status, headers, _ = request(opted_in.edge, "GET", target(key, name, value))
    assert status == 200 and headers[header] == value


def test_only_the_listed_override_is_restored(disposition_only) -> None:
    put_page(disposition_only, "report.txt")
    value = 'attachment; filename="report.txt"'
    status, headers, _ = request(
        disposition_only.edge, "GET", target("report.txt", "response-content-disposition", value)
    )
    assert status == 200 and headers["content-disposition"] == value
    status, headers, _ = request(
        disposition_only.edge, "GET", target("report.txt", "response-content-type", "text/html")
    )
    assert status == 200 and headers["content-type"] == "text/plain"


# --- versions ---------------------------------------------------------------------------


def versioned(stack: LocalStack, key: str) -> str:
    """Two versions in both buckets; the id of the first, as each bucket gave it."""
    first = put_everywhere(stack, key, b"version one")
    put_everywhere(stack, key, b"version two")
    assert first[0] is not None
    return first[0]


def delete_everywhere(stack: LocalStack, key: str) -> None:
    for bucket in settings.BUCKETS:
        stack.buckets.client.delete_object(Bucket=bucket.name, Key=key)
    stack.edge.cache.purge()


def test_by_default_only_the_current_version_is_served(defaults) -> None:
    first = versioned(defaults, "versioned.txt")
    status, headers, body = request(defaults.edge, "GET", f"/versioned.txt?versionId={first}")
    assert (status, body) == (200, b"version two")
    assert "x-amz-version-id" not in headers


def test_by_default_a_deleted_object_is_gone_whatever_version_is_asked(defaults) -> None:
    first = versioned(defaults, "deleted.txt")
    delete_everywhere(defaults, "deleted.txt")
    for query in ("", f"?versionId={first}"):
        status, headers, body = request(defaults.edge, "GET", f"/deleted.txt{query}")
        assert status == 404 and b"<Code>NoSuchKey</Code>" in body and b"version one" not in body
        assert "x-amz-version-id" not in headers  # not even the delete marker's


def test_by_default_viewers_do_not_learn_version_ids(defaults) -> None:
    put_page(defaults, "ids.txt")
    for method in ("GET", "HEAD"):
        status, headers, _ = request(defaults.edge, method, "/ids.txt", {"Origin": APP})
        assert status == 200 and "x-amz-version-id" not in headers
        exposed = [h.strip().lower() for h in headers["access-control-expose-headers"].split(",")]
        assert "etag" in exposed and "x-amz-version-id" not in exposed


def test_opting_in_restores_version_reads_even_after_a_delete(opted_in) -> None:
    first = versioned(opted_in, "versioned.txt")
    status, headers, body = request(opted_in.edge, "GET", f"/versioned.txt?versionId={first}", {"Origin": APP})
    assert (status, body) == (200, b"version one")
    assert headers["x-amz-version-id"] == first
    assert "x-amz-version-id" in headers["access-control-expose-headers"].lower()
    delete_everywhere(opted_in, "versioned.txt")
    assert request(opted_in.edge, "GET", "/versioned.txt")[0] == 404
    # The risk AllowVersionReads states: the old version is still readable by its id.
    assert request(opted_in.edge, "GET", f"/versioned.txt?versionId={first}")[2] == b"version one"


def signed_by_the_role(stack: LocalStack, path: str, query: str) -> tuple[int, bytes]:
    """A GET signed with the function role's credentials straight to the local MRAP: what
    a request that got past the cache policy and the function's allowlist would be."""
    import http.client

    from local.lambda_edge.pool import role_environment
    from mrap_edge.signer import SignerCache, sign_request

    signed = sign_request(SignerCache().get(role_environment()), "GET", settings.MRAP_DOMAIN, path, query, "cf-id")
    conn = http.client.HTTPConnection(*stack.mrap.address, timeout=30)
    try:
        conn.request("GET", f"{path}?{query}", headers={"Host": settings.MRAP_DOMAIN, "X-Amz-Cf-Id": "cf-id", **signed})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_by_default_the_role_itself_cannot_read_old_versions(defaults, opted_in) -> None:
    # The third layer: with AllowVersionReads=no the role's policy and the MRAP policy grant
    # no s3:GetObjectVersion, so even a request past the first two is AccessDenied.
    first = versioned(defaults, "role-versions.txt")
    status, body = signed_by_the_role(defaults, "/role-versions.txt", f"versionId={quote(first, safe='')}")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"s3:GetObjectVersion" in body
    assert signed_by_the_role(defaults, "/role-versions.txt", "") == (200, b"version two")  # the current one
    first = versioned(opted_in, "role-versions.txt")
    assert signed_by_the_role(opted_in, "/role-versions.txt", f"versionId={quote(first, safe='')}") == (
        200,
        b"version one",
    )


# --- defence in depth: the function refuses what a widened distribution forwards ---------


@pytest.mark.parametrize(
    "query",
    [f"{name}={quote(value, safe='')}" for name, value, _ in OVERRIDES] + ["versionId=abc", "VersionId=abc"],
)
def test_a_widened_distribution_still_signs_no_signed_only_parameter(widened, query: str) -> None:
    put_page(widened, "page.txt")
    status, headers, body = request(widened.edge, "GET", f"/page.txt?{query}")
    assert status == 403 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "Forbidden"
    assert "not allowed" in json.loads(body)["message"]


def test_a_widened_distribution_still_serves_plain_reads(widened) -> None:
    put_page(widened, "page.txt")
    status, _, body = request(widened.edge, "GET", "/page.txt?utm_source=mail")
    assert (status, body) == (200, b"<p>uploaded</p>")
