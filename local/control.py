"""The local stand-in's control API (edge port + 1), JSON in and out.

    GET  /buckets                              [{"bucket", "region", "trafficDialPercentage", "up"}, ...]
    POST /buckets/<name>/down|up               a regional outage, and back
    POST /buckets/<name>/active|passive        the MRAP route's traffic dial (100 / 0)
    GET  /routes                               as `aws s3control get-multi-region-access-point-routes`
    POST /routes                               {"RouteUpdates": [{"Bucket", "Region", "TrafficDialPercentage"}]}
                                               as `submit-multi-region-access-point-routes`
    GET  /cache                                the edge's cache entries
    POST /cache/purge                          an invalidation; optional {"Paths": ["/*"]}

Errors: 400 {"Error": {"Code": "InvalidRequest", "Message": ...}}; 404 for an unknown path.

Only the developer's own tools may call it, never a web page they visit (cross-site
requests and DNS rebinding): the Host must be this API's own loopback address
(127.0.0.1 or localhost, with its port; else 403), a browser's ``Origin`` header must be
that address too (else 403), and every POST must say ``Content-Type: application/json``
(else 415), which a page can only send after a CORS preflight this API never approves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .web import HttpServer, LoopThread

if TYPE_CHECKING:
    from .stack import LocalStack

MAX_BODY = 64 * 1024


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "InvalidRequest") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, indent=1) + "\n", content_type="application/json")


class ControlApi:
    def __init__(self, stack: LocalStack, loop: LoopThread, port: int, log: Callable[[str], None] = print) -> None:
        self.stack = stack
        self.log = log
        self._http = HttpServer(loop, self.serve, port, idle_timeout=5, header_timeout=10)
        self.address = self._http.address

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def refuse_cross_site(self, request: web.BaseRequest) -> None:
        """Raise ControlError unless the request comes from a tool on this machine."""
        port = self.address[1]
        own = {f"127.0.0.1:{port}", f"localhost:{port}"}
        host = (request.headers.get("Host") or "").lower()
        if host not in own:
            raise ControlError(f"Host {host!r} is not this control API ({', '.join(sorted(own))})", 403, "Forbidden")
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in own}:
            raise ControlError(f"cross-site request from Origin {origin!r} refused", 403, "Forbidden")
        if request.method == "POST":
            kind = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind != "application/json":
                raise ControlError("POST needs Content-Type: application/json", 415, "UnsupportedMediaType")

    async def serve(self, request: web.BaseRequest) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        try:
            self.refuse_cross_site(request)
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise ControlError("request body too large")
            raw = await asyncio.wait_for(request.read(), 10) if request.body_exists else b""
            body = json.loads(raw) if raw.strip() else {}
            result = self.dispatch(request.method, parts, body)
        except ControlError as err:
            return _json({"Error": {"Code": err.code, "Message": str(err)}}, err.status)
        except (ValueError, TypeError, AttributeError) as err:  # bad JSON or shapes
            return _json({"Error": {"Code": "InvalidRequest", "Message": f"cannot read the request: {err}"}}, 400)
        return _json(result)

    def dispatch(self, method: str, parts: list[str], body: Any) -> Any:
        mrap = self.stack.mrap
        if parts == ["buckets"] and method == "GET":
            return self.stack.buckets_state()
        if len(parts) == 3 and parts[0] == "buckets" and method == "POST":
            _, bucket, action = parts
            try:
                if action in ("down", "up"):
                    mrap.mark_down(bucket, action == "down")
                elif action in ("active", "passive"):
                    mrap.set_traffic_dial(bucket, 100 if action == "active" else 0)
                else:
                    raise ControlError(f"unknown action {action!r}: down, up, active or passive", 404, "NotFound")
            except KeyError:
                raise ControlError(f"no bucket {bucket!r} in this Multi-Region Access Point") from None
            except ValueError as err:
                raise ControlError(str(err)) from None
            self.log(f"control: {bucket} is now {action}")
            return self.stack.buckets_state()
        if parts == ["routes"] and method == "GET":
            return self.stack.routes_json()
        if parts == ["routes"] and method == "POST":
            updates = body.get("RouteUpdates") if isinstance(body, dict) else None
            if not isinstance(updates, list) or not updates:
                raise ControlError("RouteUpdates must be a non-empty list")
            pairs = []
            for update in updates:
                if not isinstance(update, dict) or "Bucket" not in update or "TrafficDialPercentage" not in update:
                    raise ControlError("each route update needs Bucket and TrafficDialPercentage")
                dial = update["TrafficDialPercentage"]
                if not isinstance(dial, int) or isinstance(dial, bool):
                    raise ControlError("TrafficDialPercentage must be 0 or 100")
                pairs.append((str(update["Bucket"]), dial))
            try:
                mrap.submit_routes(pairs)
            except KeyError as err:
                raise ControlError(f"no bucket {err.args[0]!r} in this Multi-Region Access Point") from None
            except ValueError as err:
                raise ControlError(str(err)) from None
            self.log("control: routes " + ", ".join(f"{b}={d}" for b, d in pairs))
            return {}
        if parts == ["cache"] and method == "GET":
            return self.stack.edge.cache.snapshot()
        if parts == ["cache", "purge"] and method == "POST":
            paths = body.get("Paths") if isinstance(body, dict) else None
            if paths is not None and (not isinstance(paths, list) or not all(isinstance(p, str) for p in paths)):
                raise ControlError("Paths must be a list of strings")
            purged = self.stack.edge.cache.purge(paths)
            self.log(f"control: cache purge {paths or ['/*']}: {purged} entries")
            return {"purged": purged}
        raise ControlError(f"no such control call: {method} /{'/'.join(parts)}", 404, "NotFound")

    def close(self) -> None:
        self._http.close()
