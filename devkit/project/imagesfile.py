"""The images file: which image, by digest, each service of an environment runs.

`devkit build ENV --push` writes it; `devkit deploy ENV --images FILE` reads it, so CI builds
once and deploys (and promotes) those exact images. JSON:
`{"project": "shop", "environment": "staging", "images": {"api": "reg/shop-api@sha256:..."}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devkit.errors import UserError
from devkit.planning.planner import Plan

_DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$")


def document(plan: Plan, images: Mapping[str, str]) -> dict[str, Any]:
    return {
        "project": plan.project,
        "environment": plan.environment,
        "images": dict(sorted(images.items())),
    }


def write(path: Path, plan: Plan, images: Mapping[str, str]) -> None:
    path.write_text(json.dumps(document(plan, images), indent=2) + "\n")


def read(path: Path, plan: Plan) -> dict[str, str]:
    """service -> digest reference for every service of `plan`; UserError naming what is wrong."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"cannot read the images file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}:{exc.lineno}: not valid JSON: {exc.msg}",
            details=["write it with: devkit build ENV --push --images-file FILE"],
        ) from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise UserError(f'{path}: expected an object with "images": {{service: image@sha256:...}}')
    if data.get("project") not in (None, plan.project):
        raise UserError(
            f'{path}: its images are of project "{data["project"]}", not "{plan.project}"'
        )
    services = [s.name for s in plan.services]
    unknown = sorted(set(images) - set(services))
    missing = [s for s in services if s not in images]
    problems = [
        f'{name}: "{ref}" is not a reference by digest (repository@sha256:...)'
        for name, ref in sorted(images.items())
        if not isinstance(ref, str) or not _DIGEST_REF.match(ref)
    ]
    problems += [f'"{name}" is not a service of {plan.environment}' for name in unknown]
    problems += [f'no image for service "{name}"' for name in missing]
    if problems:
        raise UserError(
            f"{path}: {problems[0]}",
            details=[*problems[1:], f"services of {plan.environment}: {', '.join(services)}"],
        )
    return {name: str(images[name]) for name in services}
