"""Template parameters in the stand-in: checked as CloudFormation checks them, resolved into
the MRAP origin's custom headers, and passed by `make demo PARAMS=...` / `--param`."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local.__main__ import main
from local.template import check_parameters, load_template, mrap_origin_custom_headers
from local.web import free_port_pair

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_the_defaults_allow_part_number_only(template: dict) -> None:
    assert mrap_origin_custom_headers(template) == {"x-mrap-edge-allow": "partNumber"}
    assert mrap_origin_custom_headers(template, {}) == {"x-mrap-edge-allow": "partNumber"}


def test_parameters_reach_the_origin_header(template: dict) -> None:
    params = {"AllowVersionReads": "yes", "AllowedResponseOverrides": "response-content-type,response-expires"}
    assert mrap_origin_custom_headers(template, params) == {
        "x-mrap-edge-allow": "partNumber,versionId,response-content-type,response-expires"
    }


def test_valid_values_pass_unchanged(template: dict) -> None:
    params = {"AllowVersionReads": "no", "AllowedResponseOverrides": "", "CorsAllowedOrigins": "*"}
    assert check_parameters(template, params) == params
    assert check_parameters(template, {}) == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"AllowVersionsReads": "yes"}, "the template has no parameter 'AllowVersionsReads'"),
        ({"AllowVersionReads": "true"}, "AllowVersionReads='true' is not one of no, yes"),
        ({"AllowVersionReads": "YES"}, "is not one of no, yes"),
        ({"AllowedResponseOverrides": "response-foo"}, "comma-separated response-* names"),
        ({"AllowedResponseOverrides": "versionId"}, "is not allowed"),
        ({"AllowedResponseOverrides": "response-content-type "}, "is not allowed"),  # the whole value must match
    ],
)
def test_values_cloudformation_would_refuse_are_one_clear_error(template: dict, params: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        check_parameters(template, params)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_lengths_are_checked() -> None:
    template = {"Parameters": {"Key": {"Type": "String", "MinLength": 2, "MaxLength": 3}}}
    assert check_parameters(template, {"Key": "ab"}) == {"Key": "ab"}
    assert check_parameters(template, {"Key": "abc"}) == {"Key": "abc"}
    for bad in ("a", "abcd"):
        with pytest.raises(ValueError, match="MinLength/MaxLength"):
            check_parameters(template, {"Key": bad})


def test_a_pattern_without_a_constraint_description_is_named() -> None:
    template = {"Parameters": {"Key": {"Type": "String", "AllowedPattern": "^[a-z]+$"}}}
    with pytest.raises(ValueError, match=r"\^\[a-z\]\+\$"):
        check_parameters(template, {"Key": "A"})


# --- python -m local --param / make demo PARAMS= --------------------------------------------


def test_a_param_that_is_not_key_value_is_one_clear_line(capsys) -> None:
    assert main(["--port", str(free_port_pair()), "--param", "AllowVersionReads"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not KEY=VALUE" in err


def test_a_value_the_template_refuses_stops_the_demo_with_one_line(capsys) -> None:
    assert main(["--port", str(free_port_pair()), "--param", "AllowVersionReads=maybe"]) == 1
    err = capsys.readouterr().err
    assert err == "local edge: cannot start: AllowVersionReads='maybe' is not one of no, yes\n"


def test_make_demo_passes_each_param() -> None:
    proc = subprocess.run(
        ["make", "-n", "demo", "PARAMS=AllowVersionReads=yes AllowedResponseOverrides=response-content-type"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if " -m local " in line)
    assert '--param "AllowVersionReads=yes" --param "AllowedResponseOverrides=response-content-type"' in line


@pytest.mark.slow
def test_the_demo_runs_with_the_given_parameters() -> None:
    port = free_port_pair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port),
         "--param", "AllowedResponseOverrides=response-content-type"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C stops everything" in line or not line:
                break
        text = "".join(lines)
        assert "parameters      AllowedResponseOverrides=response-content-type" in text, text
        url = f"http://127.0.0.1:{port}/index.html?response-content-type=text%2Fx-test"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.headers["Content-Type"] == "text/x-test"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
