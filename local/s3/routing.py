"""Which bucket the Multi-Region Access Point routes a request to: the nearest active
bucket that is up, whatever the key (routing ignores whether the object exists), and the
route updates SubmitMultiRegionAccessPointRoutes accepts.

Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRequestRouting.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Route:
    bucket: str
    region: str
    latency_ms: float
    traffic_dial: int = 100  # 100 = active, 0 = passive
    up: bool = True


class Routing:
    """The MRAP's routes (thread-safe: the control API changes them while requests are served)."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._lock = threading.Lock()

    def _route(self, bucket: str) -> Route:
        for route in self.routes:
            if route.bucket == bucket:
                return route
        raise KeyError(bucket)

    def submit(self, updates: list[tuple[str, int]]) -> None:
        """Apply route updates atomically, as SubmitMultiRegionAccessPointRoutes does:
        unknown buckets, dials other than 0/100 and a result with no active route are refused."""
        with self._lock:
            dials = {r.bucket: r.traffic_dial for r in self.routes}
            for bucket, percent in updates:
                if bucket not in dials:
                    raise KeyError(bucket)
                if percent not in (0, 100):
                    raise ValueError("the local MRAP supports active (100) or passive (0) routes")
                dials[bucket] = percent
            if not any(dials.values()):
                raise ValueError("at least one route must stay active (S3: InvalidRequest)")
            for route in self.routes:
                route.traffic_dial = dials[route.bucket]

    def mark_down(self, bucket: str, down: bool = True) -> None:
        with self._lock:
            self._route(bucket).up = not down

    def choose(self) -> Route | None:
        """Nearest active bucket that is up; MRAP routing ignores whether the key exists."""
        with self._lock:
            candidates = [r for r in self.routes if r.traffic_dial and r.up]
        return min(candidates, key=lambda r: r.latency_ms) if candidates else None


def route_json(routes: list[Route], mrap_arn: str) -> dict[str, Any]:
    """``aws s3control get-multi-region-access-point-routes`` output."""
    return {
        "Mrap": mrap_arn,
        "Routes": [{"Bucket": r.bucket, "Region": r.region, "TrafficDialPercentage": r.traffic_dial} for r in routes],
    }
