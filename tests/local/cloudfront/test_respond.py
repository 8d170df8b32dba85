"""The viewer response (local/cloudfront/respond.py): the X-Cache header."""

from __future__ import annotations

from local.cloudfront.respond import x_cache


def test_x_cache():
    assert x_cache(200, hit=True) == "Hit from cloudfront"
    assert x_cache(200, hit=False) == "Miss from cloudfront"
    assert x_cache(304, hit=True) == "Hit from cloudfront"
    assert x_cache(404, hit=True) == "Error from cloudfront"
    assert x_cache(502, hit=False) == "Error from cloudfront"
