"""Decide what a Swarm stack runs: one service spec per planned service, as Engine API data. Pure.

A stack is a project's environment: services named `<project>-<env>-<service>` on one attachable
overlay network (reached by service name), labelled like every devkit object, running images by
digest. Updates start the new task before stopping the old one unless the service keeps state,
and roll back on failure. Secrets are Docker secrets mounted at /run/secrets/<NAME>; a variable
that holds one is composed at start by a small sh wrapper, so no value is ever in a spec.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planning.planner import EnvValue, Plan, PlannedService
from devkit.render.healthcheck import healthcheck
from devkit.render.pod import writable_root
from devkit.targets import labels
from devkit.targets.supervisor import ImageConfig

_NS = 1_000_000_000
SECRETS_DIR = "/run/secrets"
_ENV_WRAPPER = "devkit-env"


@dataclass(frozen=True)
class SecretRef:
    """A Docker secret of the stack: the blueprint's name, the engine's name and id."""

    name: str
    docker_name: str
    id: str


def service_name(project: str, env: str, service: str) -> str:
    return f"{project}-{env}-{service}"


def network_name(project: str, env: str) -> str:
    return f"{project}-{env}"


def secret_name(project: str, env: str, secret: str, value: str) -> str:
    """A secret's engine name: secrets are immutable, so a new value gets a new name.

    The suffix is 8 hex digits of a salted hash: enough to tell values apart, too short to
    help anyone guess one.
    """
    salted = f"devkit:{project}:{env}:{secret}:{value}".encode()
    suffix = hashlib.sha256(salted).hexdigest()[:8]
    return f"{project}-{env}-{secret.lower().replace('_', '-')}-{suffix}"


def env_script(env: Mapping[str, EnvValue], secrets_dir: str = SECRETS_DIR) -> str:
    """sh that exports each variable composed from its secret files, then runs "$@"."""
    lines = []
    for name, value in sorted(env.items()):
        pieces = [
            shlex.quote(part) if isinstance(part, str) else f'"$(cat {secrets_dir}/{part.secret})"'
            for part in value.parts
        ]
        lines.append(f"export {name}={''.join(pieces) or chr(34) * 2}")
    return "; ".join([*lines, 'exec "$@"'])


def _argv(
    service: PlannedService, image_config: ImageConfig | None
) -> tuple[list[str] | None, list[str] | None]:
    """(Command, Args) for the container spec: the service's own, or wrapped to compose secrets."""
    composed = {k: v for k, v in service.env.items() if isinstance(v, EnvValue)}
    if not composed:
        return (
            list(service.entrypoint) if service.entrypoint else None,
            list(service.command) if service.command else None,
        )
    entrypoint, cmd = image_config or (None, None)
    if service.entrypoint is not None:  # as in Docker: an entrypoint of its own drops CMD
        entrypoint, cmd = list(service.entrypoint), None
    argv = [*(entrypoint or []), *(service.command if service.command else (cmd or []))]
    return ["/bin/sh", "-c", env_script(composed), _ENV_WRAPPER], argv


def _mounts(plan: Plan, service: PlannedService) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {
            "Type": "volume",
            "Source": volume_name(plan.project, plan.environment, service.name, name),
            "Target": volume.path,
            "VolumeOptions": {"Labels": labels.stack_labels(plan.project, plan.environment)},
        }
        for name, volume in sorted(service.volumes.items())
    ]
    scratch = list(service.security.scratch_paths)
    taken = {v.path for v in service.volumes.values()} | set(scratch)
    if not writable_root(service) and "/tmp" not in taken:  # noqa: S108 - the container's own
        scratch.append("/tmp")  # noqa: S108
    mounts.extend({"Type": "tmpfs", "Target": path} for path in scratch)
    return mounts


def volume_name(project: str, env: str, service: str, volume: str) -> str:
    return f"{project}-{env}-{service}-{volume}"


def _resources(service: PlannedService) -> dict[str, Any]:
    res = service.resources
    if res is None:
        return {}
    limits: dict[str, int] = {}
    reservations: dict[str, int] = {}
    if res.cpu_limit:
        limits["NanoCPUs"] = cpu_millicores(res.cpu_limit) * 1_000_000
    if res.memory_limit:
        limits["MemoryBytes"] = memory_bytes(res.memory_limit)
    if res.cpu:
        reservations["NanoCPUs"] = cpu_millicores(res.cpu) * 1_000_000
    if res.memory:
        reservations["MemoryBytes"] = memory_bytes(res.memory)
    return {k: v for k, v in (("Limits", limits), ("Reservations", reservations)) if v}


def _mesh(plan: Plan) -> bool:
    return bool(getattr(plan.target, "routing_mesh", True))


def _ports(service: PlannedService, mesh: bool) -> list[dict[str, Any]]:
    """Published ports: pinned ones (`host`) as given; public ones get a port the swarm assigns
    (through the routing mesh), or each task one on its node (without it)."""
    ports = []
    for _, port in sorted(service.ports.items()):
        if port.host is None and not port.public:
            continue
        entry: dict[str, Any] = {
            "Protocol": port.protocol,
            "TargetPort": port.container,
            "PublishMode": "ingress" if mesh else "host",
        }
        if port.host is not None:
            entry["PublishedPort"] = port.host
        ports.append(entry)
    return ports


