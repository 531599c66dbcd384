"""Backups on a cluster: commands in a ready pod of a service over the exec API, their bytes
streamed out (a dump) or in (a restore); and a stopped service's volumes, copied in a helper pod.

The exec websocket's stdin cannot always be closed (only the v5 protocol can), so a command
that reads a part is given one that stops by itself (`head -c SIZE`, see records/backup.py).
"""

from __future__ import annotations

import contextlib
import json
import select
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from kubernetes.stream import stream
from websocket import ABNF, WebSocketConnectionClosedException

from devkit.errors import EngineError
from devkit.render.labels import fit
from devkit.targets.kubernetes.api import KubeApi
from devkit.targets.kubernetes.port_forward import ready_pods
from devkit.targets.kubernetes.spec import (
    one_off_labels,
    one_off_spec,
    pod_problem,
    service_selector,
)
from devkit.targets.outcome import Progress

_STDOUT, _STDERR, _ERROR = 1, 2, 3
_STDERR_KEPT = 4096
_PIECE = 256 * 1024  # bytes of stdin a frame


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


class _Exec:
    """One exec stream, its frames read here as they come.

    The client's own reader (`update()`) gathers every frame that is already there into one
    bytes object before it returns, and keeps a copy of all output: quadratic time and memory
    for a dump of hundreds of MB (measured: 14 MB in 10 minutes). Frames are read here one by
    one and handed on as they arrive."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.stderr = bytearray()
        self.status: bytes | None = None  # the error channel's document: the exit status

    def frame(self) -> tuple[int, bytes] | None:
        """The next (channel, data); None once the stream is closed."""
        try:
            op_code, frame = self.ws.sock.recv_data_frame(True)
        except (WebSocketConnectionClosedException, OSError):
            return None
        if op_code == ABNF.OPCODE_CLOSE:
            return None
        data = frame.data if isinstance(frame.data, bytes) else str(frame.data).encode()
        if op_code not in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT) or not data:
            return (-1, b"")
        channel, body = data[0], data[1:]
        if channel == _STDERR:
            self.stderr.extend(body)
            del self.stderr[:-_STDERR_KEPT]
        elif channel == _ERROR and body:
            self.status = body
        return channel, body

    def waiting(self) -> bool:
        """Whether a frame can be read without blocking."""
        sock = self.ws.sock.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def code(self) -> object:
        """The command's exit code, from the error channel's status document."""
        try:
            status = json.loads(self.status or b"{}")
        except ValueError:
            return "unknown (an unreadable exit status)"
        if status.get("status") == "Success":
            return 0
        causes = (status.get("details") or {}).get("causes") or []
        for cause in causes:
            if cause.get("reason") == "ExitCode":
                return int(cause.get("message", 1))
        return status.get("message") or "unknown (the exec ended without a status)"


@contextlib.contextmanager
def _session(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], *, stdin: bool, what: str
) -> Iterator[_Exec]:
    """An exec stream; after: closed, and EngineError when the command exited non-zero."""
    running = _Exec(_open(kube, namespace, pod, command, stdin))
    try:
        yield running
    finally:
        with contextlib.suppress(Exception):
            running.ws.close()
    code = running.code()
    if code != 0:
        raise _failed(what, command, code, bytes(running.stderr))


def exec_dump(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], what: str
) -> Iterator[bytes]:
    """`command`'s stdout in the pod, as it comes; EngineError when it exits non-zero."""
    with _session(kube, namespace, pod, command, stdin=False, what=what) as running:
        while (got := running.frame()) is not None:
            channel, data = got
            if channel == _STDOUT and data:
                yield data


def exec_load(
    kube: KubeApi, namespace: str, pod: str, command: Sequence[str], chunks: Iterable[bytes],
    *, what: str,
) -> None:  # fmt: skip
    """Run `command` in the pod with `chunks` on its stdin (it stops reading by itself);
    EngineError when it exits non-zero."""
    with _session(kube, namespace, pod, command, stdin=True, what=what) as running:
        ended = False
        for chunk in chunks:
            for start in range(0, len(chunk), _PIECE):
                try:
                    running.ws.write_stdin(chunk[start : start + _PIECE])
                except (WebSocketConnectionClosedException, OSError):
                    ended = True  # the command ended early: its exit status says why
                    break
            while not ended and running.waiting():
                ended = running.frame() is None
            if ended:
                break
        with contextlib.suppress(Exception):
            running.ws.close_channel(0)  # end of input, where the protocol has it (v5)
        while not ended and running.frame() is not None:
            pass


# --- a stopped service's volumes -------------------------------------------------------------
SCALER = "devkit-backup"
"""The field manager that scales a StatefulSet down and back; its ownership of the replicas is
dropped afterwards, so devkit's next apply meets no conflict."""
_HELPER_LIFETIME = "21600"  # seconds: a helper left by a killed devkit ends by itself


