"""The live-sync loop keeps the saves it neither synced nor rebuilt, with why, for `status`."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest
from watchfiles import Change

from devkit import Blueprint, Build, Docker, Restart, Sync, plan
from devkit.devloop import skipped
from devkit.devloop.sync import LiveSync
from devkit.planning.images import ImageMap
from devkit.targets.docker.target import DockerTarget

pytestmark = pytest.mark.docker


def test_a_save_that_reaches_no_service_is_recorded_with_its_reason(
    docker_client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVKIT_CACHE", str(tmp_path / "cache"))
    for rel in ("api/Dockerfile", "api/app/main.py", "api/debug.log"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "api/.dockerignore").write_text("*.log\n")
    app = Blueprint("skips")
    app.service("api", build=Build("api"), sync=[Sync("api/app", "/srv/app", then=Restart())])
    app.environment("local", Docker())
    planned = plan(app, "local")
    session = DockerTarget(docker_client, "skips", "local").sync_session(
        planned, tmp_path, ImageMap(exact={}), {}
    )
    sync = LiveSync(
        planned, tmp_path, session=session, report=lambda *_: None, build_line=lambda *_: None,
    )  # fmt: skip

    # Nothing of the stack runs: a skipped save needs no container, and nothing is tried.
    sync._apply_changes({(Change.modified, str(tmp_path / "api/debug.log"))}, time.time())

    [entry] = skipped.recent("skips", "local")
    assert entry["path"] == "api/debug.log"
    assert entry["reason"] == (
        'api: build context api leaves it out of the image: pattern "*.log" of api/.dockerignore:1'
    )
    assert sync.results == []
