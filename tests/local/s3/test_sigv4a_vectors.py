"""The independent verifier against the aws-c-auth SigV4A test suite (tests/vectors/sigv4a)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from local.s3 import sigv4a
from local.s3.verifier import WireRequest

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "sigv4a"
# An upstream copy of the suite to compare the vendored one with: SIGV4A_SUITE, else the
# team's shared copy beside the checkout (../shared/vectors/sigv4a), which a clone lacks.
SHARED = Path(os.environ.get("SIGV4A_SUITE") or Path(__file__).resolve().parents[4] / "shared" / "vectors" / "sigv4a")
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "context.json").exists())
# Two cases carry only a request (aws-c-auth checks them by re-signing); the rest
# carry the canonical request, string to sign, public key and signatures.
SIGNED_CASES = [c for c in CASES if (VECTORS / c / "public-key.json").exists()]


def parse_http(text: str) -> WireRequest:
    """Parse a vector's request.txt: request line, headers (with folded lines), body."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # drop "HTTP/1.1"; a path may hold spaces
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    path, _, query = target.partition("?")
    return WireRequest(method, path, query, headers, body.encode())


def load(case: str) -> tuple[dict, WireRequest]:
    folder = VECTORS / case
    return json.loads((folder / "context.json").read_text()), parse_http((folder / "request.txt").read_text())


def read(case: str, name: str) -> str:
    return (VECTORS / case / name).read_text().rstrip("\n") if (VECTORS / case / name).exists() else ""


def test_every_vector_is_exercised() -> None:
    assert len(CASES) >= 40 and len(SIGNED_CASES) >= len(CASES) - 2


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("get-vanilla-query-order-key", "Param1=Value1&Param1=value2"),
        ("get-vanilla-query-order-value", "Param1=value1&Param1=value2"),
    ],
)
def test_query_order_cases_without_outputs(case: str, expected: str) -> None:
    _, req = load(case)
    assert sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.GENERIC)) == expected


def test_vendored_vectors_match_the_shared_suite() -> None:
    if not SHARED.exists():
        pytest.skip(
            "no upstream copy of the aws-c-auth SigV4A test suite to compare tests/vectors/sigv4a with (all its "
            "vectors still ran): to check the copy is unchanged, set SIGV4A_SUITE to aws-c-auth's "
            "tests/aws-signing-test-suite/v4a folder"
        )
    for path in SHARED.rglob("*"):
        if path.is_file():
            assert (VECTORS / path.relative_to(SHARED)).read_bytes() == path.read_bytes(), path


@pytest.mark.parametrize("case", SIGNED_CASES)
def test_public_key_derivation(case: str) -> None:
    context, _ = load(case)
    creds = context["credentials"]
    expected = json.loads((VECTORS / case / "public-key.json").read_text())
    numbers = sigv4a.derive_public_key(creds["access_key_id"], creds["secret_access_key"]).public_numbers()
    assert (f"{numbers.x:064x}", f"{numbers.y:064x}") == (expected["X"], expected["Y"])


def header_signed_inputs(context: dict, req: WireRequest) -> tuple[dict[str, list[str]], list[str], str]:
    """Add the headers aws-c-auth adds when signing, as the suite's context says."""
    amz_date = context["timestamp"].replace("-", "").replace(":", "")
    headers = req.header_map()
    headers["x-amz-date"] = [amz_date]
    headers["x-amz-region-set"] = [context["region"]]
    token = context["credentials"].get("token")
    if token and not context.get("omit_session_token"):
        headers["x-amz-security-token"] = [token]
    payload = sigv4a.EMPTY_SHA256
    if context.get("sign_body"):
        payload = hashlib.sha256(req.body).hexdigest()
        headers["x-amz-content-sha256"] = [payload]
    return headers, sorted(headers), payload


