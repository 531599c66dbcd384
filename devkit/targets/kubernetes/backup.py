"""Backups on a cluster: commands in a ready pod of a service over the exec API, their bytes
streamed out (a dump) or in (a restore).

The exec websocket's stdin cannot always be closed (only the v5 protocol can), so a command
that reads a part is given one that stops by itself (`head -c SIZE`, see records/backup.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from kubernetes.stream import stream

from devkit.errors import EngineError
from devkit.targets.kubernetes.api import KubeApi

_STDOUT, _STDERR = 1, 2
_STDERR_KEPT = 4096


def _open(kube: KubeApi, namespace: str, pod: str, command: Sequence[str], stdin: bool) -> Any:
    found = kube.get("v1", "Pod", pod, namespace) or {}
    containers = (found.get("spec") or {}).get("containers") or [{}]
    try:
        return stream(
            kube.stream_core().connect_get_namespaced_pod_exec, pod, namespace,
            container=containers[0].get("name"), command=list(command), stdin=stdin,
            stdout=True, stderr=True, tty=False, _preload_content=False, binary=True,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the API server's or the websocket's failure
        raise EngineError(f"cannot exec into pod {pod}: {str(exc)[:300]}") from None


def _failed(what: str, command: Sequence[str], code: object, stderr: bytes) -> EngineError:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return EngineError(
        f"{what}: the command exited with {code}",
        details=[*(f"  {line}" for line in lines[-10:])] or ["(no error output)"],
    )


def _code(ws: Any) -> object:
    try:
        return ws.returncode
    except (KeyError, IndexError, TypeError, ValueError):
        return "unknown (the exec ended without a status)"


@contextlib.contextmanager
def _session(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], *, stdin: bool, what: str
) -> Iterator[tuple[Any, bytearray]]:
    """An exec stream and the buffer its stderr is kept in; after: closed, and EngineError when
    the command exited non-zero."""
    ws = _open(kube, namespace, pod, command, stdin)
    stderr = bytearray()
    try:
        yield ws, stderr
        code = _code(ws)
    finally:
        with contextlib.suppress(Exception):
            ws.close()
    if code != 0:
        raise _failed(what, command, code, bytes(stderr))


def _keep(stderr: bytearray, data: bytes) -> None:
    if data:
        stderr.extend(data)
        del stderr[:-_STDERR_KEPT]


def exec_dump(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], what: str
) -> Iterator[bytes]:
    """`command`'s stdout in the pod, as it comes; EngineError when it exits non-zero."""
    with _session(kube, namespace, pod, command, stdin=False, what=what) as (ws, stderr):
        while True:
            open_ = ws.is_open()
            if open_:
                ws.update(timeout=1)
            out = ws.read_channel(_STDOUT)
            if out:
                yield out
            _keep(stderr, ws.read_channel(_STDERR))
            if not open_:
                break


def exec_load(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], chunks: Iterable[bytes],
    *, what: str,
) -> None:  # fmt: skip
    """Run `command` in the pod with `chunks` on its stdin (it stops reading by itself);
    EngineError when it exits non-zero."""
    with _session(kube, namespace, pod, command, stdin=True, what=what) as (ws, stderr):

        def take() -> None:
            _keep(stderr, ws.read_channel(_STDERR))
            ws.read_channel(_STDOUT)

        for chunk in chunks:
            if not ws.is_open():
                break  # the command ended early: its exit code and stderr say why
            for start in range(0, len(chunk), 256 * 1024):
                ws.write_stdin(chunk[start : start + 256 * 1024])
            ws.update(timeout=0)
            take()
        with contextlib.suppress(Exception):
            ws.close_channel(0)  # end of input, where the protocol has it (v5)
        while ws.is_open():
            ws.update(timeout=1)
            take()
        take()
