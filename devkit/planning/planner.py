"""`plan(blueprint, env) -> Plan`: everything one environment runs, decided, pure and deterministic.

Environment overrides and the capacity profile are applied, references between services are
resolved, and the graph is checked (unknown dependencies, cycles, host port clashes). A Plan is
JSON-serialisable; its hash is stable across machines and runs, so a release can record it.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from devkit.errors import BlueprintError, UnknownEnvironmentError, UnknownTenantError, UserError
from devkit.model.backup import BackupMethod, BackupSchedule, PgDump, RedisSnapshot, VolumeCopy
from devkit.model.base import Model
from devkit.model.blueprint import Blueprint
from devkit.model.build import Build
from devkit.model.canary import Canary, Query
from devkit.model.egress import Egress
from devkit.model.environment import Environment
from devkit.model.health import HealthCheck
from devkit.model.job import Job
from devkit.model.mesh import CircuitBreaker, ConnectionPool
from devkit.model.metrics import Metrics, ScrapeTargets
from devkit.model.policy import Policy
from devkit.model.ports import Port
from devkit.model.profile import Profile
from devkit.model.refs import Ref, Secret, fill_template
from devkit.model.resources import Autoscale, Resources
from devkit.model.service import Service
from devkit.model.sync import Sync
from devkit.model.targets import Target
from devkit.model.tenant import Tenant, Tier
from devkit.model.validation import error_lines
from devkit.model.verify import Verify
from devkit.model.volume import Volume
from devkit.planning import advice
from devkit.planning.graph import CycleError, topological_order, with_dependencies
from devkit.planning.placement import Placement, placement
from devkit.source import SourceLocation

MASK = "****"
_MAX_REF_DEPTH = 4
_ADD_HINT = "declare it with app.service(...), or add a stock one with app.use(...)"


class SecretPart(Model):
    """The place of a secret's value inside an environment variable."""

    secret: str


class EnvValue(Model):
    """A variable composed at run time from literal text and secrets (never their values)."""

    parts: tuple[str | SecretPart, ...]

    @property
    def secrets(self) -> list[str]:
        return [p.secret for p in self.parts if isinstance(p, SecretPart)]

    def masked(self) -> str:
        """The value as shown to people: every secret replaced by ****."""
        return "".join(p if isinstance(p, str) else MASK for p in self.parts)


PlannedEnv = str | EnvValue


def show_env(value: PlannedEnv) -> str:
    """An environment value as it may be printed: literal, or masked where it holds a secret."""
    return value if isinstance(value, str) else value.masked()


class Security(Model):
    """Container hardening; `writable_paths` is all that is relaxed (volumes, live-synced paths)."""

    read_only_root_filesystem: bool = True
    writable_paths: tuple[str, ...] = ()
    writable_for_sync: tuple[str, ...] = Field(
        default=(), description="paths made writable only because live sync writes there"
    )
    scratch_paths: tuple[str, ...] = Field(
        default=(), description="writable but not kept: emptyDir on clusters, tmpfs on Docker"
    )
    run_as_user: int | None = None
    capabilities: tuple[str, ...] = Field(
        default=(), description="capabilities kept; all others are dropped"
    )
    service_account_token: bool = False


