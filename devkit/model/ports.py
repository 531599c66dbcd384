"""Named ports a service listens on, whether they are published on the host, and how public ones
are routed to from outside a cluster."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from devkit.model.base import Model
from devkit.model.routes import Route


def _check_port(value: int, what: str) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{what} {value} is out of range (1-65535)")
    return value


class Port(Model):
    """A container port; `host` pins the port published on 127.0.0.1 (otherwise one is assigned).

    `public=True` serves it to the outside on clusters (an Ingress, or HTTPRoutes on a Gateway),
    at `<service>.<domain>` or any host; `routes` say how (hosts, paths, timeout, retries, TLS)
    and make the port public.
    """

    container: int
    host: int | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    public: bool = Field(default=False, description="served to the outside (Ingress on clusters)")
    routes: tuple[Route, ...] = ()

    def __init__(self, container: int, **fields: Any) -> None:
        super().__init__(**{"container": container, **fields})

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"container": value}
        if isinstance(value, dict) and value.get("routes"):
            routes = value["routes"]
            if isinstance(routes, Route | dict):
                routes = (routes,)
            if value.get("public") is False:
                raise ValueError("a port with routes is public; leave out public=False")
            return {**value, "routes": routes, "public": True}
        return value

    @model_serializer(mode="wrap")
    def _without_no_routes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Ports without routes serialise as before routes existed (plans and spec hashes keep)."""
        data: dict[str, Any] = handler(self)
        if not self.routes:
            data.pop("routes", None)
        return data

    @model_validator(mode="after")
    def _in_range(self) -> Port:
        _check_port(self.container, "port")
        if self.host is not None:
            _check_port(self.host, "host port")
        return self
