"""The Lambda@Edge pool on its own: bounded workers, a bounded wait, descriptors above 1024."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local.lambda_edge.pool import FunctionPool, PoolBusy

FUNCTION = Path(__file__).resolve().parent.parent / "fixtures" / "function"


def test_pool_wait_times_out_with_pool_busy() -> None:
    with FunctionPool(FUNCTION, size=1, wait=0.2) as pool:
        event = {"Records": [{"cf": {"request": {"uri": "/slow", "querystring": "", "headers": {}}}}]}
        with ThreadPoolExecutor(max_workers=2) as ex:
            busy = ex.submit(pool.invoke, event)
            time.sleep(0.1)
            with pytest.raises(PoolBusy):
                pool.invoke(event)
            assert busy.result(10).result["status"] == "200"
        assert pool.spawned == 1


def test_a_worker_started_under_load_can_have_a_high_descriptor() -> None:
    """Under 1,000 viewers a worker's pipe can be descriptor 1024 or above (select() fails there)."""
    import os

    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with FunctionPool(FUNCTION, size=1, timeout=5) as pool:
            event = {"Records": [{"cf": {"request": {"uri": "/echo-fd", "querystring": "", "headers": {}}}}]}
            assert pool.invoke(event).result["status"] == "200"
    finally:
        for fd in fds:
            os.close(fd)


def test_fifty_concurrent_calls_start_no_more_workers_than_the_size() -> None:
    with FunctionPool(FUNCTION, size=3, wait=60) as pool:
        event = {"Records": [{"cf": {"request": {"uri": "/echo-pool", "querystring": "", "headers": {}}}}]}
        with ThreadPoolExecutor(max_workers=50) as ex:
            outcomes = list(ex.map(lambda _: pool.invoke(event), range(50)))
        assert all(o.result["status"] == "200" for o in outcomes)
        assert pool.spawned <= 3 and pool.live <= 3