class PlannedService(Model):
    """One service as this environment runs it: overrides applied, references resolved."""

    name: str
    image: str | None
    build: Build | None
    command: tuple[str, ...] | None
    ports: dict[str, Port]
    env: dict[str, PlannedEnv]
    secrets: tuple[str, ...]
    depends_on: tuple[str, ...]
    health: HealthCheck | None
    sync: tuple[Sync, ...]
    resources: Resources | None
    replicas: int
    autoscale: Autoscale | None
    volumes: dict[str, Volume]
    stateful: bool
    security: Security
    egress: tuple[Egress, ...] = Field(
        default=(), description="destinations outside the environment its pods may reach"
    )
    placement: Placement | None = Field(
        default=None, description="capacity and node placement from the profile"
    )
    circuit_breaker: CircuitBreaker | None = None
    connection_pool: ConnectionPool | None = None
    entrypoint: tuple[str, ...] | None = Field(
        default=None, description="replaces the image's entrypoint"
    )
    metrics: Metrics | None = Field(default=None, description="the Prometheus metrics it serves")
    backup: BackupMethod | None = Field(
        default=None, description="how its data is backed up (not part of spec_hash)"
    )
    spec_hash: str = Field(description="content hash of everything else")
    source: SourceLocation | None = Field(default=None, exclude=True, repr=False)
    """Where the blueprint declared the service (not part of any hash)."""

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Fields added later are left out while unset (mesh settings, entrypoint, metrics), so
        plans and spec hashes made before they existed stay the same."""
        data = handler(self)
        if isinstance(data, dict):
            for name in ("circuit_breaker", "connection_pool", "entrypoint", "metrics"):
                if data.get(name, 0) is None:
                    del data[name]
        return data


class Plan(Model):
    """Everything an environment runs. Same blueprint and environment, same Plan, same hash."""

    project: str
    environment: str
    target: Target
    namespace: str | None
    profile: Profile | None
    services: tuple[PlannedService, ...] = Field(description="dependencies first")
    groups: dict[str, tuple[str, ...]]
    verify: Verify | None = Field(default=None, description="what proves a deployed release works")
    jobs: tuple[Job, ...] = Field(default=(), description="run before a release rolls out")
    rollout_timeout: float = 300.0
    canary: Canary | None = Field(
        default=None, description="how a release of one service is rolled out progressively"
    )
    warnings: tuple[str, ...] = Field(
        default=(), description="allowed, but likely not what was meant (printed on stderr)"
    )
    tenant: str | None = Field(default=None, description="the tenant it runs for, if any")
    backups: BackupSchedule | None = Field(
        default=None, description="scheduled backups (a CronJob), with the services they take"
    )
    tier: Tier | None = Field(default=None, description="the tenant's quota")
    hash: str
    tenants: tuple[str, ...] = Field(default=(), exclude=True)
    """The environment's tenants, in order: each runs as a plan of its own (`plan(..., tenant)`)."""
    policy: Policy | None = Field(default=None, exclude=True)
    """The environment's policy: what its releases are checked against, not what runs (so not
    part of the hash)."""
    source: SourceLocation | None = Field(default=None, exclude=True, repr=False)
    """Where the blueprint declared the environment."""

    @model_serializer(mode="wrap")
    def _without_tenant(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Plans without a tenant serialise as before tenants existed (their hashes keep)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("tenant", 0) is None:
            data.pop("tenant")
            data.pop("tier", None)
        if isinstance(data, dict) and data.get("backups", 0) is None:
            data.pop("backups")
        return data

    def __eq__(self, other: object) -> bool:
        """Plans are equal when they run the same: where they were declared, and the policy
        they are checked against, are not compared (the JSON form leaves them out)."""
        if not isinstance(other, Plan):
            return NotImplemented
        return self.model_dump(mode="json") == other.model_dump(mode="json")

    def __hash__(self) -> int:
        return hash(self.hash)

    def service(self, name: str) -> PlannedService:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    @property
    def secret_names(self) -> set[str]:
        """Every secret the environment's pods read: its services', its scheduled backups'."""
        names = {name for service in self.services for name in service.secrets}
        return names | set(self.backups.secrets if self.backups else ())

    def to_json(self) -> str:
        """The canonical JSON form: sorted keys, so two runs print the same bytes."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def content_hash(data: Any) -> str:
    """sha256 of the canonical JSON of plain data."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def plan(blueprint: Blueprint, env: str, tenant: str | None = None) -> Plan:
    """Decide what environment `env` of `blueprint` runs (for one of its tenants, if given).
    Raises BlueprintError for bad input."""
    environment = blueprint.environments.get(env)
    if environment is None:
        raise UnknownEnvironmentError(env, list(blueprint.environments))
    services = _apply_overrides(dict(blueprint.services), environment.overrides, environment)
    chosen = _tenant(environment, tenant)
    if chosen is not None:
        services = _apply_overrides(services, chosen.overrides, environment, chosen)
        if chosen.replicas is not None:
            environment = environment.model_copy(update={"replicas": chosen.replicas})
    _check_graph(services)
    _check_groups(blueprint, services)
    _check_host_ports(services)
    _check_verify(environment, services)
    _check_canary(environment, services)
    backups, left_out = scheduled_backups(environment, services)
    order = topological_order({s.name: s.depends_on for s in services.values()})
    work = _Work()
    planned = tuple(_plan_service(services[name], services, environment, work) for name in order)
    body: dict[str, Any] = {
        "project": blueprint.name,
        "environment": environment.name,
        "target": environment.target,
        "namespace": _namespace(blueprint, environment, chosen),
        "profile": environment.profile,
        "services": planned,
        "groups": dict(sorted(blueprint.groups.items())),
        "verify": environment.verify,
        "jobs": environment.jobs,
        "rollout_timeout": environment.rollout_timeout,
        "canary": environment.canary,
        "warnings": tuple(_warnings(planned, services, environment) + left_out),
        **({"backups": backups} if backups else {}),
        **({"tenant": chosen.name, "tier": chosen.tier} if chosen else {}),
    }
    # The plan's JSON form with the services' forms already made (the same document
    # `Plan.model_dump(mode="json")` gives, without serialising every service twice). How a
    # release is rolled out (the canary) is not what runs: it is left out of the hash.
    unhashed = Plan.model_construct(**{**body, "services": ()}, hash="").model_dump(
        mode="json", exclude={"hash", "canary"}
    )
    unhashed["services"] = work.dumped
    return Plan(
        **body,
        hash=content_hash(unhashed),
        policy=environment.policy,
        tenants=tuple(t.name for t in environment.tenants),
        source=environment.source,
    )


def _tenant(env: Environment, name: str | None) -> Tenant | None:
    if name is None:
        return None
    if env.target.kind not in ("kind", "kubernetes"):
        raise BlueprintError(
            f'environment "{env.name}" has no tenants: tenants need a cluster target '
            "(a namespace each), and it runs on " + env.target.kind,
            location=env.source,
        )
    for tenant in env.tenants:
        if tenant.name == name:
            return tenant
    raise UnknownTenantError(env.name, name, [t.name for t in env.tenants])


def _apply_overrides(
    services: dict[str, Service],
    overrides: Mapping[str, Mapping[str, Any]],
    env: Environment,
    tenant: Tenant | None = None,
) -> dict[str, Service]:
    """`services` with an environment's (or one of its tenants') overrides applied."""
    who = f'environment "{env.name}"' + (f', tenant "{tenant.name}"' if tenant else "")
    services = dict(services)
    for name, fields in overrides.items():
        if name not in services:
            raise BlueprintError(
                f'{who}: overrides service "{name}", which is not defined',
                location=env.source,
                details=[f"defined services: {', '.join(sorted(services))}"],
            )
        try:
            services[name] = services[name].with_overrides(fields)
        except ValidationError as exc:
            lines = error_lines(exc, prefix=name)
            raise BlueprintError(
                f"{who}: {lines[0]}", location=env.source, details=lines[1:]
            ) from None
    return services


def _check_verify(env: Environment, services: Mapping[str, Service]) -> None:
    """The verify step and the pre-deploy jobs run in services the environment has."""
    steps = [("verify", env.verify.service if env.verify else None)]
    steps += [(f'job "{job.name}"', job.service) for job in env.jobs]
    for what, wanted in steps:
        if wanted is not None and wanted not in services:
            raise BlueprintError(
                f'environment "{env.name}": {what} runs in service "{wanted}", which is not '
                "defined",
                location=env.source,
                details=[f"defined services: {', '.join(sorted(services))}"],
            )


SCHEDULED_METHODS = (PgDump, RedisSnapshot)
"""What a scheduled backup can take: methods that read a running service over the network."""


def scheduled_backups(
    env: Environment, services: Mapping[str, Service]
) -> tuple[BackupSchedule | None, list[str]]:
    """The environment's backup schedule with the services it takes (those named, or every one
    with a method that reads it over the network), and a warning per service with data it
    leaves out. BlueprintError (at the environment's line) when it cannot work."""
    schedule = env.backups
    if schedule is None:
        return None, []
    where = f'environment "{env.name}": backups'

    def refuse(message: str, *details: str) -> BlueprintError:
        return BlueprintError(f"{where}: {message}", location=env.source, details=details)

    def method(service: Service) -> str | None:
        if service.backup is not None:
            return service.backup.kind
        return VolumeCopy().kind if service.volumes else None

    unsupported = [
        why for found, why in (
            (env.tenants, "with tenants (their backups would share one prefix of the store)"),
            (getattr(env.target, "clusters", ()), "on several clusters (their backups would "
             "share one prefix of the store)"),
            (getattr(env.target, "mesh", None), "with a service mesh (the backup pod's sidecar "
             "would keep its Job running)"),
        ) if found
    ]  # fmt: skip
    if unsupported:
        raise refuse(
            f"not supported yet {unsupported[0]}",
            "take backups with `devkit backup` from a scheduler of your own",
        )
    schedulable = [
        name for name, s in sorted(services.items()) if isinstance(s.backup, SCHEDULED_METHODS)
    ]
    kinds = "pg_dump (PgDump) and redis_rdb (RedisSnapshot)"
    unknown = [n for n in schedule.services if n not in services]
    if unknown:
        raise refuse(
            f"service {', '.join(repr(n) for n in unknown)} is not defined",
            f"services a schedule can back up: {', '.join(schedulable) or '(none)'}",
        )
    for name in schedule.services:
        if name not in schedulable:
            how = method(services[name])
            raise refuse(
                f'service "{name}" '
                + (f"is backed up by {how}, which" if how else "keeps no data, and")
                + " a schedule cannot run: it reads services while they run, over the network, "
                f"with {kinds}",
                f"services a schedule can back up: {', '.join(schedulable) or '(none)'}",
                *(["volume copies stop the service: run `devkit backup` for them"]
                  if how == "volume_copy" else []),
            )  # fmt: skip
    if not schedulable:
        raise refuse(
            "no service has a method a schedule can run",
            f"a schedule takes services backed up by {kinds}, over the network while they run; "
            "declare backup=PgDump() or RedisSnapshot() on one",
        )
    chosen = schedule.services or tuple(schedulable)
    warnings = [
        f'backups: service "{name}" ({method(s)}) is left out of the schedule: only {kinds} '
        "run on a schedule; back it up with `devkit backup`"
        for name, s in sorted(services.items())
        if name not in chosen and not schedule.services and method(s) is not None
    ]
    host = urllib.parse.urlsplit(schedule.endpoint).hostname or ""
    if "." not in host and host not in services:
        raise refuse(
            f'endpoint {schedule.endpoint}: "{host}" is not a service of the environment',
            f"services: {', '.join(sorted(services))}",
            "give a service's name, or the store's full host name outside the environment",
        )
    restricted = bool(getattr(env.target, "restrict_egress", True))
    if host not in services and restricted and not schedule.egress:
        raise refuse(
            f"endpoint {schedule.endpoint} is outside the environment, and its pods reach only "
            "what their NetworkPolicies admit",
            'admit the store: egress=[Egress("203.0.113.0/24", 443)] (the addresses the host '
            "name resolves to)",
        )
    return schedule.model_copy(update={"services": chosen}), warnings


def _check_canary(env: Environment, services: Mapping[str, Service]) -> None:
    """A canary releases a stateless service with a route on a cluster's Gateway (the weights
    and the built-in checks live there); its hooks and queries name services it has."""
    canary = env.canary
    if canary is None:
        return
    where = f'environment "{env.name}": canary'

    def refuse(message: str, *details: str) -> BlueprintError:
        return BlueprintError(f"{where}: {message}", location=env.source, details=details)

    if env.target.kind not in ("kind", "kubernetes"):
        raise refuse(
            f"runs on a route's weights, and {env.target.kind} has no routes",
            "canaries run on Kind and Kubernetes targets with a Gateway",
        )
    service = services.get(canary.service)
    if service is None:
        raise refuse(
            f'service "{canary.service}" is not defined',
            f"defined services: {', '.join(sorted(services))}",
        )
    if service.stateful or service.volumes:
        raise refuse(
            f'service "{service.name}" keeps state; two versions of it cannot run side by side',
            "canary a stateless service",
        )
    gateway = getattr(env.target, "gateway", None)
    public = [name for name, port in service.ports.items() if port.public]
    if gateway is None or not public:
        what = "has no public port" if not public else "is served by an Ingress, not a Gateway"
        raise refuse(
            f'service "{service.name}" {what}: the canary\'s share of the traffic is set on '
            "its HTTPRoute, and the built-in checks read the gateway's metrics",
            'give it Port(..., public=True) or routes=, and the target gateway="NS/NAME"',
        )
    ports = [service.ports[name] for name in public]
    if not any(not p.routes or any(r.backend is None for r in p.routes) for p in ports):
        raise refuse(f'every route of "{service.name}" goes to another backend')
    for check in canary.checks:
        if isinstance(check, Query) and check.service is not None:
            _check_metrics_of(check, services, refuse)
    for hook in canary.hooks:
        if hook.service is not None and hook.service not in services:
            raise refuse(
                f'a hook runs in service "{hook.service}", which is not defined',
                f"defined services: {', '.join(sorted(services))}",
            )


def _check_metrics_of(
    check: Query, services: Mapping[str, Service], refuse: Callable[..., BlueprintError]
) -> None:
    """A query that reads a service's own metrics needs that service to declare them."""
    named = services.get(check.service or "")
    if named is None:
        raise refuse(
            f'check "{check.name}" reads the metrics of service "{check.service}", which is '
            "not defined",
            f"defined services: {', '.join(sorted(services))}",
        )
    if getattr(named, "metrics", None) is None:
        raise refuse(
            f'check "{check.name}" reads the metrics of service "{named.name}", which declares '
            "none, so Prometheus has nothing of it to answer",
            f"declare them on {named.name} (metrics=Metrics(port=...)), or use the built-in "
            "SuccessRate and Latency checks, which read the gateway's",
        )


def _check_graph(services: Mapping[str, Service]) -> None:
    for service in services.values():
        for dep in service.depends_on:
            if dep not in services:
                raise BlueprintError(
                    f'service "{service.name}" depends on "{dep}", which is not defined',
                    location=service.source,
                    details=[f"defined services: {', '.join(sorted(services))}", _ADD_HINT],
                )
    try:
        topological_order({s.name: s.depends_on for s in services.values()})
    except CycleError as exc:
        first = services[exc.cycle[0]]
        raise BlueprintError(
            f"dependency cycle: {' -> '.join(exc.cycle)}",
            location=first.source,
            details=[f"{name} is defined at {services[name].source}" for name in exc.cycle[:-1]],
        ) from None


def _check_groups(blueprint: Blueprint, services: Mapping[str, Service]) -> None:
    for group, members in blueprint.groups.items():
        for member in members:
            if member not in services:
                raise BlueprintError(
                    f'group "{group}" names service "{member}", which is not defined',
                    location=blueprint.group_source(group),
                    details=[f"defined services: {', '.join(sorted(services))}"],
                )


def _check_host_ports(services: Mapping[str, Service]) -> None:
    owners: dict[tuple[int, str], str] = {}
    for service in sorted(services.values(), key=lambda s: s.name):
        for port in service.ports.values():
            if port.host is None:
                continue
            key = (port.host, port.protocol)
            other = owners.setdefault(key, service.name)
            if other != service.name:
                raise BlueprintError(
                    f'services "{other}" and "{service.name}" both publish host port '
                    f"{port.host}/{port.protocol}",
                    location=service.source,
                    details=[f"{other} is defined at {services[other].source}"],
                )


def _namespace(blueprint: Blueprint, env: Environment, tenant: Tenant | None) -> str | None:
    if env.target.kind not in ("kind", "kubernetes"):
        return None
    namespace = env.target.namespace or f"{blueprint.name}-{env.name}"
    if tenant is not None:
        namespace = f"{namespace}-{tenant.name}"
    if len(namespace) > 63:
        raise BlueprintError(
            f'environment "{env.name}": namespace "{namespace}" is longer than 63 characters; '
            "set a shorter one with namespace=",
            location=env.source,
        )
    return namespace


def _replicas(service: Service, env: Environment) -> tuple[int, Autoscale | None]:
    """The service's own count, else the environment's (stateless only), else 1; autoscaled: min.

    A profile raises stateless services to its floor, except a count the service (or an
    override) sets explicitly: that is honoured, and the advice module warns about it.
    """
    floor = env.profile.min_replicas if env.profile and not service.stateful else 1
    autoscale = service.autoscale
    if autoscale is not None:
        if autoscale.min < floor:
            autoscale = autoscale.model_copy(
                update={"min": floor, "max": max(autoscale.max, floor)}
            )
        return autoscale.min, autoscale
    if service.replicas is not None:
        return service.replicas, None
    replicas = env.replicas if env.replicas is not None and not service.stateful else 1
    return (floor if 0 < replicas < floor else replicas), None


def _right_sized(resources: Resources | None, env: Environment) -> Resources | None:
    """With a right-sizing profile: requests from the declared values (or the profile's
    defaults) and a memory limit that is never unbounded (the request, unless one is declared)."""
    profile = env.profile
    if profile is None or not profile.right_size:
        return resources
    declared = resources or Resources()
    defaults = profile.default_requests
    cpu = declared.cpu or declared.cpu_limit or defaults.cpu
    memory = declared.memory or declared.memory_limit or defaults.memory
    return Resources(
        cpu=cpu,
        memory=memory,
        cpu_limit=declared.cpu_limit,
        memory_limit=declared.memory_limit or memory,
    )


def _warnings(
    planned: tuple[PlannedService, ...], services: Mapping[str, Service], env: Environment
) -> list[str]:
    found: list[str] = []
    for service in planned:
        declared = services[service.name]
        on_spot = service.placement is not None and service.placement.capacity == "spot"
        found += advice.collect(
            advice.single_replica_on_spot(declared, env) if on_spot else None,
            advice.references_without_dependency(declared, services, env),
            advice.autoscale_without_cpu_request(
                service.name,
                env,
                service.autoscale is not None,
                service.resources.cpu if service.resources else None,
            ),
            advice.mesh_settings_without_mesh(
                service.name,
                env,
                service.circuit_breaker is not None,
                service.connection_pool is not None,
            ),
            advice.metrics_without_scraper(declared, env),
        )
    return found


@dataclass
class _Work:
    """What one plan() works out once and uses for every service: the same answer each time,
    so a large blueprint plans in time proportional to its services, not their references."""

    urls: dict[tuple[str, int], PlannedEnv] = field(default_factory=dict)
    """url references filled in, by target service and depth"""
    placements: dict[bool, Placement] = field(default_factory=dict)
    """the profile's placement of stateful (True) and stateless services"""
    resources: dict[Resources | None, Resources | None] = field(default_factory=dict)
    """declared resources -> right-sized"""
    dumped: list[dict[str, Any]] = field(default_factory=list)
    """each planned service's JSON form, for the plan's hash"""


def _plan_service(
    service: Service, services: Mapping[str, Service], env: Environment, work: _Work
) -> PlannedService:
    """The planned service; its JSON form (with its hash) appended to `work.dumped`."""
    resolved = {
        name: _resolve(value, service, name, services, urls=work.urls)
        for name, value in service.env.items()
    }
    local = env.target.local
    sync = service.sync if local else ()
    synced = tuple(sorted({rule.dest for rule in sync}))
    replicas, autoscale = _replicas(service, env)
    fields: dict[str, Any] = {
        "name": service.name,
        "image": service.image,
        "build": service.build,
        "command": service.command,
        "ports": dict(sorted(service.ports.items())),
        "env": dict(sorted(resolved.items())),
        "secrets": tuple(
            sorted({s for v in resolved.values() if isinstance(v, EnvValue) for s in v.secrets})
        ),
        "depends_on": tuple(sorted(service.depends_on)),
        "health": service.health,
        "sync": sync,
        "resources": _resources(service.resources, env, work),
        "replicas": replicas,
        "autoscale": autoscale,
        "volumes": dict(sorted(service.volumes.items())),
        "stateful": service.stateful,
        "security": Security(
            read_only_root_filesystem=service.read_only_root_filesystem,
            writable_paths=tuple(sorted({v.path for v in service.volumes.values()} | set(synced))),
            writable_for_sync=synced,
            scratch_paths=service.scratch,
            run_as_user=service.run_as_user,
            capabilities=service.capabilities,
            service_account_token=service.service_account_token,
        ),
        "egress": service.egress,
        "placement": _placement(env.profile, service.stateful, work) if env.profile else None,
        "circuit_breaker": service.circuit_breaker,
        "connection_pool": service.connection_pool,
        "entrypoint": service.entrypoint,
        "metrics": service.metrics,
    }
    planned = PlannedService(**fields, backup=service.backup, spec_hash="", source=service.source)
    form = planned.model_dump(mode="json", exclude={"spec_hash", "backup"})
    if not planned.egress:
        del form["egress"]  # services that declare none keep the hashes they had before it
    form["spec_hash"] = content_hash(form)
    form["backup"] = planned.model_dump(mode="json", include={"backup"})["backup"]
    work.dumped.append(form)
    return planned.model_copy(update={"spec_hash": form["spec_hash"]})


def _placement(profile: Profile, stateful: bool, work: _Work) -> Placement:
    if stateful not in work.placements:
        work.placements[stateful] = placement(profile, stateful=stateful)
    return work.placements[stateful]


def _resources(resources: Resources | None, env: Environment, work: _Work) -> Resources | None:
    if resources not in work.resources:
        work.resources[resources] = _right_sized(resources, env)
    return work.resources[resources]


def _literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve(
    value: str | int | float | bool | Ref | Secret | ScrapeTargets,
    owner: Service,
    var: str,
    services: Mapping[str, Service],
    depth: int = 0,
    *,
    urls: dict[tuple[str, int], PlannedEnv],
) -> PlannedEnv:
    """An env value with references replaced by what they name in this environment. `urls`
    keeps each url reference filled in (by target and depth), for the next service naming it."""
    if isinstance(value, Secret):
        return EnvValue(parts=(SecretPart(secret=value.name),))
    if isinstance(value, ScrapeTargets):
        return scrape_targets(services.values())
    if not isinstance(value, Ref):
        return _literal(value)
    target = services.get(value.service)
    if target is None:
        raise BlueprintError(
            f'service "{owner.name}": env.{var} refers to service "{value.service}", '
            "which is not defined",
            location=owner.source,
            details=[f"defined services: {', '.join(sorted(services))}", _ADD_HINT],
        )
    if value.attr == "host":
        return target.name
    if value.attr == "port":
        port = target.ports.get(value.port or "")
        if port is None:
            raise BlueprintError(
                f'service "{owner.name}": env.{var} refers to port "{value.port}" of service '
                f'"{target.name}", which has no such port',
                location=owner.source,
                details=[f"ports of {target.name}: {', '.join(sorted(target.ports)) or '(none)'}"],
            )
        return str(port.container)
    if target.url_template is None:
        raise BlueprintError(
            f'service "{owner.name}": env.{var} refers to the url of "{target.name}", '
            "which has none",
            location=owner.source,
        )
    if depth > _MAX_REF_DEPTH:
        raise BlueprintError(
            f'service "{owner.name}": env.{var}: url references nest more than '
            f"{_MAX_REF_DEPTH} deep",
            location=owner.source,
        )
    key = (target.name, depth)
    if key not in urls:
        urls[key] = _expand_url(target, services, depth, urls)
    return urls[key]


def scrape_targets(services: Iterable[Service]) -> str:
    """Prometheus file-based service discovery JSON for the services that declare metrics: one
    target group each, by service name and port (as the services reach each other), sorted."""
    groups = []
    for service in sorted(services, key=lambda s: s.name):
        if service.metrics is None:
            continue
        port = service.ports[service.metrics.port].container
        labels = {"job": service.name, "service": service.name}
        labels["__metrics_path__"] = service.metrics.path
        if service.metrics.duration:
            labels["__scrape_interval__"] = service.metrics.duration
            # a timeout longer than the interval is refused; Prometheus's default is 10 s
            if service.metrics.interval is not None and service.metrics.interval < 10:
                labels["__scrape_timeout__"] = service.metrics.duration
        groups.append({"targets": [f"{service.name}:{port}"], "labels": labels})
    return json.dumps(groups, sort_keys=True, separators=(",", ":"))


def _expand_url(
    target: Service,
    services: Mapping[str, Service],
    depth: int,
    urls: dict[tuple[str, int], PlannedEnv],
) -> PlannedEnv:
    """A service's url template filled in: its host, port numbers and its own env values."""
    assert target.url_template is not None

    def port(name: str | None) -> str:
        chosen = target.ports[name] if name else next(iter(target.ports.values()))
        return str(chosen.container)

    def env(name: str) -> Sequence[str | SecretPart]:
        inner = _resolve(target.env[name], target, name, services, depth + 1, urls=urls)
        return (inner,) if isinstance(inner, str) else inner.parts

    return _joined(fill_template(target.url_template, host=target.name, port=port, env=env))


def _joined(parts: list[str | SecretPart]) -> PlannedEnv:
    """Adjacent literal parts merged; a plain string when no secret remains."""
    merged: list[str | SecretPart] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if all(isinstance(p, str) for p in merged):
        return "".join(p for p in merged if isinstance(p, str))
    return EnvValue(parts=tuple(merged))


def select_services(plan: Plan, names: Iterable[str]) -> set[str] | None:
    """Named services and groups plus everything they depend on; None (all) when none named."""
    names = list(names)
    if not names:
        return None
    known = {s.name for s in plan.services}
    chosen: list[str] = []
    for name in names:
        if name in plan.groups:
            chosen.extend(plan.groups[name])
        elif name in known:
            chosen.append(name)
        else:
            raise UserError(
                f'"{name}" is neither a service nor a group of {plan.project}',
                details=[
                    f"services: {', '.join(sorted(known))}",
                    f"groups: {', '.join(sorted(plan.groups)) or '(none)'}",
                ],
            )
    return with_dependencies({s.name: s.depends_on for s in plan.services}, chosen)
