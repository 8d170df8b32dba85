"""What viewers may ask S3 for: the template's AllowedResponseOverrides and AllowVersionReads.

One source (the two parameters) builds the cache policy's query-string whitelist, the
MRAP origin's ``x-mrap-edge-allow`` header that the function reads, and the response
headers policy's handling of ``x-amz-version-id``.
"""

from __future__ import annotations

import itertools
import re

import pytest

from local.intrinsics import Resolver
from local.template import TEMPLATE, check_parameters, load_template, mrap_origin_custom_headers
from mrap_edge.allowlist import (
    ALLOW_HEADER,
    ANONYMOUS_SAFE,
    GUARDED,
    RESPONSE_OVERRIDES,
    allowed_parameters,
)
from mrap_edge.allowlist import (
    check_parameters as function_accepts,
)
from mrap_edge.decide import SUBRESOURCES

GET_OBJECT_PARAMETERS = sorted(GUARDED | set(ANONYMOUS_SAFE))


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


def every_choice() -> list[dict[str, str]]:
    """Each AllowVersionReads value with each subset of the overrides (2 x 64 stacks)."""
    choices = []
    for versions in ("no", "yes"):
        for n in range(len(RESPONSE_OVERRIDES) + 1):
            for subset in itertools.combinations(RESPONSE_OVERRIDES, n):
                choices.append({"AllowVersionReads": versions, "AllowedResponseOverrides": ",".join(subset)})
    return choices


def forwarded_query_strings(template: dict, params: dict[str, str]) -> list[str]:
    policy = template["Resources"]["CachePolicy"]["Properties"]["CachePolicyConfig"]
    config = Resolver(template, params=params).resolve(policy["ParametersInCacheKeyAndForwardedToOrigin"])
    assert config["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
    return config["QueryStringsConfig"]["QueryStrings"]


def response_policy(template: dict, params: dict[str, str]) -> dict:
    policy = template["Resources"]["ResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return Resolver(template, params=params).resolve(policy)


def event_headers(headers: dict[str, str]) -> dict:
    """Origin custom headers as CloudFront puts them in the function's event."""
    return {name.lower(): [{"key": name, "value": value}] for name, value in headers.items()}


def test_the_template_and_the_function_cannot_disagree(template: dict) -> None:
    # For every choice of the parameters: a GetObject parameter reaches the function
    # (the cache policy forwards it) exactly when the function signs it (the header it
    # gets from the same parameters allows it).
    for params in every_choice():
        check_parameters(template, params)  # CloudFormation accepts these values
        forwarded = forwarded_query_strings(template, params)
        assert len(forwarded) == len(set(forwarded)) and "" not in forwarded, params
        assert len(forwarded) <= 10, params  # CloudFront's limit on a whitelist
        custom = mrap_origin_custom_headers(template, params)
        allowed = allowed_parameters(event_headers(custom))
        for name in GET_OBJECT_PARAMETERS:
            signs = function_accepts(f"{name}=x", allowed) is None
            assert (name in forwarded) == signs, (params, name)
        assert set(forwarded) <= set(GET_OBJECT_PARAMETERS), params  # nothing else reaches the function


def test_the_header_is_the_one_the_function_reads(template: dict) -> None:
    headers = mrap_origin_custom_headers(template)
    assert {name.lower() for name in headers} == {ALLOW_HEADER}
    # CloudFront refuses X-Amz-* origin custom headers; the function's name is not one.
    assert not ALLOW_HEADER.startswith("x-amz-")


def test_defaults_forward_part_number_only(template: dict) -> None:
    assert template["Parameters"]["AllowVersionReads"]["Default"] == "no"
    assert template["Parameters"]["AllowedResponseOverrides"]["Default"] == ""
    assert forwarded_query_strings(template, {}) == ["partNumber"]
    assert allowed_parameters(event_headers(mrap_origin_custom_headers(template))) == frozenset()


def test_opting_in_forwards_each_choice(template: dict) -> None:
    params = {"AllowVersionReads": "yes", "AllowedResponseOverrides": ",".join(RESPONSE_OVERRIDES)}
    assert sorted(forwarded_query_strings(template, params)) == GET_OBJECT_PARAMETERS
    only = {"AllowedResponseOverrides": "response-content-disposition"}
    assert forwarded_query_strings(template, only) == ["partNumber", "response-content-disposition"]
    assert forwarded_query_strings(template, {"AllowVersionReads": "yes"}) == ["partNumber", "versionId"]


def test_no_choice_forwards_a_sub_resource(template: dict) -> None:
    for params in every_choice():
        assert not {n.lower() for n in forwarded_query_strings(template, params)} & SUBRESOURCES


def test_the_overrides_parameter_takes_only_known_response_names(template: dict) -> None:
    pattern = re.compile(template["Parameters"]["AllowedResponseOverrides"]["AllowedPattern"])
    for name in RESPONSE_OVERRIDES:
        assert pattern.fullmatch(name), name
    assert pattern.fullmatch("") and pattern.fullmatch(",".join(RESPONSE_OVERRIDES))
    for bad in ("versionId", "partNumber", "response-foo", "acl", "response-content-type,", ",response-expires",
                "response-content-type, response-expires", "Response-Content-Type", "*"):  # fmt: skip
        assert not pattern.fullmatch(bad), bad
    assert template["Parameters"]["AllowVersionReads"]["AllowedValues"] == ["no", "yes"]


def test_each_opt_in_states_its_risk(template: dict) -> None:
    for name in ("AllowedResponseOverrides", "AllowVersionReads"):
        assert "Risk:" in template["Parameters"][name]["Description"], name
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [p for g in groups for p in g["Parameters"]]
    assert "AllowedResponseOverrides" in grouped and "AllowVersionReads" in grouped


CORS = {"CorsAllowedOrigins": "https://app.example.com"}


def test_without_version_reads_viewers_never_see_a_version_id(template: dict) -> None:
    policy = response_policy(template, CORS)
    assert {"Header": "x-amz-version-id"} in policy["RemoveHeadersConfig"]["Items"]
    exposed = policy["CorsConfig"]["AccessControlExposeHeaders"]["Items"]
    assert "x-amz-version-id" not in [h.lower() for h in exposed] and "ETag" in exposed


def test_with_version_reads_the_version_id_is_shown_and_exposed(template: dict) -> None:
    policy = response_policy(template, {**CORS, "AllowVersionReads": "yes"})
    assert "RemoveHeadersConfig" not in policy
    assert "x-amz-version-id" in policy["CorsConfig"]["AccessControlExposeHeaders"]["Items"]
