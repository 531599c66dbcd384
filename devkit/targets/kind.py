"""kind clusters: create, reuse, delete, and load images into their nodes (the kind CLI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from devkit.errors import EngineError, UserError

_TIMEOUT = 600


def binary() -> str:
    """The kind CLI: DEVKIT_KIND, else `kind` on PATH."""
    found = os.environ.get("DEVKIT_KIND") or shutil.which("kind")
    if not found:
        raise UserError(
            "kind is not installed (or not on PATH)",
            details=[
                "install it: https://kind.sigs.k8s.io/docs/user/quick-start/#installation, "
                "or set DEVKIT_KIND to its path"
            ],
        )
    return found


def _run(args: list[str], what: str, timeout: float = _TIMEOUT) -> str:
    try:
        done = subprocess.run(
            [binary(), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what} did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise EngineError(f"{what} failed", details=tail)
    return done.stdout


def clusters() -> list[str]:
    return [line for line in _run(["get", "clusters"], "kind get clusters").split() if line]


def create(name: str, *, node_image: str | None, config: Path | None, wait: int = 180) -> None:
    args = ["create", "cluster", "--name", name, "--wait", f"{wait}s"]
    if node_image:
        args += ["--image", node_image]
    if config:
        args += ["--config", str(config)]
    _run(args, f"creating kind cluster {name}", timeout=wait + 300)


def delete(name: str) -> None:
    _run(["delete", "cluster", "--name", name], f"deleting kind cluster {name}")


def nodes(name: str) -> list[str]:
    return _run(["get", "nodes", "--name", name], "kind get nodes").split()


def _loaded(node: str) -> set[str]:
    """Image references the node's containerd has (kind names local images docker.io/...)."""
    done = subprocess.run(
        ["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return set(done.stdout.split()) if done.returncode == 0 else set()


def _full(reference: str) -> str:
    first = reference.split("/", 1)[0]
    if "/" not in reference:
        return f"docker.io/library/{reference}"
    if "." in first or ":" in first or first == "localhost":
        return reference
    return f"docker.io/{reference}"


def load(name: str, images: Iterable[str], on_line: Callable[[str], None]) -> list[str]:
    """`kind load docker-image` each image a node lacks; returns those loaded.

    Built images are tagged by content, so a tag the node has is the same image.
    """
    have: set[str] | None = None
    for node in nodes(name):
        found = _loaded(node)
        have = found if have is None else have & found
    loaded = []
    for image in sorted(set(images)):
        if have is not None and _full(image) in have:
            continue
        on_line(f"kind load docker-image {image}")
        _run(["load", "docker-image", image, "--name", name], f"loading {image} into {name}")
        loaded.append(image)
    return loaded
