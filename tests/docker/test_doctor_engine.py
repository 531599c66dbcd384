"""`devkit doctor` against the real engine: a healthy machine passes, exit 0."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, run_devkit

pytestmark = pytest.mark.docker


def test_healthy_machine_passes_every_check(
    docker_client: object, write_blueprint: Callable[[str], Path]
) -> None:
    file = write_blueprint(
        """
        from devkit import Blueprint, Docker, Sync
        app = Blueprint("doctored")
        app.service("api", image="api:1", sync=[Sync("app", "/srv/app")])
        app.environment("local", Docker())
        """
    )
    (file.parent / "app" / "pkg").mkdir(parents=True)

    human: Run = run_devkit("doctor", cwd=file.parent)
    result = run_devkit("doctor", "--json", cwd=file.parent)

    assert human.code == 0, human.stdout + human.stderr
    assert 'nothing blocks the dev loop of "local"' in human.stdout
    document = json.loads(result.stdout)
    assert result.code == 0
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["engine"]["status"] == "ok"
    assert "Docker Engine" in checks["engine"]["summary"]
    assert checks["file watching"]["status"] == "ok"
    assert "raised its event in" in checks["file watching"]["summary"]
    assert "2 directories under 1 watched path;" in checks["inotify watches"]["summary"]
    assert document["ok"] is True
