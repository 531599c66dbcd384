"""Push built images to an environment's registry and learn their digests.

A pushed image is named `<registry>/<project>-<service>:dk-<hash>`; what deploys and promotions
use is its digest reference, `<registry>/<project>-<service>@sha256:...`, which cannot move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import docker
from docker.errors import APIError

from devkit.build.builder import BuiltImage
from devkit.errors import EngineError


@dataclass(frozen=True)
class PushedImage:
    service: str
    tag: str  # registry/repo:dk-...
    digest: str  # sha256:...

    @property
    def ref(self) -> str:
        """The immutable reference: repository@digest."""
        return f"{self.tag.rsplit(':', 1)[0]}@{self.digest}"


class PushFailedError(EngineError):
    """The registry refused or could not be reached."""


def push_images(
    client: docker.DockerClient,
    built: Mapping[str, BuiltImage],
    registry: str,
    *,
    on_line: Callable[[str, str], None],
) -> dict[str, PushedImage]:
    """Tag each built image into `registry` and push it; returns service -> pushed image."""
    pushed: dict[str, PushedImage] = {}
    for service, image in sorted(built.items()):
        repository, tag = f"{registry.rstrip('/')}/{image.tag}".rsplit(":", 1)
        client.images.get(image.id).tag(repository, tag)
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
        pushed[service] = PushedImage(service, f"{repository}:{tag}", digest)
    return pushed
