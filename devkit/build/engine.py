"""The connection to a Docker engine, with an error that says how to start one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker
from docker.errors import DockerException

from devkit.errors import EngineError


def connect(timeout: int = 120) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) names; EngineError if none."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise EngineError(
            "cannot reach the Docker engine",
            details=[
                str(exc).split("\n")[0][:300],
                "start it (e.g. `sudo systemctl start docker`, or `sudo dockerd &`), or point "
                "DOCKER_HOST at a running engine, then run the command again",
            ],
        ) from None
    return client


@contextmanager
def connected() -> Iterator[docker.DockerClient]:
    """A client of the engine for the length of a block, closed after."""
    client = connect()
    try:
        yield client
    finally:
        client.close()
