"""Test sessions never leave containers behind: not when they end, not when they are stopped
with SIGTERM, and not for long when they are killed outright: the next session sweeps them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import docker
import pytest

from devkit.testing import sweep_stale
from devkit.testing.session import OWNER, SESSION, Owner, current_owner, process_start

pytestmark = pytest.mark.docker

BLUEPRINT = """
from blueprints import redis
from devkit import Blueprint, Docker
app = Blueprint("{name}")
app.use(redis(version="7"))
app.environment("local", Docker())
"""

HANGS = """
import pathlib, time

def test_hangs(devkit_stack):
    pathlib.Path("started").write_text(devkit_stack.session)
    time.sleep(300)
"""


def make_project(pytester: pytest.Pytester) -> str:
    name = f"sweep-{uuid.uuid4().hex[:6]}"
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ndevkit_blueprint = "blueprint.py"\n'
        'addopts = "-p no:cacheprovider"\n'
    )
    (pytester.path / "blueprint.py").write_text(textwrap.dedent(BLUEPRINT).format(name=name))
    return name


def start_hanging_session(pytester: pytest.Pytester) -> tuple[subprocess.Popen[bytes], str]:
    """A pytest process whose test holds the session open; returns it and its session id."""
    (pytester.path / "hang").mkdir()
    (pytester.path / "hang" / "test_hang.py").write_text(HANGS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "hang"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    marker = pytester.path / "started"
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the session ended before its test started:\n{out}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the session's dependencies were not ready within 120 s")
        time.sleep(0.1)
    return proc, marker.read_text()


def of_session(client: docker.DockerClient, session: str) -> list[str]:
    found = client.containers.list(all=True, filters={"label": f"{SESSION}={session}"})
    return [c.name or "" for c in found]


def networks_of(client: docker.DockerClient, session: str) -> list[str]:
    return [n.name or "" for n in client.networks.list(filters={"label": f"{SESSION}={session}"})]


def test_a_killed_session_is_swept_by_the_next_one(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    name = make_project(pytester)
    proc, killed = start_hanging_session(pytester)
    assert len(of_session(docker_client, killed)) == 1

    os.kill(proc.pid, signal.SIGKILL)  # no finalizer, no atexit: nothing of it cleans up
    proc.wait(timeout=30)
    assert len(of_session(docker_client, killed)) == 1, "SIGKILL left the container running"
    assert len(networks_of(docker_client, killed)) == 1

    pytester.makepyfile(test_next="def test_next(devkit_stack):\n    pass\n")
    result = pytester.runpytest("test_next.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["devkit: removed 1 containers of 1 interrupted test sessions"])
    assert of_session(docker_client, killed) == []
    assert networks_of(docker_client, killed) == []
    project = {"label": f"dev.devkit.project={name}"}
    assert docker_client.containers.list(all=True, filters=project) == []


def test_sigterm_lets_the_session_remove_its_containers_itself(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    make_project(pytester)
    proc, session = start_hanging_session(pytester)
    assert len(of_session(docker_client, session)) == 1

    os.kill(proc.pid, signal.SIGTERM)  # what a cancelled CI job sends
    proc.wait(timeout=60)
    assert of_session(docker_client, session) == []
    assert networks_of(docker_client, session) == []


def test_the_sweep_leaves_live_sessions_and_other_hosts_alone(
    docker_client: docker.DockerClient,
) -> None:
    gone = subprocess.Popen(["true"])
    gone_started = process_start(gone.pid) or "?"
    gone.wait()
    me = current_owner()
    owners = {
        "dead": Owner(me.host, gone.pid, gone_started),
        "live": me,
        "remote": Owner("some-other-host", gone.pid, gone_started),
    }
    made: dict[str, str] = {}
    try:
        for kind, owner in owners.items():
            session = f"{kind}-{uuid.uuid4().hex[:8]}"
            docker_client.containers.run(
                "devkit-local/python:3.11-bookworm",
                ["sleep", "120"],
                detach=True,
                init=True,
                labels={SESSION: session, OWNER: str(owner), "dev.devkit.test": "sweep"},
            )
            made[kind] = session
        swept = sweep_stale(docker_client, me.host)
        assert made["dead"] in swept.sessions
        assert of_session(docker_client, made["dead"]) == []
        assert len(of_session(docker_client, made["live"])) == 1
        assert len(of_session(docker_client, made["remote"])) == 1
    finally:
        for session in made.values():
            for container in docker_client.containers.list(
                all=True, filters={"label": f"{SESSION}={session}"}
            ):
                container.remove(force=True)
