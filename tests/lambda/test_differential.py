"""Differential test: the handler signs the same canonical request botocore's own S3
client signs for ``get_object`` on the MRAP ARN (captured offline, no network)."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_function
from local import sigv4a
from local.s3auth import WireRequest, verify_s3_request
from tests.conftest import AKID, MRAP_DOMAIN, check_signed, make_event

MRAP_ARN = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"


class Captured(Exception):
    def __init__(self, request) -> None:
        self.request = request


@pytest.fixture(scope="module")
def s3_client():
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "virtual"}),
    )

    def stop(request, **kwargs):
        raise Captured(request)

    client.meta.events.register("before-send.s3.GetObject", stop)
    return client


def botocore_request(client, **params) -> WireRequest:
    with pytest.raises(Captured) as captured:
        client.get_object(Bucket=MRAP_ARN, **params)
    request = captured.value.request
    from urllib.parse import urlsplit

    url = urlsplit(request.url)
    assert url.hostname == MRAP_DOMAIN
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    return WireRequest(request.method, url.path, url.query, headers)


def canonical_uri_and_query(wire: WireRequest) -> tuple[str, str]:
    return (
        sigv4a.canonical_uri(wire.path, sigv4a.Mode.S3),
        sigv4a.canonical_query(sigv4a.query_params(wire.query, sigv4a.Mode.S3)),
    )


key_chars = st.characters(blacklist_categories=("Cs", "Cc"))
params = st.fixed_dictionaries(
    {},
    optional={
        "VersionId": st.text(key_chars, min_size=1, max_size=30),
        "ResponseContentDisposition": st.text(key_chars, min_size=1, max_size=40),
        "ResponseContentType": st.text(key_chars, min_size=1, max_size=20),
        "PartNumber": st.integers(min_value=1, max_value=10000),
    },
)
QUERY_NAMES = {
    "VersionId": "versionId",
    "ResponseContentDisposition": "response-content-disposition",
    "ResponseContentType": "response-content-type",
    "PartNumber": "partNumber",
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(key_chars, min_size=1, max_size=80).filter(lambda k: k not in (".", "..")), extra=params)
def test_handler_and_botocore_sign_the_same_canonical_request(creds, s3_client, key: str, extra: dict) -> None:
    theirs = botocore_request(s3_client, Key=key, **extra)
    # botocore's own request verifies under our verifier: the two agree on S3's canonical form.
    verify_s3_request(theirs, creds, now=time.time())

    # The viewer asked CloudFront for the same object with the same parameters.
    event = make_event(theirs.path, theirs.query)
    ours = check_signed(event, lambda_function.lambda_handler(event, None), creds)
    assert canonical_uri_and_query(ours) == canonical_uri_and_query(theirs)
    assert {p.split("=")[0] for p in ours.query.split("&") if p} == {QUERY_NAMES[k] for k in extra}


def test_botocore_signs_sigv4a_for_the_mrap(s3_client) -> None:
    wire = botocore_request(s3_client, Key="a b+c")
    auth = dict((k.lower(), v) for k, v in wire.headers)["authorization"]
    assert auth.startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
    assert "/s3/aws4_request" in auth
