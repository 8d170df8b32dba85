"""The signature's region set and the signer's life across credential rotations."""

from __future__ import annotations

import time

import awscrt.exceptions
import awscrt.http
import pytest

import lambda_function
from local.cloudfront.event import wire_request
from local.s3.verifier import Credential, S3Error, verify_s3_request
from mrap_edge import signer
from tests.conftest import REQUEST_ID, SECRET, TOKEN, check_signed, make_event


def handle(event: dict) -> dict:
    return lambda_function.lambda_handler(event, None)


def test_region_set_is_star_and_signed(creds) -> None:
    event = make_event()
    result = handle(event)
    assert result["headers"]["x-amz-region-set"] == [{"key": "X-Amz-Region-Set", "value": "*"}]
    assert ";x-amz-region-set," in result["headers"]["authorization"][0]["value"]
    check_signed(event, result, creds)  # with no route given, the verifier wants '*'


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2", "af-south-1", "us-east-1"])
def test_any_region_the_mrap_routes_to_accepts_it(creds, region: str) -> None:
    event = make_event()
    wire = wire_request(handle(event), REQUEST_ID)
    verify_s3_request(wire, creds, now=time.time(), region=region)


def test_a_single_region_set_would_be_refused_elsewhere(creds, monkeypatch) -> None:
    """What the test above guards against: a signer for one Region fails at the others."""
    monkeypatch.setattr(lambda_function, "SIGNERS", signer.SignerCache())
    monkeypatch.setattr(signer, "REGION_SET", "us-east-1")
    wire = wire_request(handle(make_event()), REQUEST_ID)
    verify_s3_request(wire, creds, now=time.time(), region="us-east-1")
    with pytest.raises(S3Error) as err:
        verify_s3_request(wire, creds, now=time.time(), region="eu-west-1")
    assert err.value.code == "AuthorizationHeaderMalformed"


def test_scope_and_algorithm(creds) -> None:
    auth = handle(make_event())["headers"]["authorization"][0]["value"]
    date = time.strftime("%Y%m%d", time.gmtime())
    assert auth.startswith(f"AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/{date}/s3/aws4_request, SignedHeaders=")


def test_session_token_only_rotation_rebuilds_the_signer(session_creds, monkeypatch) -> None:
    event = make_event()
    check_signed(event, handle(event), session_creds)
    first = lambda_function.SIGNERS._signer
    monkeypatch.setenv("AWS_SESSION_TOKEN", "rotated-" + TOKEN)
    event = make_event()
    result = handle(event)
    assert lambda_function.SIGNERS._signer is not first
    assert result["headers"]["x-amz-security-token"][0]["value"] == "rotated-" + TOKEN
    rotated = {"ASIAEXAMPLEROLE": Credential("ASIAEXAMPLEROLE", SECRET, "rotated-" + TOKEN)}
    check_signed(event, result, rotated)
    with pytest.raises(S3Error) as err:
        check_signed(event, result, session_creds)  # the old token no longer matches
    assert err.value.code == "InvalidToken"


def test_dropping_the_session_token_rebuilds_the_signer(session_creds, monkeypatch) -> None:
    handle(make_event())
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    event = make_event()
    result = handle(event)
    assert "x-amz-security-token" not in result["headers"]
    check_signed(event, result, {"ASIAEXAMPLEROLE": Credential("ASIAEXAMPLEROLE", SECRET)})


def test_secret_alone_is_read_with_the_key_id(creds, monkeypatch) -> None:
    """The cache keys on id and token (AWS never reuses an id with another secret)."""
    cache = signer.SignerCache()
    first = cache.get({"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s1"})
    assert cache.get({"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s1"}) is first
    assert cache.get({"AWS_ACCESS_KEY_ID": "AKIA2", "AWS_SECRET_ACCESS_KEY": "s1"}) is not first
    token = cache.get({"AWS_ACCESS_KEY_ID": "AKIA2", "AWS_SECRET_ACCESS_KEY": "s1", "AWS_SESSION_TOKEN": "t"})
    assert token.credentials.token == "t"
    empty = cache.get({"AWS_ACCESS_KEY_ID": "AKIA2", "AWS_SECRET_ACCESS_KEY": "s1", "AWS_SESSION_TOKEN": ""})
    assert empty is not token and empty.credentials.token is None


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AWS_ACCESS_KEY_ID": "AKIA1"},
        {"AWS_SECRET_ACCESS_KEY": "s"},
        {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "s"},
        {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": ""},
    ],
)
def test_missing_credentials_are_refused(environ: dict) -> None:
    with pytest.raises(signer.CredentialsError) as err:
        signer.SignerCache().get(environ)
    assert str(err.value) == "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_method_is_signed(creds, method: str) -> None:
    event = make_event(method=method)
    wire = check_signed(event, handle(event), creds)
    assert wire.method == method
    other = "HEAD" if method == "GET" else "GET"
    wire.method = other
    with pytest.raises(S3Error) as err:
        verify_s3_request(wire, creds, now=time.time())
    assert err.value.code == "SignatureDoesNotMatch"


class FakeSigner:
    """Stands in for a CRT signer that misbehaves: raises, or leaves headers out."""

    def __init__(self, headers: list[tuple[str, str]] | None = None, error: Exception | None = None) -> None:
        self.headers, self.error = headers, error

    def add_auth(self, request) -> None:
        if self.error:
            raise self.error
        request.headers = awscrt.http.HttpHeaders(self.headers)


AUTH = ("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=A/20261127/s3/aws4_request, SignedHeaders=host;x-amz-cf-id")


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        (FakeSigner(error=ValueError("boom")), "CRT signer failed: ValueError"),
        (FakeSigner(error=awscrt.exceptions.AwsCrtError(1, "AWS_ERROR", "x")), "CRT signer failed: AwsCrtError"),
        (FakeSigner([("X-Amz-Date", "20261127T000000Z")]), "signature does not cover x-amz-cf-id"),
        (FakeSigner([AUTH]), "signature does not cover x-amz-cf-id"),
        (
            FakeSigner([("Authorization", AUTH[1].replace(";x-amz-cf-id", "")), ("X-Amz-Date", "20261127T000000Z")]),
            "signature does not cover x-amz-cf-id",
        ),
    ],
)
def test_a_failed_or_incomplete_signature_is_an_error(fake: FakeSigner, message: str) -> None:
    with pytest.raises(signer.SigningError) as err:
        signer.sign_request(fake, "GET", "h", "/k", "", "id")  # type: ignore[arg-type]
    assert str(err.value) == message


def test_only_the_signers_headers_are_returned() -> None:
    fake = FakeSigner([AUTH, ("X-Amz-Date", "d"), ("x-amz-region-set", "*"), ("Host", "h"), ("X-Amz-Cf-Id", "i")])
    assert signer.sign_request(fake, "GET", "h", "/k", "", "id") == {  # type: ignore[arg-type]
        "Authorization": AUTH[1],
        "X-Amz-Date": "d",
        "X-Amz-Region-Set": "*",
    }
