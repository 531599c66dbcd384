"""Settings read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """The environment does not describe a usable configuration."""


def _require(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ConfigError(f"{name} must start with one of: {', '.join(schemes)}://")
    return value


def _number(env: Mapping[str, str], name: str, default: str) -> float:
    raw = env.get(name, default).strip()
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    host: str = "0.0.0.0"
    port: int = 8000
    # How long to keep retrying postgres at start-up before giving up.
    startup_timeout: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw_port = env.get("PORT", "8000").strip() or "8000"
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise ConfigError(f"PORT must be an integer in 1..65535, got {raw_port!r}")
        return cls(
            database_url=_require(env, "DATABASE_URL", ("postgresql", "postgres")),
            redis_url=_require(env, "REDIS_URL", ("redis", "rediss", "unix")),
            host=env.get("HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=int(raw_port),
            startup_timeout=_number(env, "STARTUP_TIMEOUT", "60"),
        )
