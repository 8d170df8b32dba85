"""The behavior's origin-request function association: build the event, run the function
(a bounded pool of warm workers), validate its result as CloudFront does.

The outcome is either a request to send to the origin (``result``) or CloudFront's
answer without the origin: a generated response, 503 when the function is throttled or
fails, 502 when its result fails validation.

Sources: lambda-generating-http-responses-in-requests.html, lambda-edge-testing-debugging.html
(503 LambdaExecutionError / LambdaLimitExceeded, 502 LambdaValidationError).
"""

from __future__ import annotations

import asyncio
import base64
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..lambda_edge.pool import FunctionError, FunctionPool, PoolBusy
from .answer import Answer, plain
from .event import ValidationError, validate_result


@dataclass
class Triggered:
    answer: Answer | None = None  # CloudFront answers without the origin
    result: dict[str, Any] | None = None  # the request to send to the origin
    decision: str = ""  # signed / passed-through (the function changed the request or not)


class OriginRequestTrigger:
    def __init__(self, function: FunctionPool, threads: int) -> None:
        self.function = function
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="edge-invoke")

    async def run(self, event: dict[str, Any], timings: dict[str, float], label: str) -> Triggered:
        original = event["Records"][0]["cf"]["request"]
        snapshot = {"method": original["method"], "clientIp": original["clientIp"],
                    "headers": {k: [dict(e) for e in v] for k, v in original["headers"].items()}}  # fmt: skip
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.function.wait
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(self._executor, self.function.invoke, event, deadline)
        except PoolBusy as exc:
            return Triggered(plain(503, f"503 ERROR: Lambda function throttled: {exc}\n".encode(), "throttled"))
        except (FunctionError, TimeoutError) as exc:
            return Triggered(plain(503, f"LambdaExecutionError: {exc}\n".encode(), "error"))
        timings[label] = (time.perf_counter() - t0) * 1000
        if outcome.error is not None:
            return Triggered(plain(503, f"LambdaExecutionError: {outcome.error}\n".encode(), "error"))
        try:
            validate_result(snapshot, outcome.result)
        except ValidationError as exc:
            body = f"502 ERROR: The Lambda function result failed validation: {exc}\n".encode()
            return Triggered(plain(502, body, "invalid-result"))
        result = outcome.result
        if "status" in result:
            return Triggered(generated(result))
        signed = "authorization" in result.get("headers", {}) and result != original
        return Triggered(result=result, decision="signed" if signed else "passed-through")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def generated(result: dict[str, Any]) -> Answer:
    """A response the function generated (CloudFront sends it without calling the origin)."""
    body = result.get("body", "")
    data = base64.b64decode(body) if result.get("bodyEncoding") == "base64" else body.encode()
    headers = [(e.get("key", name), e["value"]) for name, entries in result.get("headers", {}).items()
               for e in entries]  # fmt: skip
    return Answer(int(result["status"]), headers, data, "generated", generated=True)
