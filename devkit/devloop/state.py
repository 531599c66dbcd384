"""What a running watcher (`devkit watch`, `devkit up` in the foreground) serves, for `devkit
status`: its port-forwards and its pid, in the cache directory. Derived data: a watcher whose
pid is gone counts as not running."""

from __future__ import annotations

import json
import os
from pathlib import Path

from devkit.project.cache import cache_dir
from devkit.targets.base import Forward


def _file(project: str, env: str) -> Path:
    return cache_dir() / "watchers" / f"{project}-{env}.json"


def announce(project: str, env: str, forwards: list[Forward]) -> None:
    """Say that this process watches the environment and forwards these ports."""
    path = _file(project, env)
    data = {"pid": os.getpid(),
            "forwards": {f"{f.service}.{f.port_name}": f"127.0.0.1:{f.local_port}"
                         for f in forwards}}  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    except OSError:
        pass  # status then shows no forwards; nothing else depends on it


def withdraw(project: str, env: str) -> None:
    path = _file(project, env)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_forwards(project: str, env: str) -> dict[str, str]:
    """service.port -> 127.0.0.1:PORT of the watcher that runs now (empty when none does)."""
    try:
        data = json.loads(_file(project, env).read_text())
        os.kill(int(data["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    forwards = data.get("forwards")
    return dict(forwards) if isinstance(forwards, dict) else {}
