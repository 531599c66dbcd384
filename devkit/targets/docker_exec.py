"""`docker exec` attached to this terminal, in place of devkit: the Docker and Swarm targets'
`devkit exec` (the docker client handles the terminal, signals and the exit code)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import NoReturn

from devkit.errors import EngineError


def exec_attached(container: str, command: list[str], *, interactive: bool) -> NoReturn:
    """Replace this process with `docker exec -i[t] CONTAINER COMMAND...`."""
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise EngineError("devkit exec needs the docker command-line client on PATH")
    flags = ["-i"] + (["-t"] if interactive else [])
    sys.stdout.flush()
    os.execv(docker_cli, ["docker", "exec", *flags, container, *command])  # noqa: S606
