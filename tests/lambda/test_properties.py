"""Property tests: any key or query string a viewer can send is signed so that S3
verifies it and resolves it to the same key and parameters."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_function
from local.s3.sigv4a import Mode, query_params, s3_key_bytes
from mrap_edge.canonical import canonical_path, canonical_query
from mrap_edge.decide import SUBRESOURCES
from tests.conftest import check_signed, make_event

RAW_SAFE = set("!'()*@:,;=$&-._~") | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Examples per signing property: 400 in `make test` (each signed request is verified with the
# public key, the costly part); PROPERTY_EXAMPLES=2000 for a thorough run before a release.
MANY = int(os.environ.get("PROPERTY_EXAMPLES", "400"))
EXAMPLES = settings(max_examples=MANY, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

key_chars = st.characters(blacklist_categories=("Cs",), min_codepoint=0x20, blacklist_characters="\x7f")
keys = st.text(key_chars, min_size=1, max_size=120)


@st.composite
def viewer_encoding(draw, text: str, in_query: bool = False) -> str:
    """One of the many ways a viewer (and CloudFront) may spell ``text`` in a URL."""
    out = []
    for ch in text:
        if ch == " ":
            out.append(draw(st.sampled_from(["+", "%20"])))
        elif ch == "/" and not in_query:
            out.append(draw(st.sampled_from(["/", "%2F"])))
        elif ch in RAW_SAFE and not (in_query and ch in "&="):
            out.append(draw(st.sampled_from([ch, quote(ch, safe="")])) if ch not in "-._~" else ch)
        else:
            encoded = quote(ch, safe="")
            out.append(encoded if draw(st.booleans()) else encoded.lower())
    return "".join(out)


@EXAMPLES
@given(data=st.data(), key=keys)
def test_any_key_is_signed_and_resolves_to_itself(creds, data, key: str) -> None:
    uri = "/" + data.draw(viewer_encoding(key))
    event = make_event(uri)
    wire = check_signed(event, lambda_function.lambda_handler(event, None), creds)
    assert s3_key_bytes(wire.path) == ("/" + key).encode()


# Not x-amz-* (dropped) nor an S3 sub-resource such as "acl" (refused with a 403), nor a
# guarded versionId/response-* (refused unless allowed: test_allowlist.py).
names = st.text(key_chars, min_size=1, max_size=20).filter(
    lambda n: not n.lower().startswith(("x-amz-", "response-")) and n.lower() not in SUBRESOURCES | {"versionid"}
)
values = st.text(key_chars, max_size=40)


@EXAMPLES
@given(data=st.data(), params=st.lists(st.tuples(names, values), max_size=6))
def test_any_query_string_is_kept_and_signed(creds, data, params) -> None:
    query = "&".join(
        data.draw(viewer_encoding(name, in_query=True)) + "=" + data.draw(viewer_encoding(value, in_query=True))
        for name, value in params
    )
    event = make_event("/k", query)
    wire = check_signed(event, lambda_function.lambda_handler(event, None), creds)
    got = sorted((n.decode(), v.decode()) for n, v in query_params(wire.query, Mode.S3))
    assert got == sorted(params)


@settings(max_examples=1000, deadline=None)
@given(data=st.data(), key=keys)
def test_canonical_path_is_stable_and_lossless(data, key: str) -> None:
    uri = "/" + data.draw(viewer_encoding(key))
    once = canonical_path(uri)
    assert canonical_path(once) == once
    assert unquote(once) == "/" + key
    assert set(once) <= RAW_SAFE - set("!'()*@:,;=$&") | {"%", "/"} | set("ABCDEF")


@settings(max_examples=1000, deadline=None)
@given(params=st.lists(st.tuples(names, values), max_size=6))
def test_canonical_query_is_sorted_and_stable(params) -> None:
    raw = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in params)
    once = canonical_query(raw)
    assert canonical_query(once) == once
    pairs = [p.split("=", 1) for p in once.split("&")] if once else []
    assert pairs == sorted(pairs)
