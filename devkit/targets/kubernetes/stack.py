"""The dev loop's stack on a cluster (kind, or any context): images built, then loaded into kind
or pushed to the environment's registry; objects applied and rolled out; stable port-forwards.
Nothing is recorded as a release: this is the dev loop, not a deploy."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import docker

from devkit.build.builder import BuiltImage
from devkit.build.engine import connect
from devkit.build.publish import build_and_publish
from devkit.errors import EngineError, UserError
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan, select_services
from devkit.project.secrets import local_secret_values
from devkit.render.images import BACKUP_IMAGE
from devkit.targets.base import BuildLine, ForwardSet, UpResult
from devkit.targets.kubernetes import kind
from devkit.targets.kubernetes.dev import forwards, pinned_ports, supervise
from devkit.targets.kubernetes.port_forward import PortForwarder, free_port
from devkit.targets.kubernetes.target import KubernetesTarget
from devkit.targets.outcome import Progress
from devkit.targets.supervisor import ImageConfig, restarts_on_sync


class RolloutError(EngineError):
    """The stack did not come up on the cluster; carries the failing pod's last log lines."""


def up_on_cluster(
    target: KubernetesTarget,
    plan: Plan,
    root: Path,
    *,
    image_map: ImageMap,
    names: Sequence[str],
    kind_cluster: str | None,
    progress: Progress,
    build_line: BuildLine,
    timeout: float,
) -> UpResult:
    """Build, make the images reachable by the cluster, apply, and wait until all is ready."""
    began = time.monotonic()
    selected = select_services(plan, names)
    secrets = local_secret_values(plan.secret_names, root)
    registry = getattr(plan.target, "registry", None)
    if not registry and kind_cluster is None:
        raise UserError(
            f'environment "{plan.environment}" has no registry its cluster can pull from',
            details=[
                'declare one, e.g. Kubernetes(context="...", registry="localhost:5001"); '
                "kind clusters can take images without one (kind load)"
            ],
        )
    client = connect()
    try:
        published = build_and_publish(
            client, plan, root, image_map, selected=selected, registry=registry,
            build_line=build_line, every_service=True,
        )  # fmt: skip
        built, images = published.built, published.images
        applied = dict(images)
        if not registry:  # a kind cluster: the images are loaded into its nodes
            if plan.backups is not None:  # and the scheduled backup's upload image
                applied[BACKUP_IMAGE] = image_map.resolve(plan.backups.image)
            ids = {
                ref: built[name].id if name in built else _ensure_local(client, ref)
                for name, ref in applied.items()
            }
            assert kind_cluster is not None
            kind.load(kind_cluster, ids, lambda line: build_line("kind", line))
        configs = {
            s.name: _image_config(client, images[s.name], built.get(s.name))
            for s in plan.services
            if restarts_on_sync(s) and s.name in images
        }
    finally:
        client.close()
    stack = target.prepare(plan, applied, target.observe(plan, images, secrets))
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
    chosen = [s.name for s in plan.services if selected is None or s.name in selected]
    return UpResult(
        services=tuple(chosen),
        built=tuple(sorted(n for n, b in built.items() if b.built)),
        images=images,
        seconds=round(time.monotonic() - began, 2),
        namespace=target.namespace,
    )


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


def local_ports(plan: Plan, cache: Path) -> dict[tuple[str, str], int]:
    """Stable 127.0.0.1 ports for the environment's forwards: pinned ones as declared, the
    others remembered from the last time (in the cache directory) or new free ones."""
    path = cache / "ports" / f"{plan.project}-{plan.environment}.json"
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


def start_forwards(
    target: KubernetesTarget, plan: Plan, cache: Path, progress: Progress
) -> ForwardSet:
    """Forward every declared port of the environment to 127.0.0.1."""
    forwarder = PortForwarder(target.kube, target.namespace, target.instance, progress)
    ports = local_ports(plan, cache)
    started = [
        forwarder.start(service, name, container_port, ports[(service, name)])
        for service, name, container_port in forwards(plan)
    ]
    return ForwardSet(started, forwarder.stop)
