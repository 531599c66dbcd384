"""Build service images on the engine: skip what exists, build the rest in parallel, stream output.

An image is tagged `<project>-<service>:dk-<hash>` where the hash covers its context files (as
.dockerignore leaves them), Dockerfile, build args, target and base images; a tag that exists is
never rebuilt.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from devkit.build.context import DOCKERFILE_IN_TAR, content_hash, context_files, context_tar
from devkit.build.dockerfile import base_images, substitute_bases
from devkit.errors import EngineError
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan

_TAIL = 15


@dataclass(frozen=True)
class BuildRequest:
    """One image to have: where it builds from and the tag its inputs hash to."""

    service: str
    context: Path
    files: tuple[str, ...]
    dockerfile: str  # the text to build with, bases already substituted
    args: Mapping[str, str]
    target: str | None
    tag: str


@dataclass(frozen=True)
class BuiltImage:
    service: str
    tag: str
    id: str
    built: bool  # False: the tag existed, nothing was built
    seconds: float


class BuildFailedError(EngineError):
    """A build failed; the message names the service and the Dockerfile step."""

    def __init__(self, service: str, step: str | None, error: str, tail: Iterable[str]) -> None:
        self.service = service
        self.step = step
        where = f" at {step}" if step else ""
        super().__init__(
            f'build of "{service}" failed{where}: {error}',
            details=["last build output:", *(f"  {line}" for line in tail)],
        )


def image_tag(project: str, service: str, digest: str) -> str:
    return f"{project}-{service}:dk-{digest[:12]}"


def build_requests(
    client: docker.DockerClient,
    plan: Plan,
    root: Path,
    images: ImageMap,
    services: set[str] | None = None,
) -> list[BuildRequest]:
    """What to build for the plan's services that have a build (or the chosen ones)."""
    requests = []
    for service in plan.services:
        if service.build is None or (services is not None and service.name not in services):
            continue
        context = root / service.build.context
        original = (context / service.build.dockerfile).read_text()
        dockerfile = substitute_bases(original, images)
        bases: dict[str, str] = {}
        for base in base_images(dockerfile):
            try:
                bases[base] = client.images.get(base).id
            except ImageNotFound:
                bases[base] = "absent"
        files = tuple(context_files(context))
        digest = content_hash(
            context,
            files,
            dockerfile=dockerfile,
            args=service.build.args,
            target=service.build.target,
            bases=bases,
        )
        requests.append(
            BuildRequest(
                service=service.name,
                context=context,
                files=files,
                dockerfile=dockerfile,
                args=dict(service.build.args),
                target=service.build.target,
                tag=image_tag(plan.project, service.name, digest),
            )
        )
    return requests


def _build_one(
    client: docker.DockerClient, request: BuildRequest, on_line: Callable[[str, str], None]
) -> BuiltImage:
    began = time.monotonic()
    tail: deque[str] = deque(maxlen=_TAIL)
    step: str | None = None
    image_id = ""
    try:
        stream = client.api.build(
            fileobj=context_tar(request.context, request.files, request.dockerfile),
            custom_context=True,
            dockerfile=DOCKERFILE_IN_TAR,
            tag=request.tag,
            buildargs=dict(request.args),
            target=request.target,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise BuildFailedError(request.service, step, chunk["error"].strip(), tail)
            for line in str(chunk.get("stream", "")).splitlines():
                if not line.strip():
                    continue
                tail.append(line)
                on_line(request.service, line)
                if line.startswith("Step "):
                    step = line
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise BuildFailedError(request.service, step, exc.explanation or str(exc), tail) from None
    if not image_id:
        image_id = client.images.get(request.tag).id or ""
    return BuiltImage(request.service, request.tag, image_id, True, time.monotonic() - began)


def build_images(
    client: docker.DockerClient,
    requests: list[BuildRequest],
    *,
    on_line: Callable[[str, str], None],
    client_factory: Callable[[], docker.DockerClient] | None = None,
    parallel: int = 2,
) -> dict[str, BuiltImage]:
    """Build every request whose tag the engine lacks (independent images in parallel, each
    with a client from `client_factory`); the first failure is raised after the others finish,
    so what did build is cached for the next run."""
    results: dict[str, BuiltImage] = {}
    missing = []
    for request in requests:
        try:
            existing = client.images.get(request.tag)
        except ImageNotFound:
            missing.append(request)
        else:
            results[request.service] = BuiltImage(
                request.service, request.tag, existing.id or "", False, 0.0
            )
    if not missing:
        return results
    factory = client_factory or (lambda: client)

    def run(request: BuildRequest) -> BuiltImage:
        own = factory()
        try:
            return _build_one(own, request, on_line)
        finally:
            if own is not client:
                own.close()

    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(missing)))) as pool:
        futures = [(r, pool.submit(run, r)) for r in missing]
        for request, future in futures:
            try:
                results[request.service] = future.result()
            except BuildFailedError as exc:
                failure = failure or exc
    if failure is not None:
        raise failure
    return results
