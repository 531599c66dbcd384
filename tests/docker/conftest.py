"""Real-engine fixtures: the Docker engine that tests/setup/engine.sh started, and its images."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from docker.errors import DockerException

# What this offline machine has instead of the images real users pull (tests/setup/images.sh).
# postgres is 15 here: Debian bookworm has no 16, and the substitute never pretends otherwise.
LOCAL_IMAGES = {
    "postgres:16": "devkit-local/postgres:15",
    "redis:7": "devkit-local/redis:7.0",
    "python:3.11-slim": "devkit-local/python:3.11-bookworm",
}
TEST_LABEL = "dev.devkit.test"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The engine; the run fails (never skips) when it is not there."""
    try:
        client = docker.from_env(timeout=60)
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
    for container in client.containers.list(all=True, filters={"label": TEST_LABEL}):
        container.remove(force=True, v=True)
    client.close()
