"""The whole local path in one object: buckets, MRAP endpoint, function, edge, control API.

Usage::

    with LocalStack(zip_path=Path("lambda/deployment-package.zip")) as stack:
        urllib.request.urlopen(stack.edge.url + "/index.html").read()  # b"hello from s3 bucket one\\n"
    LocalStack(parameters={"AllowVersionReads": "yes"})  # the template's parameters, as at deploy time

Everything the distribution, the role and the MRAP policy say comes from the template
(``template_path``, ``cloudformation.template`` by default): a template copy with a
permission removed gives a stack that refuses what AWS would refuse. ``parameters`` are
the stack's parameter values (checked as CloudFormation checks them; the rest keep their
defaults): the cache policy, the response headers policy, the role and the MRAP origin's
custom headers (which reach the function in its event) are resolved with them.

``signing="oac"`` (the same as ``parameters={"SigningMode": "oac"}``) models SigningMode oac:
no function runs, the edge signs for the MRAP origin itself (``local.cloudfront.oac``), and
the MRAP authorises CloudFront's service principal with the MRAP policy and the buckets'
policies (``buckets_template_path``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import settings
from .cloudfront import oac
from .cloudfront.distribution import DistributionModel
from .cloudfront.server import Behavior, Edge, Origin
from .cloudfront.store import Cache
from .control import ControlApi
from .iam import AccessModel
from .iam.buckets import BUCKETS_TEMPLATE, bucket_policies
from .lambda_edge.pool import FunctionPool, role_environment
from .names import DEFAULT_NAMES, LocalNames
from .s3.buckets import Buckets
from .s3.mrap import MrapEndpoint
from .s3.routing import route_json
from .s3.verifier import Credential
from .template import TEMPLATE, check_parameters, edge_settings, load_template, mrap_origin_custom_headers
from .web import LoopThread

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZIP = ROOT / "lambda" / "deployment-package.zip"


def distribution_and_cache(
    template: dict[str, Any], names: LocalNames | None = None
) -> tuple[DistributionModel, Cache]:
    """The template's distribution (local.cloudfront.distribution) and an empty cache for it."""
    model = DistributionModel.from_template(template, names or DEFAULT_NAMES)
    return model, Cache(model)


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
        *,
        template_path: Path = TEMPLATE,
        signing: str | None = None,
        buckets_template_path: Path = BUCKETS_TEMPLATE,
        control_port: int | None = None,
        site: Path | None = None,
        replication_delay: float = 0.0,
        idle_timeout: float = 5.0,
        header_timeout: float = 10.0,
        function_wait: float = 10.0,
        max_cached_body: int = 8 * 2**20,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self._closers: list[Callable[[], None]] = []
        try:
            self.template = load_template(template_path)
            # Checked before anything starts, as CloudFormation checks them before it creates anything.
            given = dict(parameters or {}) | ({"SigningMode": signing} if signing is not None else {})
            self.parameters = check_parameters(self.template, given)
            signing = self.parameters.get("SigningMode", "lambda-edge")
            names = LocalNames(parameters=tuple(self.parameters.items()))
            self.loop = LoopThread()
            self._closers.append(self.loop.close)
            self.buckets = Buckets()
            self._closers.append(self.buckets.close)
            if site is not None:
                self.seeded = self.buckets.seed_site(site, replication_delay)
            else:
                self.buckets.seed_demo()
                self.seeded = []
            mrap_auth: dict[str, Any] = {}
            self.access = AccessModel.from_template(self.template, names)
            if signing == "oac":  # CloudFront signs, as its service principal, for this distribution
                self.access.bucket_policies.update(bucket_policies(load_template(buckets_template_path), names))
                credentials = {oac.CREDENTIAL.access_key_id: oac.CREDENTIAL}
                mrap_auth = {"principals": {oac.CREDENTIAL.access_key_id: oac.PRINCIPAL},
                             "source_arns": {oac.CREDENTIAL.access_key_id: names.distribution_arn}}  # fmt: skip
            else:
                credentials = {
                    settings.ACCESS_KEY_ID: Credential(
                        settings.ACCESS_KEY_ID, settings.SECRET_ACCESS_KEY, settings.SESSION_TOKEN
                    )
                }
            self.mrap = MrapEndpoint(self.buckets, credentials, log=log, access=self.access, loop=self.loop,
                                     **mrap_auth)  # fmt: skip
            self._closers.append(self.mrap.close)
            env = function_env or role_environment()
            # The distribution's own origin and behavior settings, and the function's
            # Timeout, from the template.
            cfg = edge_settings(self.template, self.parameters)
            pool = {"size": concurrency, "env": env, "log": log, "wait": function_wait, "timeout": cfg.function_timeout}
            if signing == "oac":
                self.function = oac.OacSigner(settings.MRAP_DOMAIN, wait=function_wait)
            elif function_folder is not None:
                self.function = FunctionPool(function_folder, **pool)
            else:
                self.function = FunctionPool.from_zip(zip_path, **pool)
            self._closers.append(self.function.close)
            moto_host, moto_port = self.buckets.endpoint
            resolver = {
                settings.MRAP_DOMAIN: (self.mrap.address[0], self.mrap.address[1], ""),
                # The failover origin is a plain bucket: path-style on moto.
                settings.FAILOVER_DOMAIN: (moto_host, moto_port, f"/{settings.FAILOVER_BUCKET}"),
            }
            timeouts = {"read_timeout": cfg.read_timeout, "keepalive_timeout": cfg.keepalive_timeout,
                        "ssl_protocols": cfg.ssl_protocols}  # fmt: skip
            failover = Origin(settings.FAILOVER_DOMAIN, custom_headers={cfg.failover_header: "true"}, **timeouts)
            behavior = Behavior(
                allowed_methods=cfg.allowed_methods,
                failover=failover if with_failover else None,
                failover_codes=cfg.failover_codes,
                default_root_object=cfg.default_root_object,
            )
            # The MRAP origin's custom headers (the function's allowlist) for these parameters.
            mrap_headers = mrap_origin_custom_headers(self.template, self.parameters)
            primary = Origin(settings.MRAP_DOMAIN, path=origin_path, custom_headers=mrap_headers, **timeouts)
            distribution, cache = distribution_and_cache(self.template, names)
            self.edge = Edge(
                self.function, primary, resolver, behavior, port, log,
                loop=self.loop, distribution=distribution, cache=cache, mrap_outcome=self.mrap.outcome,
                idle_timeout=idle_timeout, header_timeout=header_timeout, max_cached_body=max_cached_body,
            )  # fmt: skip
            self._closers.append(self.edge.close)
            self.control: ControlApi | None = None
            if control_port is not None:
                self.control = ControlApi(self, self.loop, control_port, log)
                self._closers.append(self.control.close)
        except BaseException:
            self.close()
            raise

    def buckets_state(self) -> list[dict[str, Any]]:
        return [{"bucket": r.bucket, "region": r.region, "trafficDialPercentage": r.traffic_dial, "up": r.up}
                for r in self.mrap.routes]  # fmt: skip

    def routes_json(self) -> dict[str, Any]:
        return route_json(self.mrap.routes, self.access.names.mrap_arn)

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
