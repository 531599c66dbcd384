"""Backups on Docker: commands in a service's container (exec), their bytes streamed out or in,
and a helper beside a stopped service that has its volumes (file-level copies)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.utils.socket import frames_iter

from devkit.errors import EngineError
from devkit.targets import labels
from devkit.targets.outcome import Progress

_STDERR_KEPT = 4096
_HELPER_LIFETIME = "21600"  # seconds: a helper left by a killed devkit ends by itself


def _failed(what: str, command: Sequence[str], code: object, stderr: bytes) -> EngineError:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return EngineError(
        f"{what}: the command exited with {code}",
        details=[*(f"  {line}" for line in lines[-10:])] or ["(no error output)"],
    )


def exec_dump(
    client: docker.DockerClient, container: str, command: Sequence[str], what: str
) -> Iterator[bytes]:
    """`command`'s stdout in `container`, as it comes; EngineError when it exits non-zero."""
    api = client.api
    exec_id = api.exec_create(container, list(command), stdout=True, stderr=True)["Id"]
    stderr = bytearray()
    for out, err in api.exec_start(exec_id, stream=True, demux=True):
        if err:
            stderr += err
            del stderr[:-_STDERR_KEPT]
        if out:
            yield out
    code = api.exec_inspect(exec_id).get("ExitCode")
    if code != 0:
        raise _failed(what, command, code, bytes(stderr))


def exec_load(
    client: docker.DockerClient,
    container: str,
    command: Sequence[str],
    chunks: Iterable[bytes],
    what: str,
) -> None:
    """Run `command` in `container` with `chunks` on its stdin; EngineError when it exits
    non-zero. Its output is read while the input is written, so neither side blocks."""
    api = client.api
    exec_id = api.exec_create(container, list(command), stdin=True, stdout=True, stderr=True)["Id"]
    stream: Any = api.exec_start(exec_id, socket=True)
    raw: socket.socket = getattr(stream, "_sock", stream)
    stderr = bytearray()

    def drain() -> None:
        try:
            for kind, data in frames_iter(stream, False):
                if kind == 2:
                    stderr.extend(data)
                    del stderr[:-_STDERR_KEPT]
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        for chunk in chunks:
            raw.sendall(chunk)
        raw.shutdown(socket.SHUT_WR)
    except OSError as exc:  # the command ended early: its exit code and stderr say why
        stderr.extend(f"(input not taken: {exc})".encode())
    reader.join()
    stream.close()
    code = _exit_code(client, exec_id)
    if code != 0:
        raise _failed(what, command, code, bytes(stderr))


def _exit_code(client: docker.DockerClient, exec_id: str) -> object:
    for _ in range(100):  # the exec is reported done a moment after its output ends
        found = client.api.exec_inspect(exec_id)
        if not found.get("Running"):
            return found.get("ExitCode")
        time.sleep(0.1)
    return "unknown (still running)"


class DockerVolumes:
    """Commands in a helper container with a stopped service's volumes (VolumeAccess)."""

    def __init__(self, client: docker.DockerClient, helper: str, service: str) -> None:
        self.client, self.helper, self.service = client, helper, service

    def dump(self, command: Sequence[str]) -> Iterator[bytes]:
        return exec_dump(self.client, self.helper, command, f'service "{self.service}"')

    def load(self, command: Sequence[str], chunks: Iterable[bytes]) -> None:
        exec_load(self.client, self.helper, command, chunks, f'service "{self.service}"')


@contextmanager
def stopped_with_helper(
    client: docker.DockerClient,
    container: Container,
    stack: tuple[str, str],
    *,
    progress: Progress,
    wait_ready: Callable[[Container], None],
) -> Iterator[DockerVolumes]:
    """The service's container stopped while inside, a helper of the same image (as root, no
    network) with its volumes; after: the helper removed, the service started again and
    waited for, if it ran before."""
    project, env = stack
    service = container.labels.get(labels.SERVICE, "")
    was_running = container.status == "running"
    if was_running:
        progress(service, "stop", "for a consistent copy of its volumes")
        container.stop(timeout=30)
    try:
        try:
            helper = client.containers.run(
                container.attrs["Config"]["Image"],
                entrypoint=["sleep", _HELPER_LIFETIME],
                command=[],
                user="0",
                volumes_from=[container.id or ""],
                network_disabled=True,
                labels={**labels.stack_labels(project, env), labels.ROLE: "backup"},
                detach=True,
            )
        except APIError as exc:
            raise EngineError(
                f'service "{service}": cannot start a helper with its volumes',
                details=[(exc.explanation or str(exc))[:300],
                         "a volume copy needs sleep, sh, find and tar in the service's image"],
            ) from None  # fmt: skip
        try:
            yield DockerVolumes(client, helper.id or "", service)
        finally:
            with suppress(NotFound):
                helper.remove(force=True)
    finally:
        if was_running:
            progress(service, "start", "")
            container.start()
            wait_ready(container)
