"""Push an environment's images to its registry and learn their digests.

A built image is pushed as `<registry>/<project>-<service>:dk-<hash>`; a service that runs a
given image (postgres, redis, ...) has that image, as the image map resolves it, copied to
`<registry>/<its repository path>:<tag>`, so a cluster's nodes pull every image from one place.
What deploys and promotions use is the digest reference, `<repository>@sha256:...`, which cannot
move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from devkit.build.builder import BuiltImage
from devkit.errors import EngineError
from devkit.planning.images import ImageMap, relocate
from devkit.planning.planner import Plan


@dataclass(frozen=True)
class PushedImage:
    service: str
    tag: str  # registry/repo:tag
    digest: str  # sha256:...

    @property
    def ref(self) -> str:
        """The immutable reference: repository@digest."""
        return f"{self.tag.rsplit(':', 1)[0]}@{self.digest}"


class PushFailedError(EngineError):
    """The registry refused or could not be reached."""


def _push(
    client: docker.DockerClient,
    service: str,
    source: str,
    target: str,
    on_line: Callable[[str, str], None],
) -> PushedImage:
    """Tag local image `source` as `target` (repository:tag) and push it."""
    repository, tag = target.rsplit(":", 1)
    registry = repository.split("/", 1)[0]
    try:
        client.images.get(source).tag(repository, tag)
    except ImageNotFound:
        raise PushFailedError(
            f'the image of "{service}", {source}, is not on this engine',
            details=["pull or build it first (or map it with the image map)"],
        ) from None
    digest = ""
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise PushFailedError(
                    f'push of "{service}" to {registry} failed: {chunk["error"].strip()}'
                )
            if chunk.get("status") and "id" not in chunk:
                on_line(service, str(chunk["status"]))
            digest = chunk.get("aux", {}).get("Digest", digest)
    except APIError as exc:
        raise PushFailedError(
            f'push of "{service}" to {registry} failed: {exc.explanation or exc}'
        ) from None
    if not digest:
        raise PushFailedError(f'push of "{service}" to {registry} reported no digest')
    return PushedImage(service, target, digest)


def push_images(
    client: docker.DockerClient,
    built: Mapping[str, BuiltImage],
    registry: str,
    *,
    on_line: Callable[[str, str], None],
) -> dict[str, PushedImage]:
    """Tag each built image into `registry` and push it; returns service -> pushed image."""
    return {
        service: _push(client, service, image.id, f"{registry.rstrip('/')}/{image.tag}", on_line)
        for service, image in sorted(built.items())
    }


def mirror_name(registry: str, reference: str) -> str:
    """Where a given image is copied in `registry`: its repository path, registry host dropped."""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        name, tag = reference, "latest"
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    return f"{registry.rstrip('/')}/{name}:{tag}"


def publish_images(
    client: docker.DockerClient,
    plan: Plan,
    built: Mapping[str, BuiltImage],
    image_map: ImageMap,
    registry: str,
    *,
    services: set[str] | None = None,
    on_line: Callable[[str, str], None],
) -> dict[str, PushedImage]:
    """Push every chosen service's image (built, or given and mapped) to `registry`.

    When the environment's target reaches `registry` from this machine by another name
    (`registry_from_host`), the pushes go there and the images keep the nodes' name."""
    reached_at = getattr(plan.target, "registry_from_host", None)
    if reached_at and getattr(plan.target, "registry", None) != registry:
        reached_at = None
    via = reached_at or registry
    pushed = push_images(client, built, via, on_line=on_line)
    for service in plan.services:
        if service.name in pushed or service.image is None:
            continue
        if services is not None and service.name not in services:
            continue
        local = image_map.resolve(service.image)
        pushed[service.name] = _push(client, service.name, local, mirror_name(via, local), on_line)
    if reached_at:
        return {
            name: replace(image, tag=relocate(image.tag, reached_at, registry))
            for name, image in pushed.items()
        }
    return pushed


class DigestChangedError(EngineError):
    """A copied image arrived in the destination registry under another digest."""


def copy_image(
    client: docker.DockerClient,
    service: str,
    source: str,
    destination: str,
    *,
    on_line: Callable[[str, str], None],
) -> PushedImage:
    """Copy `repository@sha256:...` to another registry by digest (pull, tag, push), unless it
    is there already; DigestChangedError when the pushed digest is not the source's.

    The engine's credentials for each registry are used (docker login, the docker config).
    """
    digest = source.partition("@")[2]
    repository = destination.partition("@")[0]
    try:
        client.api.inspect_distribution(destination)
        return PushedImage(service, f"{repository}:{_copy_tag(digest)}", digest)
    except (APIError, NotFound):
        pass
    on_line(service, f"copying {source} to {repository}")
    try:
        client.images.pull(source)
    except APIError as exc:
        raise PushFailedError(
            f'pulling the image of "{service}", {source}, failed: {exc.explanation or exc}',
            details=["is its registry reachable, and are you logged in to it (docker login)?"],
        ) from None
    pushed = _push(client, service, source, f"{repository}:{_copy_tag(digest)}", on_line)
    if pushed.digest != digest:
        raise DigestChangedError(
            f'the copy of "{service}" in {repository.split("/", 1)[0]} has digest '
            f"{pushed.digest}, not {digest}",
            details=[
                "the engine re-compressed its layers (an image built or pushed by another tool, "
                "or a multi-platform index); copy it with a registry-to-registry tool that keeps "
                "digests (crane copy, skopeo copy), then promote again",
                "nothing was deployed",
            ],
        )
    return pushed


def _copy_tag(digest: str) -> str:
    """The tag a copy is pushed under (a push needs one): its digest's start."""
    return f"promoted-{digest.partition(':')[2][:12]}"
