"""Live sync into pods: the sync agent over the Kubernetes exec API in every ready pod of a
service, its health checks through the port-forwards on 127.0.0.1, and replaced pods noticed
by their uid (their synced paths are repaired as soon as they are ready)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes.stream import stream

from devkit.targets.base import BuildLine, Transfer, TransferError
from devkit.targets.kubernetes.exec import PodAgentTransfer, PodsTransfer
from devkit.targets.kubernetes.port_forward import ready_pods
from devkit.targets.kubernetes.spec import service_selector
from devkit.targets.kubernetes.target import KubernetesTarget
from devkit.targets.outcome import Progress

_LOOK_EVERY = 1.0


class KubeSyncSession:
    """Where each service of a cluster dev environment runs, for live sync."""

    def __init__(
        self,
        target: KubernetesTarget,
        forwards: Mapping[tuple[str, str], int],
        bring_up: Callable[[str, Progress, BuildLine], None],
    ) -> None:
        self.target = target
        self.forwards = dict(forwards)
        self._bring_up = bring_up
        self._pods: dict[str, tuple[tuple[str, ...], PodsTransfer]] = {}

    def _pods_of(self, service: str) -> list[dict[str, Any]]:
        t = self.target
        return ready_pods(t.kube, t.namespace, t.instance, service)

    def transfer(self, service: str) -> Transfer:
        try:
            pods = self._pods_of(service)
        except Exception as exc:  # noqa: BLE001 - the API server is briefly away
            raise TransferError(f"cannot list the pods of {service}: {exc}") from None
        names = tuple(sorted(p["metadata"]["name"] for p in pods))
        if not names:
            raise TransferError(f"{service} has no ready pod")
        known = self._pods.get(service)
        if known and known[0] == names:
            return known[1]
        if known:
            known[1].close()
        container = pods[0]["spec"]["containers"][0]["name"]
        core = self.target.kube.stream_core
        transfer = PodsTransfer([
            PodAgentTransfer(core(), self.target.namespace, name, container) for name in names
        ])  # fmt: skip
        self._pods[service] = (names, transfer)
        return transfer

    def forget(self, service: str) -> None:
        known = self._pods.pop(service, None)
        if known:
            known[1].close()

    def run(self, service: str, command: list[str]) -> tuple[int, bytes]:
        pods = self._pods_of(service)
        if not pods:
            return 1, b"no ready pod"
        ws: Any = stream(
            self.target.kube.stream_core().connect_get_namespaced_pod_exec,
            pods[0]["metadata"]["name"],
            self.target.namespace, command=command, stdin=False, stdout=True, stderr=True,
            tty=False, _preload_content=False,
        )  # fmt: skip
        ws.run_forever(timeout=60)
        output = (ws.read_stdout() or "") + (ws.read_stderr() or "")
        code = ws.returncode
        return (int(code) if code is not None else 1), output.encode()

    def follow_starts(
        self, services: list[str], started: Callable[[str], None], stop: threading.Event
    ) -> None:
        """Notice pods that are new since the last look (replaced ones), once they are ready."""
        seen: dict[str, set[str]] = {}
        while not stop.is_set():
            for service in services:
                try:
                    uids = {p["metadata"]["uid"] for p in self._pods_of(service)}
                except Exception:  # noqa: BLE001, S112 - the API server is briefly away: look again
                    continue
                before = seen.get(service)
                seen[service] = uids
                if before is not None and uids - before:
                    started(service)
            stop.wait(_LOOK_EVERY)

    def answer_port(self, service: str, port_name: str) -> int | None:
        return self.forwards.get((service, port_name))

    def process_exited(self, service: str, since: float) -> bool:
        return False  # a crashed process shows as a pod that is not ready: answer_port fails

    def output_since(self, service: str, since: float) -> list[str]:
        t = self.target
        pods = self._pods_of(service) or t.kube.list(
            "v1", "Pod", t.namespace, service_selector(t.instance, service)
        )
        return t.logs_of(pods)

    def bring_up(self, service: str, progress: Progress, build_line: BuildLine) -> None:
        self._bring_up(service, progress, build_line)
        self.forget(service)
