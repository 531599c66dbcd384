"""The local stack on a cluster (kind, or any context): plan -> images (built, then loaded into
kind or pushed to the environment's registry) -> objects applied and rolled out -> port-forwards.

What `devkit up -e ENV` does for a Kind or Kubernetes environment. Nothing is recorded as a
release: this is the dev loop, not a deploy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from devkit.build.builder import BuiltImage, build_images, build_requests
from devkit.build.engine import connect
from devkit.build.push import publish_images
from devkit.devloop.docker_up import images_for
from devkit.devloop.timings import cache_dir
from devkit.errors import EngineError, UserError
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan, select_services
from devkit.project.secrets import local_secret_values
from devkit.targets.kubernetes import kind
from devkit.targets.kubernetes.api import KubeApi, connect_context
from devkit.targets.kubernetes.dev import forwards, pinned_ports, supervise
from devkit.targets.kubernetes.port_forward import Forward, PortForwarder, free_port
from devkit.targets.kubernetes.target import KubernetesTarget
from devkit.targets.outcome import Progress
from devkit.targets.supervisor import ImageConfig, restarts_on_sync


class RolloutError(EngineError):
    """The stack did not come up on the cluster; carries the failing pod's last log lines."""


@dataclass
class KubeUp:
    plan: Plan
    target: KubernetesTarget
    built: dict[str, BuiltImage]
    images: dict[str, str]
    seconds: float


def context_of(plan: Plan, override: str | None = None) -> str | None:
    if override:
        return override
    target = plan.target
    if target.kind == "kind":
        return f"kind-{target.cluster}"
    return getattr(target, "context", None)


def up_kube(
    plan: Plan,
    root: Path,
    *,
    image_map: ImageMap,
    names: Iterable[str] = (),
    context: str | None = None,
    progress: Progress,
    build_line: Callable[[str, str], None],
    timeout: float = 180.0,
) -> KubeUp:
    """Build, make the images reachable by the cluster, apply, and wait until all is ready."""
    began = time.monotonic()
    selected = select_services(plan, names)
    secrets = local_secret_values({n for s in plan.services for n in s.secrets}, root)
    kube = KubeApi(connect_context(context_of(plan, context)))
    client = connect()
    try:
        requests = build_requests(client, plan, root, image_map, selected)
        built = build_images(client, requests, on_line=build_line, client_factory=connect)
        images = _reachable(client, plan, image_map, built, build_line)
        configs = {
            s.name: _image_config(client, images[s.name], built.get(s.name))
            for s in plan.services
            if restarts_on_sync(s)
        }
    finally:
        client.close()
    target = KubernetesTarget(kube, plan)
    stack = target.prepare(plan, images, secrets)
    stack["objects"] = supervise(stack["objects"], plan, configs)
    target.check_apply(stack)
    target.apply(stack, progress)
    outcome = target.wait(stack, timeout, progress)
    if not outcome.ok:
        logs = "\n".join(f"    | {line}" for line in outcome.logs)
        raise RolloutError(
            f"{plan.project}/{plan.environment} did not come up: {outcome.reason}",
            details=[f"last log lines:\n{logs}"] if logs else [],
        )
    return KubeUp(plan, target, built, images, round(time.monotonic() - began, 2))


def _reachable(
    client: docker.DockerClient,
    plan: Plan,
    image_map: ImageMap,
    built: dict[str, BuiltImage],
    build_line: Callable[[str, str], None],
) -> dict[str, str]:
    """Each service's image as the cluster's nodes can pull it."""
    registry = getattr(plan.target, "registry", None)
    if registry:
        pushed = publish_images(client, plan, built, image_map, registry, on_line=build_line)
        return {name: image.ref for name, image in pushed.items()}
    local = images_for(plan, built, image_map, None)
    if plan.target.kind != "kind":
        raise UserError(
            f'environment "{plan.environment}" has no registry its cluster can pull from',
            details=[
                'declare one, e.g. Kubernetes(context="...", registry="localhost:5001"); '
                "kind clusters can take images without one (kind load)"
            ],
        )
    cluster = plan.target.cluster
    ids = {
        ref: built[name].id if name in built else _ensure_local(client, ref)
        for name, ref in local.items()
    }
    kind.load(cluster, ids, lambda line: build_line("kind", line))
    return local


def _ensure_local(client: docker.DockerClient, ref: str) -> str:
    """The local image id of `ref`, pulled first if this engine lacks it."""
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        image = client.images.pull(ref)
    return str(image.id)


def _image_config(client: docker.DockerClient, ref: str, built: BuiltImage | None) -> ImageConfig:
    image = client.images.get(built.id if built else ref)
    config = image.attrs.get("Config") or {}
    return config.get("Entrypoint"), config.get("Cmd")


def local_ports(plan: Plan) -> dict[tuple[str, str], int]:
    """Stable 127.0.0.1 ports for the environment's forwards: pinned ones as declared, the
    others remembered from the last `up` in the cache directory (or new free ones)."""
    path = cache_dir() / "ports" / f"{plan.project}-{plan.environment}.json"
    try:
        remembered = {tuple(k.split("/", 1)): v for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        remembered = {}
    pinned = pinned_ports(plan)
    chosen: dict[tuple[str, str], int] = {}
    for service, name, _ in forwards(plan):
        wanted = pinned.get((service, name)) or remembered.get((service, name))
        chosen[(service, name)] = pinned.get((service, name)) or free_port(wanted)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({f"{s}/{n}": p for (s, n), p in chosen.items()}, indent=2))
    return chosen


def start_forwards(up: KubeUp, report: Progress) -> tuple[PortForwarder, list[Forward]]:
    """Forward every declared port of the environment to 127.0.0.1."""
    forwarder = PortForwarder(up.target.kube, up.target.namespace, up.target.instance, report)
    ports = local_ports(up.plan)
    started = [
        forwarder.start(service, name, container_port, ports[(service, name)])
        for service, name, container_port in forwards(up.plan)
    ]
    return forwarder, started


def describe(up: KubeUp, forwarded: list[Forward]) -> dict[str, Any]:
    return {
        "project": up.plan.project,
        "environment": up.plan.environment,
        "namespace": up.target.namespace,
        "seconds": up.seconds,
        "built": sorted(n for n, b in up.built.items() if b.built),
        "images": up.images,
        "forwards": {f"{f.service}.{f.port_name}": f.url for f in forwarded},
    }
