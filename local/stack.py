"""The whole local path in one object: buckets, MRAP endpoint, function, edge.

Usage::

    with LocalStack(zip_path=Path("lambda/deployment-package.zip")) as stack:
        urllib.request.urlopen(stack.edge.url + "/index.html").read()  # b"hello from s3 bucket one\\n"
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import settings
from .buckets import Buckets
from .edge import Behavior, Edge, Origin
from .function import FunctionPool, role_environment
from .mrap import MrapEndpoint
from .s3auth import Credential
from .template import edge_settings, load_template

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZIP = ROOT / "lambda" / "deployment-package.zip"


class LocalStack:
    def __init__(
        self,
        zip_path: Path = DEFAULT_ZIP,
        port: int = 0,
        with_failover: bool = True,
        function_env: dict[str, str] | None = None,
        concurrency: int = 4,
        origin_path: str = "",
        function_folder: Path | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self._closers: list[Callable[[], None]] = []
        try:
            self.buckets = Buckets()
            self._closers.append(self.buckets.close)
            self.buckets.seed_demo()
            credentials = {
                settings.ACCESS_KEY_ID: Credential(
                    settings.ACCESS_KEY_ID, settings.SECRET_ACCESS_KEY, settings.SESSION_TOKEN
                )
            }
            self.mrap = MrapEndpoint(self.buckets, credentials, log=log)
            self._closers.append(self.mrap.close)
            env = function_env or role_environment()
            if function_folder is not None:
                self.function = FunctionPool(function_folder, size=concurrency, env=env, log=log)
            else:
                self.function = FunctionPool.from_zip(zip_path, size=concurrency, env=env, log=log)
            self._closers.append(self.function.close)
            moto_host, moto_port = self.buckets.endpoint
            resolver = {
                settings.MRAP_DOMAIN: (self.mrap.address[0], self.mrap.address[1], ""),
                # The failover origin is a plain bucket: path-style on moto.
                settings.FAILOVER_DOMAIN: (moto_host, moto_port, f"/{settings.FAILOVER_BUCKET}"),
            }
            # The distribution's own origin and behavior settings, from the template.
            cfg = edge_settings(load_template())
            timeouts = {"read_timeout": cfg.read_timeout, "keepalive_timeout": cfg.keepalive_timeout,
                        "ssl_protocols": cfg.ssl_protocols}  # fmt: skip
            failover = Origin(settings.FAILOVER_DOMAIN, custom_headers={cfg.failover_header: "true"}, **timeouts)
            behavior = Behavior(
                allowed_methods=cfg.allowed_methods,
                failover=failover if with_failover else None,
                failover_codes=cfg.failover_codes,
                default_root_object=cfg.default_root_object,
            )
            primary = Origin(settings.MRAP_DOMAIN, path=origin_path, **timeouts)
            self.edge = Edge(self.function, primary, resolver, behavior, port, log)
            self._closers.append(self.edge.close)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception as exc:  # keep closing the rest
                print(f"local stack: error while closing: {exc}")

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
