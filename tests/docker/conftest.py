"""Real-engine fixtures: the Docker engine that tests/setup/engine.sh started, and its images."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException

from devkit.planning.images import parse_rules
from tests.conftest import REPO, Run, run_devkit

IMAGE_MAP_FILE = REPO / "tests" / "setup" / "image-map.txt"
IMAGE_MAP = IMAGE_MAP_FILE.read_text()
# What this offline machine has instead of the images real users pull (tests/setup/images.sh).
# postgres is 15 here: Debian bookworm has no 16, and the substitute never pretends otherwise.
LOCAL_IMAGES = parse_rules(IMAGE_MAP, source=str(IMAGE_MAP_FILE))
PYTHON = LOCAL_IMAGES["python:3.11-slim"]
TEST_LABEL = "dev.devkit.test"
SESSION = uuid.uuid4().hex[:12]
"""This test session's value of TEST_LABEL: a session removes only its own containers, so two
sessions on one engine (a developer's and CI's) never pull containers from under each other."""


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The engine; the run fails (never skips) when it is not there."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        pytest.fail(
            f"no Docker engine answers ({exc}); start one with `bash tests/setup/engine.sh`"
        )
    for image in LOCAL_IMAGES.values():
        try:
            client.images.get(image)
        except DockerException:
            pytest.fail(f"image {image} is missing; build it with `bash tests/setup/images.sh`")
    yield client
    for container in client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={SESSION}"}):
        container.remove(force=True, v=True)
    client.close()


@dataclass
class Project:
    """A blueprint in its own directory, with a project name no other test uses."""

    root: Path
    name: str
    env: dict[str, str]

    def devkit(self, *args: str, timeout: float = 300) -> Run:
        return run_devkit(*args, cwd=self.root, env=self.env, timeout=timeout)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path


def _sweep(client: docker.DockerClient, project: str) -> None:
    flt = {"label": f"dev.devkit.project={project}"}
    if client.info().get("Swarm", {}).get("ControlAvailable"):
        for service in client.services.list(filters=flt):
            service.remove()
        for config in client.configs.list(filters=flt):
            config.remove()
    # a swarm task's container may go away on its own meanwhile
    for container in client.containers.list(all=True, filters=flt, ignore_removed=True):
        _removed(lambda c=container: c.remove(force=True, v=True))
    for network in client.networks.list(filters=flt):
        _removed(network.remove)
    if client.info().get("Swarm", {}).get("ControlAvailable"):
        for secret in client.secrets.list(filters=flt):
            secret.remove()
    for volume in client.volumes.list(filters=flt):
        volume.remove(force=True)
    # The tags as listed, not each image inspected: the other test process removes its own
    # images meanwhile.
    for image in client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(f"{project}-") or f"/{project}-" in tag:
                _removed(lambda tag=tag: client.images.remove(tag))


def _removed(remove: Callable[[], object], tries: int = 60) -> None:
    """Remove something the engine may still hold on to for a moment (a swarm network)."""
    for _ in range(tries):
        try:
            remove()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            time.sleep(0.5)
    remove()


@pytest.fixture
def project(
    docker_client: docker.DockerClient, tmp_path: Path
) -> Iterator[Callable[[str], Project]]:
    """Make projects (`project("demo")` -> a unique name); everything they create is removed."""
    made: list[Project] = []

    def make(base: str) -> Project:
        name = f"{base}-{uuid.uuid4().hex[:6]}"
        root = tmp_path / name
        root.mkdir()
        env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1"}
        made.append(Project(root, name, env))
        return made[-1]

    yield make
    for p in made:
        _sweep(docker_client, p.name)


@pytest.fixture
def shop(project: Callable[[str], Project]) -> Project:
    """A copy of examples/shop under its own project name, with a password for its database."""
    p = project("shop")
    source = REPO / "examples" / "shop"
    for rel in ("blueprint.py", "services"):
        if (source / rel).is_dir():
            shutil.copytree(
                source / rel, p.root / rel, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy(source / rel, p.root / rel)
    text = (
        (p.root / "blueprint.py").read_text().replace('Blueprint("shop")', f'Blueprint("{p.name}")')
    )
    (p.root / "blueprint.py").write_text(text)
    p.env["SHOP_DB_PASSWORD"] = "test-only-" + uuid.uuid4().hex[:8]
    return p


REGISTRY = "127.0.0.1:5000"


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """The engine as a single-node swarm manager, and the registry (tests/setup/registry.sh).

    A swarm this fixture made is left again at the end; one that was there is kept.
    """
    import urllib.request

    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except OSError as exc:
        pytest.fail(f"no registry answers on {REGISTRY} ({exc}); run tests/setup/registry.sh")
    made = False
    if docker_client.info().get("Swarm", {}).get("LocalNodeState") != "active":
        subprocess.run(
            ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made = True
    yield docker_client
    if made:
        subprocess.run(
            ["docker", "swarm", "leave", "--force"], check=False, capture_output=True, timeout=120
        )


# A pre-deploy job in the deploy tests' web image (tests/docker/test_swarm.py, tests/k8s/): it
# says which image it runs in (VERSION), with web's secret, and what web serves at that moment;
# an image whose VERSION starts with "fail-job" exits 3.
MIGRATE_JOB = """Job(
    "migrate",
    ["python", "-c", "import os, sys, time, pathlib, urllib.request\\n"
     "version = pathlib.Path('/app/VERSION').read_text().strip()\\n"
     "for attempt in range(20):  # a policy controller admits a new pod within a second\\n"
     "    try:\\n"
     "        body = urllib.request.urlopen('http://web:8000/', timeout=5).read().decode()\\n"
     "        break\\n"
     "    except OSError:\\n"
     "        if attempt == 19: raise\\n"
     "        time.sleep(0.25)\\n"
     "print(f'job {version} {os.environ[\\"GREETING\\"]} while web serves {body}')\\n"
     "sys.exit(3 if version.startswith('fail-job') else 0)"],
    service="web", timeout=60,
)"""


# The web app the deploy tests ship (Swarm and Kubernetes alike): it answers "<VERSION>
# <GREETING>" (VERSION from a file in the image, GREETING from a secret), and its /healthz
# fails when VERSION is "broken".
APP = """
import http.server, os, pathlib
VERSION = pathlib.Path("/app/VERSION").read_text().strip()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        broken = self.path == "/healthz" and VERSION == "broken"
        self.send_response(500 if broken else 200)
        self.end_headers()
        self.wfile.write(f"{VERSION} {os.environ['GREETING']}".encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""
