"""Shared fixtures: blueprints written to a temporary directory, and the CLI run for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Tests interrupt devkit with Ctrl-C (SIGINT) as a user would. A session started as a background
# job of a non-interactive shell has SIGINT ignored, which every child would inherit (and Python
# then installs no KeyboardInterrupt): take SIGINT back, so children start with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "examples" / "shop"

# What tests/run exports, for runs that start pytest directly: this machine's image substitutes
# (tests/setup/images.sh) and testcontainers without its reaper image, which cannot be pulled
# here (devkit.testing cleans up itself). Read before testcontainers is first imported.
os.environ.setdefault("DEVKIT_IMAGE_MAP", (REPO / "tests" / "setup" / "image-map.txt").read_text())
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")

pytest_plugins = ["pytester"]  # the test plugin's own tests run pytest sessions of their own


def shared_group(nodeid: str) -> str | None:
    """The unit of tests that share engine-wide things, and so run in one xdist worker.

    The k8s tests share the kind testbed and the kwok process that drives its fake nodes; the
    swarm tests share the engine's swarm, which the fixture that made it leaves at the end. They
    are one unit, swarm first (collection order), as in a one-process run: a swarm's routing
    mesh set up while the testbed's clusters came up once never answered on its published
    ports. Other tests make everything they use under names of their own.
    """
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/k8s/"):
        return "engine-wide"
    if path.startswith("tests/docker/") and "swarm" in path.rsplit("/", 1)[-1]:
        return "engine-wide"
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` (tests/run): a test module per unit, each shared group one unit."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedGroupScheduling(LoadScopeScheduling):
        # Units go out largest first, so the k8s tests (the longest unit) start at once.
        def _split_scope(self, nodeid: str) -> str:
            return shared_group(nodeid) or super()._split_scope(nodeid)

    return SharedGroupScheduling(config, log)


@dataclass
class Run:
    """The outcome of one `devkit` process."""

    code: int
    stdout: str
    stderr: str


def run_devkit(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> Run:
    """Run the CLI as a user does: a separate process, its exit code and both streams."""
    proc = subprocess.run(
        [sys.executable, "-m", "devkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def devkit() -> Callable[..., Run]:
    return run_devkit


@pytest.fixture
def write_blueprint(tmp_path: Path) -> Callable[[str], Path]:
    """Write a blueprint.py (dedented) into a fresh directory and return that file."""

    def write(text: str) -> Path:
        path = tmp_path / "blueprint.py"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
