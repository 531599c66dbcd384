"""The one build-and-publish path of `up`, `build` and `deploy`: build what changed, then push
every image to the environment's registry (by digest) or leave it on the local engine (where a
kind target loads it into its nodes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker

from devkit.build.builder import BuiltImage, build_images, build_requests
from devkit.build.engine import connect
from devkit.build.push import PushedImage, publish_images
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan


@dataclass(frozen=True)
class Published:
    """What was built, and the reference each chosen service runs."""

    built: dict[str, BuiltImage]
    images: dict[str, str]  # service -> local tag, mapped image, or registry digest reference
    pushed: dict[str, PushedImage] = field(default_factory=dict)


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


def build_and_publish(
    client: docker.DockerClient,
    plan: Plan,
    root: Path,
    image_map: ImageMap,
    *,
    selected: set[str] | None,
    registry: str | None,
    build_line: Callable[[str, str], None],
    every_service: bool = False,
) -> Published:
    """Build the chosen services' images; with a registry, push them. The references cover
    the chosen services, or with `every_service` all of them (a cluster applies the whole
    stack even when one service is rebuilt)."""
    requests = build_requests(client, plan, root, image_map, selected)
    built = build_images(client, requests, on_line=build_line, client_factory=connect)
    publish = None if every_service else selected
    if registry:
        pushed = publish_images(
            client, plan, built, image_map, registry, services=publish, on_line=build_line
        )
        return Published(built, {n: p.ref for n, p in sorted(pushed.items())}, pushed)
    return Published(built, images_for(plan, built, image_map, publish))
