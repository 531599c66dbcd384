"""`devkit up` on the local Docker engine: plan -> secrets -> builds -> images -> container specs
-> changes -> apply, healthy in dependency order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devkit.build.publish import build_and_publish
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan, select_services
from devkit.project.secrets import local_secret_values
from devkit.targets.base import BuildLine, UpResult
from devkit.targets.docker.spec import changes_to_apply, container_specs
from devkit.targets.outcome import Progress
from devkit.targets.supervisor import restarts_on_sync

if TYPE_CHECKING:
    from devkit.targets.docker.target import DockerTarget


def up_on_docker(
    target: DockerTarget,
    plan: Plan,
    root: Path,
    *,
    image_map: ImageMap,
    names: Sequence[str],
    progress: Progress,
    build_line: BuildLine,
    timeout: float,
) -> UpResult:
    """Bring the plan's services (or the named ones and their dependencies) up, healthy.

    Secrets are checked before anything changes; builds happen before any container does.
    """
    began = time.monotonic()
    selected = select_services(plan, names)
    chosen = [s for s in plan.services if selected is None or s.name in selected]
    secrets = local_secret_values({n for s in chosen for n in s.secrets}, root)
    published = build_and_publish(
        target.client, plan, root, image_map, selected=selected, registry=None,
        build_line=build_line,
    )  # fmt: skip
    built, images = published.built, published.images
    image_ids = {
        name: built[name].id if name in built else target.ensure_image(ref, progress, name)
        for name, ref in images.items()
    }
    image_configs = {
        s.name: target.image_config(images[s.name]) for s in chosen if restarts_on_sync(s)
    }
    specs = container_specs(plan, images, image_ids, secrets, selected, image_configs)
    actual = target.actual()
    changes = changes_to_apply(specs, actual, planned_services={s.name for s in plan.services})
    target.apply(specs, changes, actual, progress=progress, timeout=timeout)
    return UpResult(
        services=tuple(s.name for s in chosen),
        built=tuple(sorted(name for name, image in built.items() if image.built)),
        images=images,
        seconds=time.monotonic() - began,
        created=tuple(changes.create),
        replaced=tuple(changes.replace),
        unchanged=tuple(changes.keep),
    )
