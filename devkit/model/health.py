"""Health checks: how devkit (and the cluster) knows a service is ready to serve."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from devkit.model.base import Model


class _Timing(Model):
    interval: float = Field(default=2.0, gt=0, description="seconds between checks")
    timeout: float = Field(default=2.0, gt=0, description="seconds before one check fails")
    retries: int = Field(default=3, ge=1, description="failures in a row that mean unhealthy")
    start_period: float = Field(default=0.0, ge=0, description="grace seconds after start")


class Http(_Timing):
    """Healthy when GET `path` on the named port answers 2xx or 3xx."""

    kind: Literal["http"] = "http"
    path: str = "/"
    port: str

    def __init__(self, path: str = "/", **fields: Any) -> None:
        super().__init__(**{"path": path, **fields})


class Tcp(_Timing):
    """Healthy when the named port accepts a TCP connection."""

    kind: Literal["tcp"] = "tcp"
    port: str

    def __init__(self, port: str, **fields: Any) -> None:
        super().__init__(**{"port": port, **fields})


class Command(_Timing):
    """Healthy when the command, run inside the container, exits 0."""

    kind: Literal["command"] = "command"
    command: tuple[str, ...] = Field(min_length=1)

    def __init__(self, *command: str, **fields: Any) -> None:
        super().__init__(**({"command": command} if command else {}), **fields)


HealthCheck = Annotated[Http | Tcp | Command, Field(discriminator="kind")]
