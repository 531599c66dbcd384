"""The local stack: plan -> images (built or substituted) -> containers on the Docker target."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker

from devkit.build.builder import BuiltImage, build_images, build_requests
from devkit.build.engine import connect
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan, select_services
from devkit.project.secrets import local_secret_values
from devkit.targets.docker.spec import Changes, changes_to_apply, container_specs
from devkit.targets.docker.target import DockerTarget
from devkit.targets.outcome import Progress
from devkit.targets.supervisor import ImageConfig, restarts_on_sync


@dataclass(frozen=True)
class UpResult:
    plan: Plan
    services: tuple[str, ...]
    built: dict[str, BuiltImage]
    changes: Changes
    seconds: float


def images_for(
    plan: Plan, built: dict[str, BuiltImage], image_map: ImageMap, selected: set[str] | None
) -> dict[str, str]:
    """Each chosen service's image: its build's tag, or its declared image through the map."""
    images = {}
    for service in plan.services:
        if selected is not None and service.name not in selected:
            continue
        if service.name in built:
            images[service.name] = built[service.name].tag
        elif service.image is not None:
            images[service.name] = image_map.resolve(service.image)
    return images


def _entrypoint_and_cmd(client: docker.DockerClient, ref: str) -> ImageConfig:
    config = client.images.get(ref).attrs.get("Config") or {}
    return config.get("Entrypoint"), config.get("Cmd")


def up(
    plan: Plan,
    root: Path,
    *,
    image_map: ImageMap,
    names: Iterable[str] = (),
    progress: Progress,
    build_line: Callable[[str, str], None],
    timeout: float = 120.0,
    client: docker.DockerClient | None = None,
) -> UpResult:
    """Bring the plan's services (or the named ones and their dependencies) up, healthy.

    Secrets are checked before anything changes; builds happen before any container does.
    """
    began = time.monotonic()
    selected = select_services(plan, names)
    chosen = [s for s in plan.services if selected is None or s.name in selected]
    secrets = local_secret_values({n for s in chosen for n in s.secrets}, root)
    own_client = client is None
    client = client or connect()
    try:
        requests = build_requests(client, plan, root, image_map, selected)
        built = build_images(client, requests, on_line=build_line, client_factory=connect)
        images = images_for(plan, built, image_map, selected)
        target = DockerTarget(client, plan.project, plan.environment)
        image_ids = {
            name: built[name].id if name in built else target.ensure_image(ref, progress, name)
            for name, ref in images.items()
        }
        image_configs = {
            s.name: _entrypoint_and_cmd(client, images[s.name])
            for s in chosen
            if restarts_on_sync(s)
        }
        specs = container_specs(plan, images, image_ids, secrets, selected, image_configs)
        actual = target.actual()
        changes = changes_to_apply(specs, actual, planned_services={s.name for s in plan.services})
        target.apply(specs, changes, actual, progress=progress, timeout=timeout)
    finally:
        if own_client:
            client.close()
    return UpResult(
        plan=plan,
        services=tuple(s.name for s in chosen),
        built=built,
        changes=changes,
        seconds=time.monotonic() - began,
    )
