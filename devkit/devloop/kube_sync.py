"""Live sync into pods: the same loop as on Docker (devkit/devloop/sync.py), its transfers over the
Kubernetes exec API and its health checks through the port-forwards on 127.0.0.1.

A pod that is replaced (a rollout, a crash, a deleted pod) is noticed by its uid, and its synced
paths are repaired by a checked sync as soon as it is ready; the port-forwards follow it on their
own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes.stream import stream

from devkit.devloop.sync import ANSWER_TIMEOUT, LiveSync, Report, _answers
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan
from devkit.targets.agent import Transfer, TransferError
from devkit.targets.kubernetes.exec import PodAgentTransfer, PodsTransfer
from devkit.targets.kubernetes.port_forward import ready_pods
from devkit.targets.kubernetes.spec import service_selector
from devkit.targets.kubernetes.target import KubernetesTarget

_LOOK_EVERY = 1.0


class KubeLiveSync(LiveSync):
    """Keeps the pods of a Kind or Kubernetes dev environment in step with the tree."""

    def __init__(
        self,
        plan: Plan,
        root: Path,
        *,
        target: KubernetesTarget,
        local_ports: dict[tuple[str, str], int],
        bring_up: Callable[[str], None],
        image_map: ImageMap,
        report: Report,
        build_line: Callable[[str, str], None],
        services: set[str] | None = None,
    ) -> None:
        super().__init__(
            plan, root, image_map=image_map, report=report, build_line=build_line,
            services=services,
        )  # fmt: skip
        self.target = target
        self.local_ports = local_ports
        self.bring_up = bring_up
        self._pods: dict[str, tuple[tuple[str, ...], PodsTransfer]] = {}

    def _pods_of(self, service: str) -> list[dict[str, Any]]:
        return ready_pods(self.target.kube, self.target.namespace, self.target.instance, service)

    def _transfer(self, service: str) -> Transfer:
        pods = self._pods_of(service)
        names = tuple(sorted(p["metadata"]["name"] for p in pods))
        if not names:
            raise TransferError(f"{service} has no ready pod")
        known = self._pods.get(service)
        if known and known[0] == names:
            return known[1]
        if known:
            known[1].close()
        container = pods[0]["spec"]["containers"][0]["name"]
        transfer = PodsTransfer([
            PodAgentTransfer(self.target.kube.stream_core(), self.target.namespace, name,
                             container)
            for name in names
        ])  # fmt: skip
        self._pods[service] = (names, transfer)
        return transfer

    def _exec(self, service: str, command: list[str]) -> tuple[int, bytes]:
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

    def _bring_up(self, service: str) -> None:
        self.bring_up(service)
        self._pods.pop(service, None)

    def _follow_starts(self, stop: threading.Event) -> None:
        """Notice pods that are new since the last look (replaced ones), once they are ready."""
        seen: dict[str, set[str]] = {}
        services = sorted({r.service for r in self.rules})
        while not stop.is_set():
            for service in services:
                try:
                    uids = {p["metadata"]["uid"] for p in self._pods_of(service)}
                except Exception:  # noqa: BLE001, S112 - the API server is briefly away: look again
                    continue
                before = seen.get(service)
                seen[service] = uids
                if before is not None and uids - before:
                    self._restarted.put(service)
            stop.wait(_LOOK_EVERY)

    def _wait_answering(self, service: str) -> float | None:
        """When the service answers its health check again, through its local port-forward."""
        planned = self._planned(service)
        check = planned.health
        deadline = time.monotonic() + ANSWER_TIMEOUT
        if check is None or check.kind == "command":
            return time.time()
        port = self.local_ports.get((service, check.port))
        if port is None:
            return time.time()
        while time.monotonic() < deadline:
            if _answers(check.kind, port, getattr(check, "path", "/")):
                return time.time()
            time.sleep(0.01)
        return None

    def _show_failure(self, service: str, since: float) -> None:
        selector = service_selector(self.target.instance, service)
        pods = self._pods_of(service) or self.target.kube.list(
            "v1", "Pod", self.target.namespace, selector
        )
        lines = self.target.logs_of(pods)
        self.report(service, "error", "not answering after the restart; its output:\n"
                    + "\n".join(f"    {line}" for line in lines[-15:]))  # fmt: skip
