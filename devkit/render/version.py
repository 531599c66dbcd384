"""Kubernetes versions as the renderer compares them ("1.30", "v1.30.2" -> 1.30)."""

from __future__ import annotations

import re
from typing import NamedTuple

from devkit.errors import KubeVersionError

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?$")

DEFAULT = "1.33"
"""The version rendered for when none is given: fixed, so a render never changes by itself."""


class KubeVersion(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def parse(text: str, available: tuple[str, ...] = ()) -> KubeVersion:
    """A version from "1.30", "v1.30" or "1.30.4"; KubeVersionError for anything else."""
    match = _VERSION.match(text.strip())
    if not match:
        raise KubeVersionError(text, available, 'write it as MAJOR.MINOR, e.g. "1.33"')
    return KubeVersion(int(match[1]), int(match[2]))
