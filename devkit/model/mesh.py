"""A service mesh a cluster runs (Istio), and what a service asks of its callers' proxies:
circuit breaking (outlier detection) and a connection pool.

Declarations only: `devkit/render/mesh.py` turns them into Istio objects on a target declared
with `mesh="istio"`; elsewhere nothing of this is rendered (`devkit plan` says so).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from devkit.model.base import Model, Name

Seconds = float


class Istio(Model):
    """Istio runs in the cluster: the environment's namespace gets sidecars injected
    (`istio-injection: enabled`, or `istio.io/rev: <revision>` for a revisioned control plane)
    and mutual TLS STRICT (a PeerAuthentication), and each service with routes or traffic
    settings a VirtualService and a DestinationRule.

    Give it as `mesh="istio"` or `mesh=Istio(revision="1-31")`.
    """

    kind: Literal["istio"] = "istio"
    revision: Name | None = Field(
        default=None, description="the control plane revision (istio.io/rev) that injects sidecars"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value != "istio":
                raise ValueError(f'"{value}" is not a mesh devkit renders for: give "istio"')
            return {"kind": "istio"}
        return value


class CircuitBreaker(Model):
    """Callers stop sending to a replica that keeps failing (Istio outlier detection).

    A replica that answers `errors` 5xx (or connection failures) in a row is ejected from the
    load-balancing pool for `ejection` seconds (longer each time it is ejected again), checked
    every `interval` seconds; at most `max_ejected_percent` of the replicas are ejected at once.
    """

    errors: int = Field(default=5, ge=1, le=1000, description="consecutive 5xx errors that eject")
    interval: Seconds = Field(default=10, gt=0, le=3600, description="seconds between checks")
    ejection: Seconds = Field(default=30, gt=0, le=86400, description="seconds of first ejection")
    max_ejected_percent: int | None = Field(
        default=None, ge=0, le=100, description="share of replicas ejected at most (Istio: 10)"
    )


class ConnectionPool(Model):
    """Limits each caller's proxy keeps towards the service (Istio connection pool): requests
    over them fail fast (503) instead of queueing, which is the other half of circuit breaking.
    """

    max_connections: int | None = Field(default=None, ge=1, description="TCP connections")
    connect_timeout: Seconds | None = Field(default=None, gt=0, le=3600)
    max_pending_requests: int | None = Field(
        default=None, ge=1, description="HTTP/1.1 requests waiting for a connection"
    )
    max_requests: int | None = Field(default=None, ge=1, description="concurrent HTTP/2 requests")
    max_requests_per_connection: int | None = Field(default=None, ge=1)
    max_retries: int | None = Field(default=None, ge=0, description="concurrent retries")
    idle_timeout: Seconds | None = Field(
        default=None, gt=0, le=86400, description="seconds before an idle connection is closed"
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError(
                "give at least one limit, e.g. ConnectionPool(max_connections=100, "
                "max_pending_requests=50)"
            )
        return self
