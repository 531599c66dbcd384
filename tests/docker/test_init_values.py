"""A secret read only when a volume is initialised, changed after the first `up`: refused before
anything changes, with the volume and both ways out."""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from tests.docker.conftest import PYTHON, Project

pytestmark = pytest.mark.docker

BLUEPRINT = """
from devkit import Blueprint, Docker, Secret
app = Blueprint("{name}")
app.service(
    "db", image="{image}", command=["sleep", "infinity"],
    env={{"DB_PASSWORD": Secret("DB_PASSWORD")}},
    volumes={{"data": {{"path": "/data", "init_env": ("DB_PASSWORD",)}}}},
)
app.environment("local", Docker())
"""


def test_changed_init_time_secret_is_refused_until_restored_or_the_volume_is_removed(
    project: Callable[[str], Project], docker_client: docker.DockerClient
) -> None:
    p = project("initvals")
    p.write("blueprint.py", BLUEPRINT.format(name=p.name, image=PYTHON))
    volume = f"{p.name}-local-db-data"
    p.env["DB_PASSWORD"] = "first"
    first = p.devkit("up", "-d")
    assert first.code == 0, first.stderr
    recorded = docker_client.volumes.get(volume).attrs["Labels"]
    assert "dev.devkit.init.DB_PASSWORD" in recorded
    assert "first" not in recorded["dev.devkit.init.DB_PASSWORD"]
    running = docker_client.containers.get(f"{p.name}-local-db").id

    p.env["DB_PASSWORD"] = "second"
    changed = p.devkit("up", "-d")

    assert changed.code == 2, changed.stderr
    assert changed.stderr.startswith(
        f'error: service "db": volume {volume} holds data initialised with another DB_PASSWORD'
    )
    assert "put back the value the data was made with" in changed.stderr
    assert "`devkit down -e local --volumes`" in changed.stderr
    assert docker_client.containers.get(f"{p.name}-local-db").id == running, "nothing changed"

    p.env["DB_PASSWORD"] = "first"
    assert p.devkit("up", "-d").code == 0

    assert p.devkit("down", "--volumes").code == 0
    p.env["DB_PASSWORD"] = "second"
    fresh = p.devkit("up", "-d")
    assert fresh.code == 0, fresh.stderr
