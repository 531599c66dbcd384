"""Decide what the Docker target runs: containers as data, and the changes to reach them. Pure.

`container_specs()` turns a Plan (plus image references and secret values) into one container
spec per service; `changes_to_apply()` compares them with what the engine reports and says what
to create, replace, keep and remove. The engine side (docker.py) only carries those out.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from devkit.model.health import HealthCheck
from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planner import EnvValue, Plan, PlannedService
from devkit.targets import labels
from devkit.targets.supervisor import supervised

_NS = 1_000_000_000


@dataclass(frozen=True)
class PortSpec:
    container: int
    protocol: str
    host: int | None  # None: the engine assigns one on 127.0.0.1


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a service's container is created with; `spec_hash` identifies it."""

    service: str
    name: str
    image: str
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...] | None
    env: dict[str, str]
    labels: dict[str, str]
    ports: tuple[PortSpec, ...]
    volumes: dict[str, str]  # volume name -> mount path
    healthcheck: dict[str, Any] | None
    network: str
    depends_on: tuple[str, ...]
    nano_cpus: int | None
    mem_limit: int | None
    spec_hash: str = field(default="")


@dataclass(frozen=True)
class ActualContainer:
    """A devkit container as the engine reports it."""

    id: str
    name: str
    service: str
    spec_hash: str
    state: str  # created, running, exited, ...


@dataclass(frozen=True)
class Changes:
    """What apply must do, service by service."""

    create: tuple[str, ...]
    replace: tuple[str, ...]
    keep: tuple[str, ...]
    remove: tuple[ActualContainer, ...]

    @property
    def nothing_to_do(self) -> bool:
        return not (self.create or self.replace or self.remove)


def container_name(project: str, env: str, service: str) -> str:
    return f"{project}-{env}-{service}"


def network_name(project: str, env: str) -> str:
    return f"{project}-{env}"


def volume_name(project: str, env: str, service: str, volume: str) -> str:
    return f"{project}-{env}-{service}-{volume}"


def env_value(value: str | EnvValue, secrets: Mapping[str, str]) -> str:
    """A planned env value composed with secret values, as the container receives it."""
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else secrets[p.secret] for p in value.parts)


def _probe_http_bash(port: int, path: str, timeout: float) -> str:
    """GET with bash alone (/dev/tcp): healthy on a 2xx or 3xx status line."""
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET %s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' {shlex.quote(path)} >&3 && "
        f"read -r -t {timeout:g} proto code rest <&3 && "
        'case "$code" in 2??|3??) exit 0 ;; *) echo "HTTP status $code" >&2; exit 1 ;; esac'
    )
    return f"bash -c {shlex.quote(script)}"


def _probe_http(port: int, path: str, timeout: float) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    quoted, seconds = shlex.quote(url), f"{timeout:g}"
    return (
        f"if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null --max-time {seconds} "
        f"{quoted}; elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null -T {seconds} "
        f"{quoted}; elif command -v python3 >/dev/null 2>&1; then python3 -c "
        "'import sys,urllib.request; "
        "urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))'"
        f" {quoted} {seconds}; elif command -v bash >/dev/null 2>&1; then "
        f"{_probe_http_bash(port, path, timeout)}; else echo 'devkit: the HTTP health check "
        "needs curl, wget, python3 or bash in the image; use Command(...) instead' >&2; "
        "exit 1; fi"
    )


def _probe_tcp(port: int) -> str:
    return (
        f"if command -v nc >/dev/null 2>&1; then nc -z 127.0.0.1 {port}; "
        "elif command -v python3 >/dev/null 2>&1; then python3 -c "
        f"'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2).close()'; "
        f"elif command -v bash >/dev/null 2>&1; then bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'; "
        "else echo 'devkit: the TCP health check needs nc, python3 or bash in the image; "
        "use Command(...) instead' >&2; exit 1; fi"
    )


def healthcheck(check: HealthCheck | None, service: PlannedService) -> dict[str, Any] | None:
    """The Docker healthcheck for a planned health check, run inside the container."""
    if check is None:
        return None
    if check.kind == "command":
        test = ["CMD", *check.command]
    elif check.kind == "http":
        port = service.ports[check.port].container
        test = ["CMD-SHELL", _probe_http(port, check.path, check.timeout)]
    else:
        test = ["CMD-SHELL", _probe_tcp(service.ports[check.port].container)]
    return {
        "Test": test,
        "Interval": int(check.interval * _NS),
        "Timeout": int(check.timeout * _NS),
        "Retries": check.retries,
        "StartPeriod": int(check.start_period * _NS),
    }


