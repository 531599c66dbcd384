"""`devkit up`, `status`, `logs`, `exec`, `down` on the real engine, with a small two-service project."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import docker
import pytest

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker

BLUEPRINT = """
from devkit import Blueprint, Build, Docker, Http, Port
app = Blueprint("{name}")
web = app.service("web", build=Build("web"), ports={{"http": Port(8000{host})}},
                  health=Http("/", port="http", interval=1))
side = app.service("side", build=Build("side"), depends_on=[web])
app.group("front", [web])
app.environment("local", Docker())
"""
WEB_DOCKERFILE = """
FROM python:3.11-slim
COPY index.html /srv/
CMD ["python3", "-u", "-m", "http.server", "8000", "--directory", "/srv"]
"""
SIDE_DOCKERFILE = """
FROM python:3.11-slim
COPY main.py /srv/
CMD ["python3", "-u", "/srv/main.py"]
"""


def small(project: Callable[[str], Project], host_port: int | None = None) -> Project:
    p = project("demo")
    p.write(
        "blueprint.py",
        BLUEPRINT.format(name=p.name, host=f", host={host_port}" if host_port else ""),
    )
    p.write("web/Dockerfile", WEB_DOCKERFILE)
    p.write("web/index.html", "hello v1\n")
    p.write("side/Dockerfile", SIDE_DOCKERFILE)
    p.write("side/main.py", "import time\nprint('side is up')\ntime.sleep(10**6)\n")
    return p


def ids(client: docker.DockerClient, p: Project) -> dict[str, str]:
    found = client.containers.list(all=True, filters={"label": f"dev.devkit.project={p.name}"})
    return {c.labels["dev.devkit.service"]: c.id or "" for c in found}


def web_url(p: Project) -> str:
    status = json.loads(p.devkit("status", "--json").stdout)
    (row,) = [s for s in status["services"] if s["service"] == "web"]
    return f"http://{row['ports']['8000/tcp']}/"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_up_builds_starts_in_order_and_reports(project, docker_client) -> None:
    p = small(project)
    result = p.devkit("up", "--detach", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["built"] == ["side", "web"]
    assert sorted(doc["created"]) == ["side", "web"]
    web = next(s for s in doc["services"] if s["service"] == "web")
    assert web["ports"]["8000/tcp"].startswith("127.0.0.1:")
    assert get(web_url(p)) == "hello v1\n"
    progress = re.sub(r"\s+│", " │", result.stderr)  # service names are padded to one width
    assert progress.index("web │ ready in") < progress.index("side │ created")  # gated on health
    assert "FROM devkit-local/python:3.11-bookworm" in result.stderr  # the image map applied
    labels = docker_client.containers.get(f"{p.name}-local-web").labels
    assert labels["dev.devkit.project"] == p.name and labels["dev.devkit.env"] == "local"
    assert labels["dev.devkit.service"] == "web" and labels["dev.devkit.spec-hash"]


def test_second_up_rebuilds_nothing_and_recreates_nothing(project, docker_client) -> None:
    p = small(project)
    assert p.devkit("up", "-d").code == 0
    before = ids(docker_client, p)
    again = p.devkit("up", "-d", "--json")
    assert again.code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["built"] == [] and doc["created"] == [] and doc["replaced"] == []
    assert sorted(doc["unchanged"]) == ["side", "web"]
    assert ids(docker_client, p) == before


def test_code_change_rebuilds_and_replaces_only_that_service(project, docker_client) -> None:
    p = small(project)
    assert p.devkit("up", "-d").code == 0
    before = ids(docker_client, p)
    url = web_url(p)
    p.write("web/index.html", "hello v2\n")
    result = p.devkit("up", "-d", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["built"] == ["web"] and doc["replaced"] == ["web"]
    after = ids(docker_client, p)
    assert after["side"] == before["side"]
    assert after["web"] != before["web"]
    assert web_url(p) == url  # the replacement keeps the host port the engine had assigned
    assert get(url) == "hello v2\n"


def test_up_named_service_or_group_starts_only_it_and_its_dependencies(
    project, docker_client
) -> None:
    p = small(project)
    result = p.devkit("up", "-d", "front")
    assert result.code == 0, result.stderr
    assert set(ids(docker_client, p)) == {"web"}
    assert p.devkit("up", "-d", "side").code == 0
    assert set(ids(docker_client, p)) == {"web", "side"}
    unknown = p.devkit("up", "-d", "nope")
    assert unknown.code == 2
    assert '"nope" is neither a service nor a group' in unknown.stderr


def test_logs_status_and_exec(project) -> None:
    p = small(project)
    assert p.devkit("up", "-d").code == 0
    deadline = time.monotonic() + 20
    logs = p.devkit("logs", "side")
    while "side is up" not in logs.stdout and time.monotonic() < deadline:
        time.sleep(0.3)
        logs = p.devkit("logs", "side")
    assert re.search(r"^side\s+│ side is up$", logs.stdout, re.MULTILINE)
    status = p.devkit("status")
    assert status.code == 0
    assert re.search(r"^web\s+running\s+(healthy|starting)", status.stdout, re.MULTILINE)
    done = p.devkit("exec", "web", "--", "cat", "/srv/index.html")
    assert done.code == 0 and done.stdout == "hello v1\n"
    failed = p.devkit("exec", "web", "--", "sh", "-c", "exit 7")
    assert failed.code == 7


def test_down_removes_everything_it_created_and_keeps_named_volumes(project, docker_client) -> None:
    p = small(project)
    p.write(
        "blueprint.py",
        (p.root / "blueprint.py")
        .read_text()
        .replace("depends_on=[web])", 'depends_on=[web], volumes={"data": "/data"})'),
    )
    assert p.devkit("up", "-d").code == 0
    flt = {"label": f"dev.devkit.project={p.name}"}
    assert docker_client.volumes.list(filters=flt)
    down = p.devkit("down")
    assert down.code == 0, down.stderr
    assert "named volumes kept" in down.stderr
    assert docker_client.containers.list(all=True, filters=flt) == []
    assert docker_client.networks.list(filters=flt) == []
    assert [v.name for v in docker_client.volumes.list(filters=flt)] == [
        f"{p.name}-local-side-data"
    ]
    assert p.devkit("down", "--volumes").code == 0
    assert docker_client.volumes.list(filters=flt) == []
    again = p.devkit("down")
    assert again.code == 0
    assert "is not up: nothing to remove" in again.stderr


def test_declared_host_port_in_use_is_refused_before_anything_changes(
    project, docker_client
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        p = small(project, host_port=port)
        result = p.devkit("up", "-d")
    assert result.code == 1
    assert f'service "web": host port {port}/tcp is already in use on 127.0.0.1' in result.stderr
    assert "nothing was changed" in result.stderr
    assert ids(docker_client, p) == {}


def test_service_that_never_gets_healthy_shows_its_logs_and_stays_inspectable(
    project, docker_client
) -> None:
    p = small(project)
    p.write(
        "web/Dockerfile", WEB_DOCKERFILE.replace('"8000"', '"8001"').replace("CMD", "RUN echo\nCMD")
    )
    result = p.devkit("up", "-d", "--timeout", "4")
    assert result.code == 1
    assert 'service "web" did not become healthy within 4s' in result.stderr
    assert "Serving HTTP on 0.0.0.0 port 8001" in result.stderr  # its last log lines
    assert "Traceback" not in result.stderr
    assert set(ids(docker_client, p)) == {"web"}  # side never started; web is left to inspect
    assert p.devkit("down").code == 0
    assert ids(docker_client, p) == {}


def test_container_that_crashes_at_start_is_reported_with_its_exit_code(project) -> None:
    p = small(project)
    p.write("side/main.py", "import sys\nprint('cannot start: no config')\nsys.exit(3)\n")
    result = p.devkit("up", "-d")
    assert result.code == 1
    assert 'service "side" exited with code 3 while starting' in result.stderr
    assert "cannot start: no config" in result.stderr


def test_failing_build_names_the_step_and_starts_nothing(project, docker_client) -> None:
    p = small(project)
    p.write(
        "side/Dockerfile",
        SIDE_DOCKERFILE.replace("COPY main.py /srv/", "RUN echo broken >&2 && exit 4"),
    )
    result = p.devkit("up", "-d")
    assert result.code == 1
    assert 'build of "side" failed at Step 2/3 : RUN echo broken >&2 && exit 4' in result.stderr
    assert "returned a non-zero code: 4" in result.stderr
    assert ids(docker_client, p) == {}


def test_engine_not_running_says_how_to_start_it(project) -> None:
    p = small(project)
    p.env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    result = p.devkit("up", "-d")
    assert result.code == 1
    assert "cannot reach the Docker engine" in result.stderr
    assert "start it" in result.stderr and "Traceback" not in result.stderr


def test_missing_secret_is_refused_before_anything_changes(shop, docker_client) -> None:
    del shop.env["SHOP_DB_PASSWORD"]
    result = shop.devkit("up", "-d")
    assert result.code == 2
    assert "secret without a value: SHOP_DB_PASSWORD" in result.stderr
    assert ids(docker_client, shop) == {}


def test_up_killed_halfway_converges_when_run_again(project, docker_client) -> None:
    p = small(project)
    assert p.devkit("up", "-d", "web").code == 0  # images built; web exists
    p.write("side/main.py", "import time\nprint('side v2')\ntime.sleep(10**6)\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "up", "-d"], cwd=p.root, env=p.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "side" not in ids(docker_client, p):
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    result = p.devkit("up", "-d", "--json")
    assert result.code == 0, result.stderr
    states = {
        c.labels["dev.devkit.service"]: c.status
        for c in docker_client.containers.list(
            all=True, filters={"label": f"dev.devkit.project={p.name}"}
        )
    }
    assert states == {"web": "running", "side": "running"}
