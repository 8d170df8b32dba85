"""Replication lag, where the user looks: a request routed to the farther bucket before the
seeded copy lands is S3's "no such key", which the edge caches for the error-caching TTL as
CloudFront would; the access line names the key on its way and the seconds left."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import settings
from local.stack import LocalStack
from tests.local.helpers import Log, request

pytestmark = pytest.mark.slow
NEAR, FAR = (b for b in sorted(settings.BUCKETS, key=lambda b: b.latency_ms))


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


@pytest.fixture(scope="module")
def lagging(log: Log, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<h1>site</h1>")
    with LocalStack(log=log, concurrency=2, with_failover=False, site=site, replication_delay=600) as stack:
        stack.mrap.set_traffic_dial(NEAR.name, 0)  # a failover drill, early: the farther bucket answers
        yield stack


def test_a_miss_on_the_farther_bucket_names_the_pending_replication(lagging: LocalStack, log: Log) -> None:
    since = len(log)
    status, _, _ = request(lagging.edge, "GET", "/index.html")
    assert status in (403, 404)  # 403 where the role may not list the bucket
    line = log.wait_for("/index.html", since)
    match = re.search(r"not-yet-replicated key='index\.html' in (\d+\.\d)s", line)
    assert match and 590 < float(match.group(1)) <= 600, line
    assert f"mrap={FAR.name}" in line
    # The error is now cached for the error-caching TTL, exactly as on AWS.
    since = len(log)
    assert request(lagging.edge, "GET", "/index.html")[0] == status
    assert "cache=hit" in log.wait_for("/index.html", since)


def test_a_key_that_is_not_on_its_way_is_a_plain_miss(lagging: LocalStack, log: Log) -> None:
    since = len(log)
    assert request(lagging.edge, "GET", "/never-uploaded.html")[0] in (403, 404)
    line = log.wait_for("/never-uploaded.html", since)
    assert f"mrap={FAR.name}" in line and "not-yet-replicated" not in line


def test_the_nearer_bucket_has_nothing_pending(lagging: LocalStack) -> None:
    assert lagging.buckets.replication_pending(NEAR.name, "index.html") is None
    assert lagging.buckets.replication_pending(FAR.name, "index.html") is not None
    assert lagging.buckets.replication_pending(FAR.name, "other.html") is None


def test_once_the_copy_lands_nothing_is_pending(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.txt").write_text("a")
    with LocalStack(log=Log(), concurrency=1, with_failover=False, site=site, replication_delay=3) as stack:
        assert stack.buckets.replication_pending(FAR.name, "a.txt") is not None
        stack.buckets._replication.join(10)
        assert stack.buckets.replication_pending(FAR.name, "a.txt") is None
