"""The cache key: what the cache policy makes two requests "the same object".

Sources: controlling-the-cache-key.html,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ParametersInCacheKeyAndForwardedToOrigin.html
("values in the cache key are also included in requests to the origin"), and
ServingCompressedFiles.html (with gzip/brotli enabled the viewer's Accept-Encoding is
normalised, put in the cache key and sent to the origin: ``normalise_accept_encoding``,
the one normaliser of that header in the stand-in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..intrinsics import TemplateError

BEHAVIORS = ("none", "whitelist", "allExcept", "all", "allViewer", "allViewerAndWhitelistCloudFront")


class CacheKey(NamedTuple):
    method: str  # "GET" (GET and HEAD share entries) or "OPTIONS"
    uri: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[tuple[str, str], ...]
    accept_encoding: str | None


@dataclass(frozen=True)
class Selector:
    """A policy's choice of names: none / whitelist / allExcept / all (/ allViewer...)."""

    behavior: str
    names: frozenset[str]  # lower-case for headers; as written for query strings and cookies

    def picks(self, name: str) -> bool:
        if self.behavior == "none":
            return False
        if self.behavior in ("all", "allViewer", "allViewerAndWhitelistCloudFront"):
            return True
        if self.behavior == "whitelist":
            return name in self.names
        if self.behavior == "allExcept":
            return name not in self.names
        raise TemplateError(f"policy behavior {self.behavior} is not modelled")


def selector(config: Mapping[str, Any] | None, kind: str, lower: bool) -> Selector:
    """A ``HeadersConfig`` / ``QueryStringsConfig`` / ``CookiesConfig`` as a ``Selector``."""
    config = config or {}
    behavior = config.get(f"{kind}Behavior", "none")
    names = config.get(f"{kind}s") or []
    if isinstance(names, Mapping):  # the API's {"Quantity": n, "Items": [...]} shape
        names = names.get("Items") or []
    if behavior not in BEHAVIORS:
        raise TemplateError(f"{kind}Behavior {behavior} is not modelled")
    return Selector(behavior, frozenset(n.lower() if lower else n for n in names))


def selectors(config: Mapping[str, Any]) -> dict[str, Selector]:
    """The query strings, headers and cookies a cache policy or an origin request policy
    names (the two share these three configs; header names compare without case)."""
    return {
        "query": selector(config.get("QueryStringsConfig"), "QueryString", lower=False),
        "headers": selector(config.get("HeadersConfig"), "Header", lower=True),
        "cookies": selector(config.get("CookiesConfig"), "Cookie", lower=False),
    }


def split_query(query: str) -> list[tuple[str, str, str]]:
    """(name, value, raw item) for each ``&``-separated item, as the viewer sent it."""
    out = []
    for item in query.split("&") if query else []:
        if item == "":
            continue
        name, _, value = item.partition("=")
        out.append((name, value, item))
    return out


def parse_cookies(header: str | None) -> list[tuple[str, str]]:
    out = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if name and sep:
            out.append((name, value))
    return out


def normalise_accept_encoding(value: str | None, gzip: bool, brotli: bool) -> str | None:
    """The Accept-Encoding CloudFront keys on and forwards (None = the viewer sent none)."""
    if value is None or not (gzip or brotli):
        return None
    codings = set()
    for part in value.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = next((p.split("=", 1)[1] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(q) <= 0:
                continue
        except ValueError:
            continue
        codings.add(coding.lower())
    accepted = [c for c, on in (("br", brotli), ("gzip", gzip)) if on and c in codings]
    return ",".join(accepted) if accepted else "identity"


@dataclass(frozen=True)
class KeyPolicy:
    """The cache policy's ``ParametersInCacheKeyAndForwardedToOrigin``."""

    query: Selector
    headers: Selector
    cookies: Selector
    gzip: bool
    brotli: bool

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> KeyPolicy:
        return cls(
            **selectors(params),
            gzip=bool(params.get("EnableAcceptEncodingGzip", False)),
            brotli=bool(params.get("EnableAcceptEncodingBrotli", False)),
        )

    def key(self, method: str, uri: str, query: str, headers: dict[str, str]) -> CacheKey:
        """Path + the query strings, headers and cookies the policy names (order and case
        of query strings as the viewer sent them: CloudFront keys on them verbatim)."""
        method = method.upper()
        query_items = tuple((n, v) for n, v, _ in split_query(query) if self.query.picks(n))
        header_items = tuple(sorted((k.lower(), v) for k, v in headers.items() if self.keys_header(k.lower())))
        cookie_items = tuple(sorted((n, v) for n, v in parse_cookies(headers.get("cookie")) if self.cookies.picks(n)))
        encoding = self.accept_encoding(headers.get("accept-encoding"))
        return CacheKey("GET" if method == "HEAD" else method, uri, query_items, header_items, cookie_items, encoding)

    def keys_header(self, name: str) -> bool:
        # Accept-Encoding is keyed by the gzip/brotli switches; cookies by CookiesConfig.
        return name not in ("accept-encoding", "cookie") and self.headers.picks(name)

    def accept_encoding(self, value: str | None) -> str | None:
        return normalise_accept_encoding(value, self.gzip, self.brotli)
