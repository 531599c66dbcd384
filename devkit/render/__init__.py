"""Plan + images -> Kubernetes objects as data, then YAML; or a Docker Compose file. Pure.

    from devkit.render import render
    manifest = render(plan, {"api": "ghcr.io/acme/api@sha256:..."}, kube_version="1.33")
    manifest.objects      # plain dicts, in apply order
    manifest.to_yaml()    # one deterministic YAML stream

Validation against the official schemas is `devkit.schemas.validate` (it reads the schema files
shipped with kubernetes-validate, so it lives outside this pure package). Names are exported
lazily, so that importing `devkit.render.version` (as the CLI does for its help) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.render.comparison import ObjectChange, diff
    from devkit.render.composefile import compose, compose_yaml
    from devkit.render.manifest import KIND_ORDER, KubeObject, Manifest, render

_WHERE = {
    "compose": "devkit.render.composefile", "compose_yaml": "devkit.render.composefile",
    "ObjectChange": "devkit.render.comparison", "diff": "devkit.render.comparison",
    "KIND_ORDER": "devkit.render.manifest", "KubeObject": "devkit.render.manifest",
    "Manifest": "devkit.render.manifest", "render": "devkit.render.manifest",
}  # fmt: skip

__all__ = [
    "KIND_ORDER", "KubeObject", "Manifest", "ObjectChange", "compose", "compose_yaml", "diff",
    "render",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'devkit.render' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
