"""Named ports a service listens on, and whether they are published on the host."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from devkit.model.base import Model


def _check_port(value: int, what: str) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{what} {value} is out of range (1-65535)")
    return value


class Port(Model):
    """A container port; `host` pins the port published on 127.0.0.1 (otherwise one is assigned)."""

    container: int
    host: int | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    public: bool = Field(default=False, description="served to the outside (Ingress on clusters)")

    def __init__(self, container: int, **fields: Any) -> None:
        super().__init__(**{"container": container, **fields})

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"container": value}
        return value

    @model_validator(mode="after")
    def _in_range(self) -> Port:
        _check_port(self.container, "port")
        if self.host is not None:
            _check_port(self.host, "host port")
        return self
