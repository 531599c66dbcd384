"""Plan + images -> Kubernetes objects as data, then YAML; or a Docker Compose file. Pure.

    from devkit.render import render
    manifest = render(plan, {"api": "ghcr.io/acme/api@sha256:..."}, kube_version="1.33")
    manifest.objects      # plain dicts, in apply order
    manifest.to_yaml()    # one deterministic YAML stream

Validation against the official schemas is `devkit.schemas.validate` (it reads the schema files
shipped with kubernetes-validate, so it lives outside this pure package).
"""

from devkit.render.compose import compose, compose_yaml
from devkit.render.diff import ObjectChange, diff
from devkit.render.manifest import KIND_ORDER, KubeObject, Manifest, render
from devkit.render.version import DEFAULT as DEFAULT_KUBE_VERSION

__all__ = [
    "DEFAULT_KUBE_VERSION", "KIND_ORDER", "KubeObject", "Manifest", "ObjectChange", "compose",
    "compose_yaml", "diff", "render",
]  # fmt: skip
