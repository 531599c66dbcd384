"""The Blueprint: what an application repo's blueprint.py builds up, one declaration at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from devkit.errors import BlueprintError
from devkit.model.backup import BackupMethod, BackupSchedule
from devkit.model.base import Name
from devkit.model.build import Build
from devkit.model.canary import Canary
from devkit.model.egress import Egress
from devkit.model.environment import Environment
from devkit.model.health import Command, Http, Tcp
from devkit.model.job import Job
from devkit.model.mesh import CircuitBreaker, ConnectionPool
from devkit.model.metrics import Metrics, ScrapeTargets
from devkit.model.policy import Policy
from devkit.model.ports import Port
from devkit.model.profile import Profile
from devkit.model.refs import Ref, Secret
from devkit.model.resources import Autoscale, Resources
from devkit.model.service import Service
from devkit.model.sync import Sync
from devkit.model.targets import Docker, Kind, Kubernetes, Swarm
from devkit.model.tenant import Tenant
from devkit.model.validation import error_lines
from devkit.model.verify import Verify
from devkit.source import SourceLocation, caller_location

T = TypeVar("T")
_NAME: TypeAdapter[str] = TypeAdapter(Name)


def _validated(what: str, location: SourceLocation | None, make: Callable[[], T]) -> T:
    """Run a model constructor; a validation error becomes a BlueprintError at the user's line."""
    try:
        return make()
    except ValidationError as exc:
        lines = error_lines(exc)
        raise BlueprintError(f"{what}: {lines[0]}", location=location, details=lines[1:]) from None


def declare_service(fields: Mapping[str, Any], location: SourceLocation | None = None) -> Service:
    """Validate a service declaration; errors point at the user's line that made it."""
    location = location or caller_location()
    fields = {**fields, "source": location}
    name = fields.get("name", "?")
    return _validated(f'service "{name}"', location, lambda: Service.model_validate(fields))