@pytest.mark.parametrize("case", SIGNED_CASES)
def test_header_signing_canonical_request_string_to_sign_and_signatures(case: str) -> None:
    context, req = load(case)
    headers, signed, payload = header_signed_inputs(context, req)
    amz_date = headers["x-amz-date"][0]
    creq = sigv4a.canonical_request(
        req.method,
        sigv4a.canonical_uri(req.path, sigv4a.Mode.GENERIC, context["normalize"]),
        sigv4a.canonical_query(sigv4a.query_params(req.query, sigv4a.Mode.GENERIC)),
        headers,
        signed,
        payload,
    )
    expected_creq = read(case, "header-canonical-request.txt") or read(case, "canonical-request.txt")
    assert creq == expected_creq
    sts = sigv4a.string_to_sign(amz_date, sigv4a.credential_scope(amz_date, context["service"]), creq)
    assert sts == (read(case, "header-string-to-sign.txt") or read(case, "string-to-sign.txt"))

    creds = context["credentials"]
    public = sigv4a.derive_public_key(creds["access_key_id"], creds["secret_access_key"])
    for name in ("header-signature.txt", "signature.txt"):
        if read(case, name):
            assert sigv4a.verify_signature(public, sts, read(case, name))
    signed_request = read(case, "header-signed-request.txt")
    if signed_request:
        auth = sigv4a.parse_authorization(dict(parse_http(signed_request).headers)["Authorization"])
        assert auth is not None and auth.signed_headers == signed
        assert auth.access_key_id == creds["access_key_id"]
        assert auth.scope == sigv4a.credential_scope(amz_date, context["service"])
        assert sigv4a.verify_signature(public, sts, auth.signature)
        assert not sigv4a.verify_signature(public, sts + "x", auth.signature)


@pytest.mark.parametrize("case", [c for c in CASES if read(c, "query-canonical-request.txt")])
def test_query_signing(case: str) -> None:
    context, _ = load(case)
    signed = parse_http(read(case, "query-signed-request.txt"))
    params = sigv4a.query_params(signed.query, sigv4a.Mode.GENERIC)
    values = {name.decode(): value.decode() for name, value in params}
    signed_headers = values["X-Amz-SignedHeaders"].split(";")
    headers = signed.header_map()
    # With omit_session_token the token is appended after signing, so it is not signed.
    excluded = frozenset(
        {b"X-Amz-Signature"} | ({b"X-Amz-Security-Token"} if context.get("omit_session_token") else set())
    )
    creq = sigv4a.canonical_request(
        signed.method,
        sigv4a.canonical_uri(signed.path, sigv4a.Mode.GENERIC, context["normalize"]),
        sigv4a.canonical_query(params, exclude=excluded),
        headers,
        signed_headers,
        sigv4a.EMPTY_SHA256 if not context.get("sign_body") else hashlib.sha256(signed.body).hexdigest(),
    )
    assert creq == read(case, "query-canonical-request.txt")
    amz_date = values["X-Amz-Date"]
    sts = sigv4a.string_to_sign(amz_date, sigv4a.credential_scope(amz_date, context["service"]), creq)
    assert sts == read(case, "query-string-to-sign.txt")
    creds = context["credentials"]
    public = sigv4a.derive_public_key(creds["access_key_id"], creds["secret_access_key"])
    assert sigv4a.verify_signature(public, sts, read(case, "query-signature.txt"))
    assert sigv4a.verify_signature(public, sts, values["X-Amz-Signature"])


