"""Decide what the Docker target runs: containers as data, and the changes to reach them. Pure.

`container_specs()` turns a Plan (plus image references and secret values) into one container
spec per service; `changes_to_apply()` compares them with what the engine reports and says what
to create, replace, keep and remove. The engine side (target.py) only carries those out.

Containers are hardened as pods are (the decisions are the renderer's, devkit/render/pod.py):
the service's uid, all capabilities dropped but those it declares, no new privileges, a
read-only root filesystem with its scratch paths and /tmp on tmpfs. Live sync (local
environments) relaxes only the synced paths: each is a volume of its own container, filled with
the image's files, where the sync agent writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planning.planner import EnvValue, Plan, PlannedService
from devkit.render import pod
from devkit.render.healthcheck import healthcheck
from devkit.targets import labels
from devkit.targets.supervisor import ImageConfig, preloaded, restarts_on_sync, supervised


@dataclass(frozen=True)
class PortSpec:
    container: int
    protocol: str
    host: int | None  # None: the engine assigns one on 127.0.0.1


@dataclass(frozen=True)
class Hardening:
    """How a container is locked down (the pod security context, in Docker's terms)."""

    user: str | None  # "uid:gid" the service runs as; None: the image's USER
    cap_drop: tuple[str, ...]
    cap_add: tuple[str, ...]
    security_opt: tuple[str, ...]
    read_only: bool  # the root filesystem
    tmpfs: dict[str, str]  # scratch path -> mount options (owned by the service's uid, if known)
    synced: tuple[str, ...]  # live-synced paths: a volume each, holding the image's files there
    volume_owner: str | None  # "uid:gid" that owns the roots of named volumes (like fsGroup)


NO_NEW_PRIVILEGES = "no-new-privileges:true"


def hardening(service: PlannedService) -> Hardening:
    """The security settings of a service's container: the same decisions as its pod's.

    Where a pod's root filesystem becomes writable for live sync (an emptyDir would hide the
    image's files), Docker keeps it read-only and gives each synced path a volume that starts
    with the image's files: only what live sync writes is writable.
    """
    security = service.security
    uid = security.run_as_user
    user = f"{uid}:{uid}" if uid is not None else None
    read_only = security.read_only_root_filesystem
    options = f"uid={uid},gid={uid},mode=1777" if uid is not None else "mode=1777"
    scratch = pod.scratch_paths(service, read_only_root=read_only)
    taken = {volume.path for volume in service.volumes.values()} | set(scratch)
    return Hardening(
        user=user,
        cap_drop=("ALL",),
        cap_add=security.capabilities,
        security_opt=(NO_NEW_PRIVILEGES,),
        read_only=read_only,
        tmpfs=dict.fromkeys(scratch, options),
        synced=tuple(p for p in security.writable_for_sync if p not in taken) if read_only else (),
        volume_owner=user if service.volumes else None,
    )


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
    security: Hardening
    spec_hash: str = field(default="")
    volume_init: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """volume name -> env names read only when the service initialises it (not in spec_hash)"""


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


def _spec_hash(spec: ContainerSpec, image_id: str) -> str:
    data = asdict(spec)
    data.pop("spec_hash")
    data.pop("volume_init")  # what a volume was made with changes nothing about the container
    data["image_id"] = image_id
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
        entrypoint, command = service.entrypoint, service.command
        variables = {name: env_value(value, secrets) for name, value in service.env.items()}
        if restarts_on_sync(service):
            own_entrypoint, own_cmd = (image_configs or {}).get(service.name, (None, None))
            if service.entrypoint is not None:  # as in Docker: an entrypoint of its own drops CMD
                own_entrypoint, own_cmd = list(service.entrypoint), None
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
            security=hardening(service),
            volume_init={
                volume_name(project, env, service.name, name): volume.init_env
                for name, volume in service.volumes.items()
                if volume.init_env
            },
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
