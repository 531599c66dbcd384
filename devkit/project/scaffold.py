"""What `devkit init` writes: a blueprint.py for a repo that already has Dockerfiles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from devkit.errors import UserError

_EXPOSE = re.compile(r"^\s*EXPOSE\s+(.+)$", re.IGNORECASE | re.MULTILINE)
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", "dist", "build"}
_MAX_DEPTH = 3


@dataclass(frozen=True)
class FoundService:
    """A service inferred from one Dockerfile."""

    name: str
    var: str
    context: str
    dockerfile: str
    ports: tuple[tuple[str, int], ...]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug or "app")[:63].strip("-")


def exposed_ports(dockerfile: Path) -> list[int]:
    """The TCP ports a Dockerfile EXPOSEs (variables and ranges are skipped)."""
    ports: list[int] = []
    for line in _EXPOSE.findall(dockerfile.read_text(errors="replace")):
        for item in line.split():
            number = item.split("/")[0]
            if number.isdigit() and 1 <= int(number) <= 65535 and not item.endswith("/udp"):
                ports.append(int(number))
    return ports


def find_dockerfiles(root: Path) -> list[Path]:
    """Dockerfiles under `root`, a few levels deep, skipping vendored and build folders."""
    found: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and entry.name not in _SKIP_DIRS and depth < _MAX_DEPTH:
                walk(entry, depth + 1)
            elif entry.is_file() and entry.name == "Dockerfile":
                found.append(entry)

    walk(root, 0)
    return found


def infer_services(root: Path) -> list[FoundService]:
    """One service per Dockerfile, named after its folder (the repo's name for a top-level one)."""
    dockerfiles = find_dockerfiles(root)
    if not dockerfiles:
        raise UserError(
            f"no Dockerfile found in {root} (searched {_MAX_DEPTH} levels deep)",
            details=[
                "devkit init scaffolds a blueprint for a repo with a Dockerfile; add one first"
            ],
        )
    services: list[FoundService] = []
    seen: set[str] = set()
    for dockerfile in dockerfiles:
        context = dockerfile.parent
        name = _slug(context.name if context != root else root.name)
        while name in seen:
            name = _slug(f"{name}-2")
        seen.add(name)
        numbers = exposed_ports(dockerfile)
        ports = tuple(
            ("http" if i == 0 else f"port{number}", number) for i, number in enumerate(numbers)
        )
        rel = context.relative_to(root).as_posix()
        services.append(
            FoundService(
                name=name,
                var=name.replace("-", "_")
                if name[0].isalpha()
                else f"svc_{name.replace('-', '_')}",
                context=rel,
                dockerfile="Dockerfile",
                ports=ports,
            )
        )
    return services


def render_blueprint(project: str, services: list[FoundService]) -> str:
    """The text of blueprint.py (jinja2 template devkit/project/templates/blueprint.py.j2)."""
    env = Environment(
        loader=PackageLoader("devkit.project", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders Python source, not HTML
    )
    template = env.get_template("blueprint.py.j2")
    return template.render(
        project=_slug(project),
        services=services,
        any_http=any(s.ports for s in services),
        any_sync=False,
    )