class Blueprint:
    """A project: its services, the environments it runs in, and named groups of services.

    >>> app = Blueprint("shop")
    >>> api = app.service("api", image="nginx:1.27", ports={"http": 80})
    """

    def __init__(self, name: str) -> None:
        self.source = caller_location()
        self.name: str = _validated(
            f'blueprint "{name}"', self.source, lambda: _NAME.validate_python(name)
        )
        self.file: Path | None = None
        """The file that declared it (set by the loader); its paths are relative to it."""
        self._services: dict[str, Service] = {}
        self._environments: dict[str, Environment] = {}
        self._groups: dict[str, tuple[str, ...]] = {}
        self._group_sources: dict[str, SourceLocation | None] = {}

    @property
    def root(self) -> Path | None:
        """The directory paths in the blueprint are relative to."""
        return None if self.file is None else self.file.parent

    @property
    def services(self) -> Mapping[str, Service]:
        return MappingProxyType(self._services)

    @property
    def environments(self) -> Mapping[str, Environment]:
        return MappingProxyType(self._environments)

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]:
        return MappingProxyType(self._groups)

    def group_source(self, name: str) -> SourceLocation | None:
        return self._group_sources.get(name)

    def service(
        self,
        name: str,
        *,
        image: str | None = None,
        build: Build | None = None,
        command: Sequence[str] | None = None,
        entrypoint: Sequence[str] | None = None,
        ports: Mapping[str, int | Port] | None = None,
        env: Mapping[str, str | int | float | bool | Ref | Secret | ScrapeTargets] | None = None,
        depends_on: Sequence[Service | str] = (),
        health: Http | Tcp | Command | None = None,
        sync: Sequence[Sync] = (),
        resources: Resources | None = None,
        replicas: int | None = None,
        autoscale: Autoscale | None = None,
        volumes: Mapping[str, str | Any] | None = None,
        stateful: bool = False,
        url_template: str | None = None,
        read_only_root_filesystem: bool = True,
        run_as_user: int | None = None,
        scratch: Sequence[str] = (),
        capabilities: Sequence[str] = (),
        service_account_token: bool = False,
        circuit_breaker: CircuitBreaker | None = None,
        connection_pool: ConnectionPool | None = None,
        egress: Sequence[Egress | str] = (),
        metrics: Metrics | None = None,
        backup: BackupMethod | None = None,
    ) -> Service:
        """Declare a service and return it, so others can depend on it and refer to it."""
        location = caller_location()
        fields: dict[str, Any] = {
            "name": name, "image": image, "build": build, "command": command,
            "ports": ports or {}, "env": env or {}, "depends_on": depends_on, "health": health,
            "sync": sync, "resources": resources, "replicas": replicas, "autoscale": autoscale,
            "volumes": volumes or {}, "stateful": stateful, "url_template": url_template,
            "read_only_root_filesystem": read_only_root_filesystem, "run_as_user": run_as_user,
            "scratch": scratch, "capabilities": capabilities,
            "service_account_token": service_account_token, "egress": egress,
            "circuit_breaker": circuit_breaker, "connection_pool": connection_pool,
            "entrypoint": entrypoint, "metrics": metrics,
            "backup": backup,
        }  # fmt: skip
        return self._add(declare_service(fields, location))

    def use(self, service: Service, *, name: str | None = None) -> Service:
        """Add a ready-made service (e.g. a stock blueprint), optionally under another name."""
        location = caller_location()
        if not isinstance(service, Service):
            raise BlueprintError(
                f"use() takes a service (e.g. postgres()), not {type(service).__name__}",
                location=location,
            )
        update: dict[str, Any] = {"source": location}
        if name is not None:
            update["name"] = _validated(
                f'service "{name}"', location, lambda: _NAME.validate_python(name)
            )
        return self._add(service.model_copy(update=update))

    def _add(self, service: Service) -> Service:
        first = self._services.get(service.name)
        if first is not None:
            raise BlueprintError(
                f'service "{service.name}" is already defined',
                location=service.source,
                details=[f"first defined at {first.source}"] if first.source else [],
            )
        self._services[service.name] = service
        return service

    def environment(
        self,
        name: str,
        target: Docker | Swarm | Kind | Kubernetes,
        *,
        profile: Profile | None = None,
        replicas: int | None = None,
        overrides: Mapping[Service | str, Mapping[str, Any]] | None = None,
        verify: Verify | None = None,
        jobs: Sequence[Job] = (),
        rollout_timeout: float = 300.0,
        policy: Policy | None = None,
        canary: Canary | None = None,
        tenants: Sequence[Tenant] = (),
        backups: BackupSchedule | None = None,
    ) -> Environment:
        """Declare an environment: where it runs, its capacity profile, its per-service changes."""
        location = caller_location()
        if name in self._environments:
            first = self._environments[name].source
            raise BlueprintError(
                f'environment "{name}" is already defined',
                location=location,
                details=[f"first defined at {first}"] if first else [],
            )
        by_name = {
            (key.name if isinstance(key, Service) else key): dict(value)
            for key, value in (overrides or {}).items()
        }
        env = _validated(
            f'environment "{name}"',
            location,
            lambda: Environment(
                name=name, target=target, profile=profile, replicas=replicas,
                overrides=by_name, verify=verify, jobs=tuple(jobs), rollout_timeout=rollout_timeout,
                policy=policy, canary=canary, tenants=tuple(tenants), backups=backups,
                source=location,
            ),
        )  # fmt: skip
        # Overrides of services already declared are checked now, so errors point here.
        for service_name, fields in by_name.items():
            if service_name in self._services:
                base = self._services[service_name]
                _validated(
                    f'environment "{name}": overrides.{service_name}',
                    location,
                    lambda base=base, fields=fields: base.with_overrides(fields),  # type: ignore[misc]
                )
        self._environments[name] = env
        return env

    def group(self, name: str, services: Sequence[Service | str]) -> None:
        """Name a set of services, so `devkit up NAME` brings up those (and what they need)."""
        location = caller_location()
        group = _validated(f'group "{name}"', location, lambda: _NAME.validate_python(name))
        self._groups[group] = tuple(s.name if isinstance(s, Service) else s for s in services)
        self._group_sources[group] = location