def test_verify_rejects_a_signature_from_another_key() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import hashes

    sig = other.sign(b"sts", ec.ECDSA(hashes.SHA256())).hex()
    public = sigv4a.derive_public_key("AKIDEXAMPLE", "secret")
    assert not sigv4a.verify_signature(public, "sts", sig)
    assert sigv4a.verify_signature(other.public_key(), "sts", sig)
    assert not sigv4a.verify_signature(public, "sts", "zz")


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        ("/", "/"),
        ("", "/"),
        ("/a/b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("//a//b//", "/a/b/"),
        ("/a/./b/../c", "/a/c"),
        ("/../a", "/a"),
        ("/a/b/../../..", "/"),
        ("/./", "/"),
        ("/a/..", "/"),
    ],
)
def test_generic_path_normalisation(path: str, normalized: str) -> None:
    """aws-c-auth's normalisation for non-S3 services (the vectors have few multi-segment paths)."""
    assert sigv4a.normalize_path(path) == normalized
    assert sigv4a.canonical_uri(path, sigv4a.Mode.GENERIC, normalize=True) == normalized
    assert sigv4a.canonical_uri(path, sigv4a.Mode.GENERIC) == (path or "/")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a+b/%2B%2b", "/a%20b/%2B%2B"),
        ("/%7e%2F~", "/~/~"),
        ("/caf\u00e9 x", "/caf%C3%A9%20x"),
        ("/100%", "/100%25"),
        ("/%zz", "/%25zz"),
    ],
)
def test_s3_canonical_uri(raw: str, expected: str) -> None:
    """S3 mode: ``+`` is a space, ``%XX`` a byte, then strict upper-case encoding, no normalisation."""
    assert sigv4a.canonical_uri(raw, sigv4a.Mode.S3) == expected


def test_query_params_and_canonical_query() -> None:
    pairs = sigv4a.query_params("b=2&a+b=c+d&&flag&e=%2B%7e", sigv4a.Mode.S3)
    assert pairs == [(b"b", b"2"), (b"a b", b"c d"), (b"flag", b""), (b"e", b"+~")]
    assert sigv4a.canonical_query(pairs) == "a%20b=c%20d&b=2&e=%2B~&flag="
    assert sigv4a.query_params("a+b=c+d", sigv4a.Mode.GENERIC) == [(b"a+b", b"c+d")]
    assert sigv4a.canonical_query(pairs, exclude=frozenset({b"b", b"flag"})) == "a%20b=c%20d&e=%2B~"
    assert sigv4a.query_params("", sigv4a.Mode.S3) == []
    # '/' is kept in paths only: in a query name or value it is %2F.
    assert sigv4a.canonical_query([(b"a/b", b"c/d")]) == "a%2Fb=c%2Fd"


def test_canonical_header_values_are_trimmed_and_joined() -> None:
    assert sigv4a.canonical_header_value(["  a   b\t c  ", "d"]) == "a b c,d"
    creq = sigv4a.canonical_request("GET", "/", "", {"host": ["h"], "x-a": [" 1 ", "2"]}, ["host", "x-a"], "p")
    assert creq == "GET\n/\n\nhost:h\nx-a:1,2\n\nhost;x-a\np"
    # A signed header the request lacks is signed with an empty value.
    assert sigv4a.canonical_request("GET", "/", "", {}, ["host"], "p") == "GET\n/\n\nhost:\n\nhost\np"


def test_key_derivation_retries_a_counter_out_of_range(monkeypatch) -> None:
    """A first HMAC above n-2 moves on to the next counter (aws-c-auth key_derivation.c)."""
    real = sigv4a.hmac.new
    calls: list[bytes] = []

    class Big:
        def digest(self) -> bytes:
            return b"\xff" * 32

    def fake(key, msg, digestmod):
        calls.append(msg)
        return Big() if len(calls) == 1 else real(key, msg, digestmod)

    monkeypatch.setattr(sigv4a.hmac, "new", fake)
    sigv4a.derive_private_value.cache_clear()
    try:
        d = sigv4a.derive_private_value("AKIDRETRY", "secret")
    finally:
        sigv4a.derive_private_value.cache_clear()
    assert [msg[-5] for msg in calls] == [1, 2]  # the counter byte
    assert calls[0][:4] == b"\x00\x00\x00\x01" and calls[0][-4:] == b"\x00\x00\x01\x00"
    expected = int.from_bytes(real(b"AWS4Asecret", calls[1], "sha256").digest(), "big") + 1
    assert d == expected