def monitor_seconds(service: PlannedService) -> float:
    """How long a new task is watched once running (healthy, with a health check) before the
    update moves on: two health intervals, 5-30 s."""
    check = service.health
    return 5.0 if check is None else min(30.0, max(5.0, 2 * check.interval))


def _update_config(service: PlannedService, mesh: bool) -> dict[str, Any]:
    keeps_state = service.stateful or bool(service.volumes)
    # Without the mesh a pinned port is bound on the node: old and new task cannot share it.
    pinned = not mesh and any(p.host is not None for p in service.ports.values())
    return {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": "rollback",
        "Monitor": int(monitor_seconds(service) * _NS),
        "MaxFailureRatio": 0,
        "Order": "stop-first" if keeps_state or pinned else "start-first",
    }


def service_spec(
    plan: Plan,
    service: PlannedService,
    image: str,
    secrets: Mapping[str, SecretRef],
    image_config: ImageConfig | None = None,
) -> dict[str, Any]:
    """The Engine API ServiceSpec of one service; labels carry its spec hash."""
    project, env = plan.project, plan.environment
    mesh = _mesh(plan)
    command, args = _argv(service, image_config)
    plain_env = {k: v for k, v in service.env.items() if isinstance(v, str)}
    container: dict[str, Any] = {
        "Image": image,
        "Env": [f"{k}={v}" for k, v in sorted(plain_env.items())],
        "Labels": {**labels.stack_labels(project, env), labels.SERVICE: service.name},
        "Mounts": _mounts(plan, service),
        "ReadOnly": not writable_root(service),
        "Init": True,
        "CapabilityDrop": ["ALL"],
        **(
            {"CapabilityAdd": list(service.security.capabilities)}
            if service.security.capabilities
            else {}
        ),
        "Secrets": [
            {
                "File": {"Name": name, "UID": "0", "GID": "0", "Mode": 0o444},
                "SecretID": secrets[name].id,
                "SecretName": secrets[name].docker_name,
            }
            for name in sorted(service.secrets)
        ],
    }
    if command is not None:
        container["Command"] = command
    if args is not None:
        container["Args"] = args
    check = healthcheck(service.health, service)
    if check is not None:
        container["Healthcheck"] = check
    if service.security.run_as_user is not None:
        container["User"] = f"{service.security.run_as_user}:{service.security.run_as_user}"
    grace = service.placement.termination_grace if service.placement else None
    if grace:
        container["StopGracePeriod"] = grace * _NS
    replicas = service.autoscale.min if service.autoscale else service.replicas
    spec: dict[str, Any] = {
        "Name": service_name(project, env, service.name),
        "Labels": {**labels.stack_labels(project, env), labels.SERVICE: service.name},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": _resources(service),
            "RestartPolicy": {"Condition": "any", "Delay": 2 * _NS, "MaxAttempts": 0},
            "Networks": [
                {"Target": network_name(project, env), "Aliases": [service.name]},
            ],
        },
        "Mode": {"Replicated": {"Replicas": replicas}},
        "UpdateConfig": _update_config(service, mesh),
        "RollbackConfig": {**_update_config(service, mesh), "FailureAction": "pause"},
        "EndpointSpec": {"Mode": "vip" if mesh else "dnsrr", "Ports": _ports(service, mesh)},
    }
    digest = spec_hash(spec)
    spec["Labels"][labels.SPEC_HASH] = digest
    container["Labels"][labels.SPEC_HASH] = digest  # tasks carry it: which run the new spec
    return spec


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Content hash of a service spec, leaving out the hash label itself."""
    data = json.loads(json.dumps(spec))
    data["Labels"].pop(labels.SPEC_HASH, None)
    data["TaskTemplate"]["ContainerSpec"]["Labels"].pop(labels.SPEC_HASH, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stack_specs(
    plan: Plan,
    images: Mapping[str, str],
    secrets: Mapping[str, SecretRef],
    image_configs: Mapping[str, ImageConfig] | None = None,
) -> dict[str, dict[str, Any]]:
    """service -> ServiceSpec for every planned service, dependencies first."""
    configs = image_configs or {}
    return {
        s.name: service_spec(plan, s, images[s.name], secrets, configs.get(s.name))
        for s in plan.services
    }


def needs_image_config(plan: Plan) -> list[str]:
    """Services whose command must be known to wrap it (their variables hold secrets)."""
    return [s.name for s in plan.services if any(isinstance(v, EnvValue) for v in s.env.values())]


@dataclass(frozen=True)
class StackChanges:
    """What applying a stack spec does, service by service."""

    create: tuple[str, ...]
    update: tuple[str, ...]
    keep: tuple[str, ...]
    remove: tuple[str, ...]  # services of the stack the spec no longer has

    @property
    def nothing_to_do(self) -> bool:
        return not (self.create or self.update or self.remove)


def stack_changes(
    desired: Mapping[str, Mapping[str, Any]], actual: Mapping[str, str], owned: Sequence[str]
) -> StackChanges:
    """Compare desired specs with the running services' spec hashes (service -> hash).

    `owned` lists the services of this stack the engine has (by label), so ones the spec
    dropped are removed and nothing unlabelled is ever touched.
    """
    create, update, keep = [], [], []
    for name, spec in desired.items():
        if name not in actual:
            create.append(name)
        elif actual[name] != spec["Labels"][labels.SPEC_HASH]:
            update.append(name)
        else:
            keep.append(name)
    remove = tuple(sorted(n for n in owned if n not in desired))
    return StackChanges(tuple(create), tuple(update), tuple(keep), remove)
