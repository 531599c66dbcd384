"""`devkit doctor` as a user runs it: each blocking problem found, named, and exit 1."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_devkit

BLUEPRINT = """\
from devkit import Blueprint, Docker, Kubernetes, Port
app = Blueprint("shop")
app.service("api", image="api:1", ports={"http": Port(8000, host=PORT)})
app.environment("local", Docker())
app.environment("staging", Kubernetes(context="staging"))
"""

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: other
  user: {token: "t"}
contexts:
- name: other
  context: {cluster: other, user: other}
current-context: other
"""


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on, on 127.0.0.1."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _project(tmp_path: Path, port: int) -> dict[str, str]:
    (tmp_path / "blueprint.py").write_text(BLUEPRINT.replace("PORT", str(port)))
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    return {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig")}


def _checks(stdout: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(stdout)["checks"]}


def test_dead_engine_fails_the_engine_check_and_exits_1(tmp_path: Path) -> None:
    env = {**_project(tmp_path, 18080), "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}

    result = run_devkit("doctor", cwd=tmp_path, env=env)

    assert result.code == 1, result.stderr
    assert "FAIL engine" in result.stdout
    assert f"cannot reach the Docker engine at unix://{tmp_path}/dead.sock" in result.stdout
    assert "DOCKER_HOST" in result.stdout
    assert 'problem blocks the dev loop of "local"' in result.stdout


def test_missing_context_of_the_environment_fails_and_lists_those_that_exist(
    tmp_path: Path,
) -> None:
    env = _project(tmp_path, 18080)

    result = run_devkit("doctor", "-e", "staging", "--json", cwd=tmp_path, env=env)

    assert result.code == 1, result.stderr
    check = _checks(result.stdout)["context staging"]
    assert check["status"] == "fail"
    assert 'names context "staging"' in check["summary"]
    assert "contexts there: other" in check["summary"]


def test_missing_context_of_another_environment_does_not_block_the_local_loop(
    tmp_path: Path,
) -> None:
    env = _project(tmp_path, 18080)
    result = run_devkit("doctor", "--json", cwd=tmp_path, env=env)
    assert _checks(result.stdout)["context staging"]["status"] == "warn"


def test_busy_pinned_port_fails_and_names_the_service(tmp_path: Path, busy_port: int) -> None:
    env = _project(tmp_path, busy_port)

    result = run_devkit("doctor", "--json", cwd=tmp_path, env=env)

    assert result.code == 1
    check = _checks(result.stdout)[f"port {busy_port}/tcp"]
    assert check["status"] == "fail"
    assert (
        f'"api" pins host port {busy_port}, which another process already uses' in check["summary"]
    )
    assert "ss -ltnp" in check["fix"]


def test_json_is_one_document_with_every_check(tmp_path: Path) -> None:
    env = {**_project(tmp_path, 18080), "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}

    result = run_devkit("doctor", "--json", cwd=tmp_path, env=env)

    document = json.loads(result.stdout)
    assert set(document) == {"project", "environment", "ok", "checks"}
    assert (document["project"], document["environment"], document["ok"]) == (
        "shop",
        "local",
        False,
    )
    for check in document["checks"]:
        assert set(check) == {"name", "status", "summary", "fix"}
        assert check["status"] in ("ok", "warn", "fail")
        assert (check["fix"] is None) == (check["status"] == "ok")
    names = [c["name"] for c in document["checks"]]
    assert names[:3] == ["engine", "file watching", "inotify watches"]
    assert "context staging" in names and "port 18080/tcp" in names
    assert not list(tmp_path.glob(".devkit-doctor-*")), "the self-test leaves no file behind"
