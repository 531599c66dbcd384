"""kind clusters: create, reuse, delete, and load images into their nodes (the kind CLI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
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


_RECORD = "/kind/devkit-loaded-images"  # "reference image-id" lines, written after each load


def _loaded(node: str) -> dict[str, str]:
    """reference -> image id of what devkit loaded into the node before."""
    done = subprocess.run(
        ["docker", "exec", node, "sh", "-c", f"cat {_RECORD} 2>/dev/null || true"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = {}
    for line in done.stdout.splitlines():
        ref, _, image_id = line.partition(" ")
        found[ref] = image_id
    return found


def _remember(node: str, ref: str, image_id: str) -> None:
    script = (
        f"grep -v '^{ref} ' {_RECORD} > {_RECORD}.new 2>/dev/null; "
        f"echo '{ref} {image_id}' >> {_RECORD}.new && mv {_RECORD}.new {_RECORD}"
    )
    subprocess.run(
        ["docker", "exec", node, "sh", "-c", script],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip


def load(name: str, images: Mapping[str, str], on_line: Callable[[str], None]) -> list[str]:
    """`kind load docker-image` each image (reference -> local image id) a node does not have
    as that very image; returns those loaded."""
    members = nodes(name)
    have = [_loaded(node) for node in members]
    loaded = []
    for ref, image_id in sorted(images.items()):
        if all(record.get(ref) == image_id for record in have):
            continue
        on_line(f"kind load docker-image {ref}")
        _run(["load", "docker-image", ref, "--name", name], f"loading {ref} into {name}")
        for node in members:
            _remember(node, ref, image_id)
        loaded.append(ref)
    return loaded
