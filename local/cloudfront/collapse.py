"""Request collapsing: CloudFront sends one request for an object many viewers ask for at
once; the others wait for it and share the answer from the cache.

https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html#request-custom-traffic-spikes
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class Collapser:
    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[None]] = {}

    def busy(self, key: Hashable) -> bool:
        """Whether a request for this key is on its way to the origin."""
        return key in self._inflight

    async def wait(self, key: Hashable) -> None:
        """Wait for the request in flight for this key (if any) to finish."""
        leader = self._inflight.get(key)
        if leader is not None:
            await asyncio.shield(leader)

    @asynccontextmanager
    async def lead(self, key: Hashable) -> AsyncIterator[None]:
        """This request goes to the origin for the key; others wait until it is done."""
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            yield
        finally:
            del self._inflight[key]
            future.set_result(None)
