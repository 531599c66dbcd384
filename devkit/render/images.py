"""Which image each service runs: the reference given (a digest from the builder, an image map),
the service's own `image`, or, for a service built from source, a placeholder.

The placeholder, `[<registry>/]<project>/<service>:dk-<hash>`, hashes the service's build
declaration (context, Dockerfile, target, args): the same in every environment, as the built
image will be, but not the digest of any real image. `devkit build` supplies real references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from devkit.errors import RenderError
from devkit.planning.planner import Plan, PlannedService, content_hash

BACKUP_IMAGE = "devkit:backup"
"""The key of `images` for the scheduled backup's upload image (not a service: no service name
holds a ":"); given where the image is not pulled as declared (an image map, kind load)."""
_REFERENCE = re.compile(r"^[a-z0-9]([a-z0-9._/:@+-]*[A-Za-z0-9_.+-])?$", re.IGNORECASE)


def placeholder(plan: Plan, service: PlannedService) -> str:
    """The stand-in reference of a service built from source, until the builder supplies one."""
    assert service.build is not None
    digest = content_hash(service.build.model_dump(mode="json"))[:12]
    registry = getattr(plan.target, "registry", None)
    prefix = f"{registry.rstrip('/')}/" if registry else ""
    return f"{prefix}{plan.project}/{service.name}:dk-{digest}"


def tag(reference: str) -> str | None:
    """The tag of a reference ("postgres:16" -> "16"), None for digests and untagged names."""
    if "@" in reference:
        return None
    name, _, tag = reference.rpartition(":")
    return tag if name and "/" not in tag else None


def image_refs(plan: Plan, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """The image reference of every service of the plan; `given` wins over everything else."""
    given = dict(given or {})
    names = {service.name for service in plan.services}
    unknown = sorted(set(given) - names - {BACKUP_IMAGE})
    if unknown:
        raise RenderError(
            f'an image is given for "{unknown[0]}", which is not a service of '
            f'environment "{plan.environment}"',
            details=[f"services: {', '.join(sorted(names))}"],
        )
    refs: dict[str, str] = {}
    for service in plan.services:
        ref = given.get(service.name) or service.image or placeholder(plan, service)
        if not _REFERENCE.match(ref) or len(ref) > 4096:
            raise RenderError(
                f'service "{service.name}": "{ref}" is not an image reference',
                details=["e.g. postgres:16, ghcr.io/acme/api:1.4 or ghcr.io/acme/api@sha256:..."],
            )
        refs[service.name] = ref
    if BACKUP_IMAGE in given:
        refs[BACKUP_IMAGE] = given[BACKUP_IMAGE]
    return refs
