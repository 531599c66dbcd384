"""Port-forwards from 127.0.0.1 to services' pods, that survive pods being replaced.

Each forward is a listener on 127.0.0.1; every connection it accepts is carried over a fresh
port-forward stream to a pod of the service that is ready at that moment, so a pod replaced by
a rollout (or killed) is followed without restarting anything, and the local port never moves.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from kubernetes.stream import portforward

from devkit.targets.base import Forward
from devkit.targets.kubernetes.api import KubeApi
from devkit.targets.kubernetes.spec import is_ready, service_selector
from devkit.targets.outcome import Progress

_CHUNK = 65536


def free_port(wanted: int | None = None) -> int:
    """`wanted` if it can be bound on 127.0.0.1, else a port the system picks."""
    for port in ([wanted] if wanted else []) + [0]:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            bound: int = probe.getsockname()[1]
            return bound
    raise OSError("no free port on 127.0.0.1")


class PortForwarder:
    """Listeners on 127.0.0.1 forwarding to the ready pods of an environment's services."""

    def __init__(self, kube: KubeApi, namespace: str, instance: str, report: Progress) -> None:
        self.kube, self.namespace, self.instance, self.report = kube, namespace, instance, report
        self._listeners: list[socket.socket] = []
        self._stop = threading.Event()

    def start(self, service: str, port_name: str, container_port: int, local_port: int) -> Forward:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", local_port))
        listener.listen(64)
        self._listeners.append(listener)
        forward = Forward(service, port_name, container_port, listener.getsockname()[1])
        threading.Thread(target=self._accept, args=(listener, forward), daemon=True).start()
        return forward

    def stop(self) -> None:
        self._stop.set()
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.close()

    def ready_pod(self, service: str) -> str | None:
        """A ready, not terminating pod of the service (newest first)."""
        return ready_pod(self.kube, self.namespace, self.instance, service)

    def _accept(self, listener: socket.socket, forward: Forward) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._carry, args=(client, forward), daemon=True).start()

    def _carry(self, client: socket.socket, forward: Forward) -> None:
        with client:
            pod = self.ready_pod(forward.service)
            if pod is None:
                self.report(forward.service, "waiting", "no ready pod to forward to yet")
                return
            try:
                core = self.kube.stream_core()
                stream: Any = portforward(
                    core.connect_get_namespaced_pod_portforward, pod, self.namespace,
                    ports=str(forward.container_port),
                )  # fmt: skip
                remote: Any = stream.socket(forward.container_port)
            except Exception as exc:  # noqa: BLE001 - the API server or the websocket failed
                self.report(forward.service, "error", f"port-forward to {pod}: {exc}")
                return
            try:
                _relay(client, remote)
            finally:
                with contextlib.suppress(Exception):
                    remote.close()
                with contextlib.suppress(Exception):
                    stream.close()


def ready_pods(kube: KubeApi, namespace: str, instance: str, service: str) -> list[dict[str, Any]]:
    """The ready, not terminating pods of a service, newest first, by its labels."""
    pods = kube.list("v1", "Pod", namespace, service_selector(instance, service))
    ready = [p for p in pods if is_ready(p)]
    ready.sort(key=lambda p: str(p["metadata"].get("creationTimestamp")), reverse=True)
    return ready


def ready_pod(kube: KubeApi, namespace: str, instance: str, service: str) -> str | None:
    """A ready pod of a service (the newest)."""
    ready = ready_pods(kube, namespace, instance, service)
    return str(ready[0]["metadata"]["name"]) if ready else None


def _relay(a: socket.socket, b: Any) -> None:
    """Copy both ways until either side closes."""

    def pump(src: Any, dst: Any) -> None:
        try:
            while data := src.recv(_CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    pump(a, b)
    other.join(timeout=30)
