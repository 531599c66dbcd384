"""The base images of a Dockerfile, and that Dockerfile with them substituted by the image map."""

from __future__ import annotations

import re

from devkit.planning.images import ImageMap

_FROM = re.compile(r"^(?P<head>\s*FROM\s+(?:--\S+\s+)*)(?P<image>\S+)(?P<tail>.*)$", re.I | re.M)
_STAGE = re.compile(r"\s+AS\s+(?P<name>\S+)", re.I)


def _is_external(image: str, stages: set[str]) -> bool:
    return image.lower() not in stages and image != "scratch" and "$" not in image


def base_images(text: str) -> list[str]:
    """Images the Dockerfile builds FROM (not earlier stages, `scratch` or `${ARG}` forms)."""
    stages: set[str] = set()
    bases: list[str] = []
    for match in _FROM.finditer(text):
        if _is_external(match["image"], stages) and match["image"] not in bases:
            bases.append(match["image"])
        stage = _STAGE.search(match["tail"])
        if stage:
            stages.add(stage["name"].lower())
    return bases


def substitute_bases(text: str, images: ImageMap) -> str:
    """The Dockerfile with each external FROM image replaced by its image-map substitute."""
    stages: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        image = match["image"]
        stage = _STAGE.search(match["tail"])
        new = images.resolve(image) if _is_external(image, stages) else image
        if stage:
            stages.add(stage["name"].lower())
        return f"{match['head']}{new}{match['tail']}"

    return _FROM.sub(replace, text)
