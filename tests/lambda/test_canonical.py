from __future__ import annotations

import pytest

from mrap_edge.canonical import PathError, canonical_path, canonical_query, forwarded_headers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/index.html", "/index.html"),
        ("/a b", "/a%20b"),
        ("/a+b", "/a%20b"),  # S3 reads a raw + as a space
        ("/a%2Bb", "/a%2Bb"),
        ("/a%2bb", "/a%2Bb"),
        ("/a%20b", "/a%20b"),
        ("/caf%C3%A9/%E2%82%AC", "/caf%C3%A9/%E2%82%AC"),
        ("/café", "/caf%C3%A9"),
        ("/%25", "/%25"),
        ("/a%2Fb", "/a/b"),  # the same key to S3
        ("//double//", "//double//"),
        ("/./dot/../seg", "/./dot/../seg"),  # S3 does no dot-segment normalisation
        ("/dir/", "/dir/"),
        ("/-._~AZaz09", "/-._~AZaz09"),
        ("/!'()*@:,;=$&", "/%21%27%28%29%2A%40%3A%2C%3B%3D%24%26"),
        ("/%21%27%28%29%2A%40%3A%2C%3B%3D%24%26", "/%21%27%28%29%2A%40%3A%2C%3B%3D%24%26"),
    ],
)
def test_canonical_path_is_the_strict_encoding_of_the_s3_key(raw: str, expected: str) -> None:
    assert canonical_path(raw) == expected


def test_canonical_path_is_idempotent() -> None:
    once = canonical_path("/a+b/%2B/é/ x")
    assert canonical_path(once) == once


@pytest.mark.parametrize("raw", ["/100%", "/%zz", "/%4", "/%C3%28", "/%FF", "/\ud800", "/%41\udfff"])
def test_undecodable_paths_are_refused(raw: str) -> None:
    with pytest.raises(PathError):
        canonical_path(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"),
        ("b=2&a=1", "a=1&b=2"),
        ("torrent", "torrent="),
        ("a=&b", "a=&b="),
        ("x=2&x=1&x=10", "x=1&x=10&x=2"),
        (
            "response-content-disposition=attachment%3B%20filename%3D%22r%C3%A9sum%C3%A9.pdf%22",
            "response-content-disposition=attachment%3B%20filename%3D%22r%C3%A9sum%C3%A9.pdf%22",
        ),
        ("q=a+b", "q=a%20b"),
        ("q=a%2Bb", "q=a%2Bb"),
        ("a=1&&b=2", "a=1&b=2"),
        ("k=v=w", "k=v%3Dw"),
        ("partNumber=2", "partNumber=2"),
        ("X-Amz-Signature=abc&x-amz-credential=AKIA%2F&X-Amz-Date=1&k=v", "k=v"),
        ("X%2DAmz%2DSecurity%2DToken=t&k=v", "k=v"),
    ],
)
def test_canonical_query(raw: str, expected: str) -> None:
    assert canonical_query(raw) == expected


def test_bad_query_escape_is_refused() -> None:
    with pytest.raises(PathError):
        canonical_query("a=%G1")


def test_forwarded_headers_drop_viewer_auth_and_set_host() -> None:
    headers = {
        "range": [{"key": "Range", "value": "bytes=0-9"}],
        "if-none-match": [{"key": "If-None-Match", "value": '"abc"'}],
        "authorization": [{"key": "Authorization", "value": "AWS4-HMAC-SHA256 forged"}],
        "x-amz-date": [{"key": "X-Amz-Date", "value": "20000101T000000Z"}],
        "x-amz-security-token": [{"key": "X-Amz-Security-Token", "value": "forged"}],
        "host": [{"key": "Host", "value": "viewer.example.com"}],
    }
    out = forwarded_headers(headers, "origin.example")
    assert set(out) == {"range", "if-none-match", "host"}
    assert out["host"] == [{"key": "Host", "value": "origin.example"}]
    assert out["if-none-match"] is headers["if-none-match"]
    assert "x-amz-date" in headers  # the input is not mutated