class PodVolumes:
    """Commands in a helper pod with a stopped service's volume claims (VolumeAccess)."""

    def __init__(self, kube: KubeApi, namespace: str, pod: str, service: str) -> None:
        self.kube, self.namespace, self.pod, self.service = kube, namespace, pod, service

    def dump(self, command: Sequence[str]) -> Iterator[bytes]:
        return exec_dump(self.kube, self.namespace, self.pod, command,
                         f'service "{self.service}" ({self.pod})')  # fmt: skip

    def load(self, command: Sequence[str], chunks: Iterable[bytes]) -> None:
        exec_load(self.kube, self.namespace, self.pod, command, chunks,
                  what=f'service "{self.service}" ({self.pod})')  # fmt: skip


def _wait(what: str, done: Callable[[], bool], timeout: float) -> None:
    began = time.monotonic()
    while not done():
        if time.monotonic() - began > timeout:
            raise EngineError(f"{what} did not happen within {timeout:g}s")
        time.sleep(0.5)


def _scale(kube: KubeApi, namespace: str, service: str, replicas: int) -> None:
    kube.patch("apps/v1", "StatefulSet", service, namespace, {"spec": {"replicas": replicas}},
               field_manager=SCALER)  # fmt: skip


def _release(kube: KubeApi, namespace: str, service: str) -> None:
    """Drop the scaler's entry from the StatefulSet's managed fields."""
    live = kube.get("apps/v1", "StatefulSet", service, namespace) or {}
    fields = (live.get("metadata") or {}).get("managedFields") or []
    kept = [entry for entry in fields if entry.get("manager") != SCALER]
    if len(kept) != len(fields):
        kube.patch("apps/v1", "StatefulSet", service, namespace,
                   {"metadata": {"managedFields": kept}})  # fmt: skip


@contextlib.contextmanager
def stopped_with_helper(
    kube: KubeApi, namespace: str, instance: str, service: str, progress: Progress
) -> Iterator[PodVolumes]:
    """The service's StatefulSet scaled to 0 while inside, and a helper pod from its pod
    template (its image, user, security context) with the claims of its first replica; after:
    the helper deleted, the StatefulSet scaled back and waited for until its pods are ready."""
    workload = kube.get("apps/v1", "StatefulSet", service, namespace)
    if workload is None:
        raise EngineError(
            f'service "{service}" has no StatefulSet in namespace {namespace}: only a service '
            "with volumes has its volumes copied"
        )
    replicas = int(workload["spec"].get("replicas", 1))
    claims = [t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates") or []]
    selector = service_selector(instance, service)
    if replicas:
        progress(service, "stop", "scaled to 0 for a consistent copy of its volumes")
        _scale(kube, namespace, service, 0)
    name = fit(f"devkit-backup-{service}-{uuid.uuid4().hex[:6]}")
    created = False
    try:
        _wait(f'service "{service}" stopping',
              lambda: not kube.list("v1", "Pod", namespace, selector), 180)  # fmt: skip
        template = workload["spec"]["template"]
        spec = one_off_spec(template, "backup", template["spec"]["containers"][0]["image"],
                            ["sleep", _HELPER_LIFETIME])  # fmt: skip
        spec["volumes"] = [
            *spec.get("volumes", []),
            *({"name": c, "persistentVolumeClaim": {"claimName": f"{c}-{service}-0"}}
              for c in claims),
        ]  # fmt: skip
        spec["terminationGracePeriodSeconds"] = 1
        kube.create({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": one_off_labels(instance, "backup", service)},
            "spec": spec,
        })  # fmt: skip
        created = True

        def running() -> bool:
            pod = kube.get("v1", "Pod", name, namespace) or {}
            problem = pod_problem(pod) if pod else None
            if problem and ("ErrImage" in problem or "Config" in problem):
                raise EngineError(f"the helper with {service}'s volumes cannot start: {problem}")
            return (pod.get("status") or {}).get("phase") == "Running"

        _wait(f"the helper with {service}'s volumes starting", running, 180)
        yield PodVolumes(kube, namespace, name, service)
    finally:
        if created:
            kube.delete("v1", "Pod", name, namespace)
            _wait(f"the helper {name} going away",
                  lambda: kube.get("v1", "Pod", name, namespace) is None, 120)  # fmt: skip
        if replicas:
            progress(service, "start", "")
            _scale(kube, namespace, service, replicas)
            _release(kube, namespace, service)
            _wait(f'service "{service}" ready again',
                  lambda: len(ready_pods(kube, namespace, instance, service)) >= replicas,
                  300)  # fmt: skip