def probe_command(check: Mapping[str, Any]) -> list[str]:
    """A Docker healthcheck's test as a command to exec directly."""
    test = list(check["Test"])
    return test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]


def _spec_hash(spec: ContainerSpec, image_id: str) -> str:
    data = asdict(spec)
    data.pop("spec_hash")
    data["image_id"] = image_id
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def restarts_on_sync(service: PlannedService) -> bool:
    """Whether a sync rule restarts the service, so it runs under devkit's supervisor."""
    return any(action.kind == "restart" for rule in service.sync for action in rule.then)


def preloaded(service: PlannedService) -> tuple[str, ...]:
    """The modules the service's restart rules keep warm, in order, once each."""
    names: list[str] = []
    for rule in service.sync:
        for action in rule.then:
            if action.kind == "restart":
                names.extend(n for n in action.preload if n not in names)
    return tuple(names)


ImageConfig = tuple[Sequence[str] | None, Sequence[str] | None]
"""An image's own (Entrypoint, Cmd)."""


def container_specs(
    plan: Plan,
    images: Mapping[str, str],
    image_ids: Mapping[str, str],
    secrets: Mapping[str, str],
    services: set[str] | None = None,
    image_configs: Mapping[str, ImageConfig] | None = None,
) -> list[ContainerSpec]:
    """One spec per planned service (or the chosen ones), dependencies first.

    `images` gives each service's image reference (built or substituted), `image_ids` the engine's
    id for it, so a rebuilt or re-pulled image changes the spec hash. Services restarted by sync
    rules run under the supervisor, wrapping the entrypoint and command from `image_configs`.
    """
    project, env = plan.project, plan.environment
    specs = []
    for service in plan.services:
        if services is not None and service.name not in services:
            continue
        res = service.resources
        entrypoint, command = None, service.command
        variables = {name: env_value(value, secrets) for name, value in service.env.items()}
        if restarts_on_sync(service):
            own_entrypoint, own_cmd = (image_configs or {}).get(service.name, (None, None))
            preload = preloaded(service)
            wrapped = supervised(own_entrypoint, own_cmd, service.command, preload)
            entrypoint, command = tuple(wrapped[0]), tuple(wrapped[1])
            if preload:
                variables["DEVKIT_PRELOAD"] = ",".join(preload)
        spec = ContainerSpec(
            service=service.name,
            name=container_name(project, env, service.name),
            image=images[service.name],
            entrypoint=entrypoint,
            command=command,
            env=variables,
            labels={**labels.stack_labels(project, env), labels.SERVICE: service.name},
            ports=tuple(
                PortSpec(p.container, p.protocol, p.host) for _, p in sorted(service.ports.items())
            ),
            volumes={
                volume_name(project, env, service.name, name): volume.path
                for name, volume in service.volumes.items()
            },
            healthcheck=healthcheck(service.health, service),
            network=network_name(project, env),
            depends_on=service.depends_on,
            nano_cpus=cpu_millicores(res.cpu_limit) * 1_000_000 if res and res.cpu_limit else None,
            mem_limit=memory_bytes(res.memory_limit) if res and res.memory_limit else None,
        )
        specs.append(replace(spec, spec_hash=_spec_hash(spec, image_ids.get(service.name, ""))))
    return specs


def changes_to_apply(
    desired: list[ContainerSpec],
    actual: list[ActualContainer],
    *,
    planned_services: set[str],
) -> Changes:
    """Create what is missing, replace what changed, keep the rest; remove what the plan dropped.

    Containers of services the plan still has but this apply does not touch are left alone.
    """
    by_service = {c.service: c for c in actual}
    create: list[str] = []
    changed: list[str] = []
    keep: list[str] = []
    for spec in desired:
        current = by_service.get(spec.service)
        if current is None:
            create.append(spec.service)
        elif current.spec_hash != spec.spec_hash:
            changed.append(spec.service)
        else:
            keep.append(spec.service)
    remove = tuple(c for c in actual if c.service not in planned_services)
    return Changes(tuple(create), tuple(changed), tuple(keep), remove)
