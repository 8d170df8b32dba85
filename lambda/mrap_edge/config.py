"""Settings shipped in the package: Lambda@Edge allows no environment variables.

Usage::

    config = load_config(Path("config.json"))
    config.failover_header   # "originTypeFailover"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """config.json is missing a value, has an unknown key or a wrong type."""


@dataclass(frozen=True, slots=True)
class Config:
    failover_header: str = "originTypeFailover"
    log_level: str = "WARNING"

    def __post_init__(self) -> None:
        name = self.failover_header
        if not isinstance(name, str) or not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise ConfigError(f"failover_header must be a header name, got {name!r}")
        if name.lower() in ("host", "authorization") or name.lower().startswith("x-amz-"):
            raise ConfigError(f"failover_header may not be {name!r}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {LOG_LEVELS}, got {self.log_level!r}")


def load_config(path: Path) -> Config:
    """Read and validate ``config.json``; a missing file means the defaults."""
    if not path.exists():
        return Config()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must hold a JSON object")
    unknown = sorted(set(data) - set(Config.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"{path.name} has unknown keys: {', '.join(unknown)}")
    return Config(**data)
