"""Read cloudformation.template, so the local edge uses the distribution's own settings.

Usage::

    template = load_template(Path("cloudformation.template"))
    settings = edge_settings(template)
    settings.allowed_methods, settings.read_timeout   # ("GET", "HEAD", "OPTIONS"), 30
    params = check_parameters(template, {"AllowVersionReads": "yes"})  # ValueError if CloudFormation would refuse
    mrap_origin_custom_headers(template, params)      # {"x-mrap-edge-allow": "partNumber,versionId"}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .intrinsics import Resolver

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cloudformation.template"
_SHORT_FORMS = ("Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not", "And", "Or",
                "Select", "Split", "Sub", "Transform")  # fmt: skip


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms turned into their long forms."""


def _construct(tag: str, long_name: str):
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if tag == "!GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {long_name: value}

    return construct


for _name in _SHORT_FORMS:
    CfnLoader.add_constructor(f"!{_name}", _construct(f"!{_name}", f"Fn::{_name}"))
CfnLoader.add_constructor("!GetAtt", _construct("!GetAtt", "Fn::GetAtt"))
CfnLoader.add_constructor("!Ref", _construct("!Ref", "Ref"))
CfnLoader.add_constructor("!Condition", _construct("!Condition", "Condition"))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)  # noqa: S506 (SafeLoader subclass)


@dataclass(frozen=True)
class EdgeSettings:
    allowed_methods: frozenset[str]
    read_timeout: int
    keepalive_timeout: int
    ssl_protocols: tuple[str, ...]
    failover_codes: frozenset[int]
    failover_header: str
    default_root_object: str
    function_timeout: float | None = None  # the function's Timeout (seconds), when the template fixes it


def _mrap_origin(template: dict[str, Any]) -> dict[str, Any]:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return next(o for o in config["Origins"] if isinstance(o, dict) and o.get("Id") == "mrap")


def check_parameters(template: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, str]:
    """Parameter values checked as CloudFormation checks them before it creates anything:
    a declared name, one of ``AllowedValues``, the whole value matching ``AllowedPattern``,
    ``MinLength``/``MaxLength``. A ValueError (one line) for the first that fails.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    """
    declared = template.get("Parameters") or {}
    for name, value in parameters.items():
        spec = declared.get(name)
        if not isinstance(spec, dict):
            raise ValueError(f"the template has no parameter {name!r} (it has {', '.join(sorted(declared))})")
        allowed = [str(v) for v in spec.get("AllowedValues") or []]
        if allowed and value not in allowed:
            raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise ValueError(f"{name}={value!r} is not allowed: {spec.get('ConstraintDescription', pattern)}")
        if not int(spec.get("MinLength", 0)) <= len(value) <= int(spec.get("MaxLength", len(value))):
            raise ValueError(f"{name}={value!r} has {len(value)} characters, outside its MinLength/MaxLength")
    return dict(parameters)


def mrap_origin_custom_headers(template: dict[str, Any], parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """The MRAP origin's ``OriginCustomHeaders`` (name -> value) for these parameter values:
    CloudFront puts them in the event's ``origin.custom.customHeaders``."""
    headers = Resolver(template, params=parameters).resolve(_mrap_origin(template).get("OriginCustomHeaders") or [])
    return {str(h["HeaderName"]): str(h["HeaderValue"]) for h in headers}


def edge_settings(template: dict[str, Any], params: dict[str, str] | None = None) -> EdgeSettings:
    """The MRAP origin, the default behavior and the origin group, without the 4xx option;
    ``params``: template parameters that differ from their defaults (SigningMode)."""
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    mrap = _mrap_origin(template)
    custom = mrap["CustomOriginConfig"]
    groups = config["OriginGroups"]["Fn::If"][1]
    codes = groups["Items"][0]["FailoverCriteria"]["StatusCodes"]["Fn::If"][2]["Items"]
    return EdgeSettings(
        allowed_methods=frozenset(Resolver(template, params).resolve(config["DefaultCacheBehavior"]["AllowedMethods"])),
        read_timeout=custom["OriginReadTimeout"],
        keepalive_timeout=custom["OriginKeepaliveTimeout"],
        ssl_protocols=tuple(custom["OriginSSLProtocols"]),
        failover_codes=frozenset(codes),
        failover_header=template["Parameters"]["FailoverHeaderName"]["Default"],
        default_root_object=config.get("DefaultRootObject", ""),
        function_timeout=_function_timeout(template),
    )


def _function_timeout(template: dict[str, Any]) -> float | None:
    """``Timeout`` of the Lambda function: a number, or a parameter's default."""
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        value = resource.get("Properties", {}).get("Timeout", 3)  # Lambda's default
        if isinstance(value, dict) and "Ref" in value:
            value = template.get("Parameters", {}).get(value["Ref"], {}).get("Default")
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None
