"""A service: one container image, its ports, environment, dependencies, health and sizing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from devkit.errors import BlueprintError
from devkit.model.base import EnvName, Model, Name
from devkit.model.build import Build
from devkit.model.egress import Egress
from devkit.model.health import HealthCheck, Http, Tcp
from devkit.model.mesh import CircuitBreaker, ConnectionPool
from devkit.model.metrics import Metrics
from devkit.model.ports import Port
from devkit.model.reference import check_reference
from devkit.model.refs import (
    EnvValue,
    Ref,
    check_url_template,
    needs_secret,
    split_template,
)
from devkit.model.resources import Autoscale, Resources
from devkit.model.sync import Sync
from devkit.model.volume import Volume
from devkit.source import SourceLocation, caller_location

_CAPABILITY = re.compile(r"^[A-Z][A-Z0-9_]*$")

OVERRIDABLE = frozenset(
    {
        "image", "build", "command", "ports", "env", "depends_on", "health", "sync",
        "resources", "replicas", "autoscale", "volumes", "read_only_root_filesystem",
        "run_as_user", "scratch", "capabilities", "service_account_token", "circuit_breaker",
        "connection_pool", "egress", "entrypoint", "metrics",
    }
)  # fmt: skip
"""Fields an environment may override per service; identity (name, url) stays fixed."""


class Service(Model):
    """One service of a blueprint. Build it with `Blueprint.service()` or a stock blueprint."""

    name: Name
    image: str | None = None
    build: Build | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = Field(
        default=None,
        description="replaces the image's entrypoint (command then gives its arguments)",
    )
    ports: dict[str, Port] = Field(default_factory=dict)
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    depends_on: tuple[Name, ...] = ()
    health: HealthCheck | None = None
    sync: tuple[Sync, ...] = ()
    resources: Resources | None = None
    replicas: int | None = Field(default=None, ge=0)
    autoscale: Autoscale | None = None
    volumes: dict[Name, Volume] = Field(default_factory=dict)
    stateful: bool = False
    url_template: str | None = None
    read_only_root_filesystem: bool = Field(
        default=True, description="False opts out of the read-only root filesystem"
    )
    run_as_user: int | None = Field(
        default=None, ge=1, description="uid to run as, for images whose USER is root"
    )
    scratch: tuple[str, ...] = Field(
        default=(), description="paths written at run time but not kept (emptyDir / tmpfs)"
    )
    capabilities: tuple[str, ...] = Field(
        default=(),
        description="Linux capabilities kept (e.g. NET_BIND_SERVICE); all others are dropped",
    )
    service_account_token: bool = Field(
        default=False, description="mount the Kubernetes API token (only for API clients)"
    )
    egress: tuple[Egress, ...] = Field(
        default=(),
        description="destinations outside the environment it connects to (egress NetworkPolicy)",
    )
    circuit_breaker: CircuitBreaker | None = Field(
        default=None, description="callers' proxies eject failing replicas (a mesh's)"
    )
    connection_pool: ConnectionPool | None = Field(
        default=None, description="callers' proxies limit connections and requests (a mesh's)"
    )
    metrics: Metrics | None = Field(
        default=None, description="Prometheus metrics the service serves on one of its ports"
    )
    source: SourceLocation | None = Field(default=None, exclude=True, repr=False)

    def __hash__(self) -> int:
        return hash(("service", self.name))

    @field_validator("depends_on", mode="before")
    @classmethod
    def _service_names(cls, value: Any) -> Any:
        if isinstance(value, Service | str):
            value = [value]
        return [item.name if isinstance(item, Service) else item for item in value]

    @field_validator("egress", mode="before")
    @classmethod
    def _egress_list(cls, value: Any) -> Any:
        items = [value] if isinstance(value, Egress | str | dict) else value
        return [{"cidr": item} if isinstance(item, str) else item for item in items]

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        return None if value is None else check_reference(value)

    @field_validator("scratch")
    @classmethod
    def _absolute_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f'scratch path "{path}" must be an absolute path in the container')
        return tuple(sorted(set(value)))

    @field_validator("capabilities")
    @classmethod
    def _capability_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = set()
        for given in value:
            name = given.upper().removeprefix("CAP_")
            if not _CAPABILITY.match(name) or name == "ALL":
                raise ValueError(
                    f'capability "{given}" is not a Linux capability name; name each one kept, '
                    'e.g. "NET_BIND_SERVICE" (all others are dropped)'
                )
            names.add(name)
        return tuple(sorted(names))

    @field_validator("url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_url_template(value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.image is None) == (self.build is None):
            raise ValueError("give exactly one of image= or build=")
        if self.replicas is not None and self.autoscale is not None:
            raise ValueError("give either replicas= or autoscale=, not both")
        if isinstance(self.health, Http | Tcp):
            self._check_port_name(self.health.port, "its health check")
        if self.metrics is not None:
            self._check_port_name(self.metrics.port, "metrics")
            if self.ports[self.metrics.port].protocol != "tcp":
                raise ValueError(f'metrics: port "{self.metrics.port}" is udp; metrics are HTTP')
        for name, value in self.env.items():
            if (
                needs_secret(name)
                and isinstance(value, str | int | float)
                and not isinstance(value, bool)
            ):
                raise ValueError(
                    f"env.{name}: a plain-text value where a secret is required; "
                    f'use Secret("{name}") and set {name} in the environment or a git-ignored .env'
                )
        if self.url_template is not None:
            self._check_template(self.url_template)
        for volume_name, volume in self.volumes.items():
            unknown = [name for name in volume.init_env if name not in self.env]
            if unknown:
                raise ValueError(
                    f"volumes.{volume_name}.init_env names {', '.join(unknown)}, which env does "
                    f"not set; env: {', '.join(sorted(self.env)) or '(none)'}"
                )
        kept = {volume.path for volume in self.volumes.values()}
        for path in self.scratch:
            if path in kept:
                raise ValueError(f'scratch path "{path}" is also a volume; keep one of them')
        return self

    def _check_port_name(self, port: str, user: str) -> None:
        if port not in self.ports:
            declared = ", ".join(sorted(self.ports)) or "(none)"
            raise ValueError(
                f'{user} uses port "{port}", which the service does not declare; '
                f"declared ports: {declared}"
            )

    def _check_template(self, template: str) -> None:
        for _, field in split_template(template):
            if field == "port" and len(self.ports) != 1:
                raise ValueError(
                    "url template uses {port} but the service has several ports; "
                    "name one as {port.NAME}"
                )
            if field and field.startswith("port."):
                self._check_port_name(field.removeprefix("port."), "its url template")
            if field and field.startswith("env.") and field[4:] not in self.env:
                raise ValueError(f"url template uses {{{field}}}, which is not in env")

    # References other services use: resolved per environment by the planner.
    @property
    def url(self) -> Ref:
        """The service's connection URL (from its url template)."""
        if self.url_template is None:
            raise BlueprintError(
                f'service "{self.name}" has no url; give it url_template= or refer to '
                f"{self.name}.host and {self.name}.port()",
                location=caller_location(),
            )
        return Ref(service=self.name, attr="url")

    @property
    def host(self) -> Ref:
        """The host name other services reach this one by."""
        return Ref(service=self.name, attr="host")

    def port(self, name: str | None = None) -> Ref:
        """The number of the named port (or of the only port) as other services reach it."""
        if name is None:
            if len(self.ports) != 1:
                raise BlueprintError(
                    f'service "{self.name}" has {len(self.ports)} ports; name one: '
                    f"{self.name}.port(NAME) with NAME one of {', '.join(sorted(self.ports))}",
                    location=caller_location(),
                )
            name = next(iter(self.ports))
        if name not in self.ports:
            raise BlueprintError(
                f'reference to port "{name}" of service "{self.name}", which has no such port',
                location=caller_location(),
                details=[f"ports of {self.name}: {', '.join(sorted(self.ports)) or '(none)'}"],
            )
        return Ref(service=self.name, attr="port", port=name)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Service:
        """This service with an environment's field overrides applied (and validated again)."""
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        return Service.model_validate({**fields, **overrides, "name": self.name})


def check_override_fields(overrides: Mapping[str, Any]) -> None:
    """Refuse override keys that are not overridable service fields."""
    for key in overrides:
        if key not in OVERRIDABLE:
            raise ValueError(
                f'"{key}" cannot be overridden; overridable: {", ".join(sorted(OVERRIDABLE))}'
            )


def _checked_overrides(value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for fields in value.values():
        check_override_fields(fields)
    return value


Overrides = Annotated[dict[Name, dict[str, Any]], AfterValidator(_checked_overrides)]
"""Per-service field changes (an environment's, a tenant's): service name -> {field: value}."""
