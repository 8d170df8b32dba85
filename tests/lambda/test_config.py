"""config.json: the shipped one loads; a bad one fails to load with a message that says what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrap_edge.config import Config, ConfigError, load_config

SHIPPED = Path(__file__).resolve().parents[2] / "lambda" / "config.json"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads() -> None:
    config = load_config(SHIPPED)
    assert config == Config(**json.loads(SHIPPED.read_text()))
    assert (config.failover_header, config.log_level) == ("originTypeFailover", "WARNING")


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.json") == Config("originTypeFailover", "WARNING")


def test_partial_config_keeps_the_other_default(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, '{"log_level": "INFO"}')) == Config("originTypeFailover", "INFO")
    assert load_config(write(tmp_path, '{"failover_header": "x-secondary"}')).failover_header == "x-secondary"
    assert load_config(write(tmp_path, "{}")) == Config()


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
def test_every_log_level_loads(tmp_path: Path, level: str) -> None:
    assert load_config(write(tmp_path, json.dumps({"log_level": level}))).log_level == level


@pytest.mark.parametrize("name", ["originTypeFailover", "X-Failover_1", "a"])
def test_header_names_load(tmp_path: Path, name: str) -> None:
    assert load_config(write(tmp_path, json.dumps({"failover_header": name}))).failover_header == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "config.json is not valid JSON"),
        ("", "config.json is not valid JSON"),
        ("[]", "config.json must hold a JSON object"),
        ('"WARNING"', "config.json must hold a JSON object"),
        ('{"log_level": "INFO", "loglevel": "x", "extra": 1}', "config.json has unknown keys: extra, loglevel"),
        ('{"log_level": "info"}', "log_level must be one of ('DEBUG', 'INFO', 'WARNING', 'ERROR'), got 'info'"),
        ('{"log_level": "TRACE"}', "log_level must be one of"),
        ('{"log_level": 20}', "got 20"),
        ('{"log_level": null}', "got None"),
        ('{"failover_header": ""}', "failover_header must be a header name, got ''"),
        ('{"failover_header": 7}', "failover_header must be a header name, got 7"),
        ('{"failover_header": null}', "failover_header must be a header name"),
        ('{"failover_header": "has space"}', "failover_header must be a header name, got 'has space'"),
        ('{"failover_header": "colon:"}', "failover_header must be a header name"),
        ('{"failover_header": "caf\\u00e9"}', "failover_header must be a header name"),
        ('{"failover_header": "Host"}', "failover_header may not be 'Host'"),
        ('{"failover_header": "authorization"}', "failover_header may not be 'authorization'"),
        ('{"failover_header": "X-Amz-Failover"}', "failover_header may not be 'X-Amz-Failover'"),
        ('{"failover_header": "x-amz-"}', "failover_header may not be"),
    ],
)
def test_bad_config_fails_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    with pytest.raises(ConfigError):
        Config(log_level="LOUD")
