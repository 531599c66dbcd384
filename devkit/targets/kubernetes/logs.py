"""The logs of an environment's pods, as (service, line) pairs; following, pods that replace
them later are followed too."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client import CoreV1Api

from devkit.targets.kubernetes.spec import NAME

_LOOK_EVERY = 2.0
_NEW_PUMP = ("", "")


def pod_logs(
    core: CoreV1Api,
    namespace: str,
    pods: Callable[[], list[dict[str, Any]]],
    services: set[str] | None,
    *,
    follow: bool,
    since: float | None,
    tail: int | None,
) -> Iterator[tuple[str, str]]:
    """Lines of every running pod `pods()` lists for the chosen services, interleaved."""
    options: dict[str, Any] = {"follow": follow, "_preload_content": False}
    if tail is not None:
        options["tail_lines"] = tail
    return _PodLogs(core, namespace, pods, services, options, since).lines(follow)


class _PodLogs:
    def __init__(  # noqa: PLR0917 - one private call site
        self,
        core: CoreV1Api,
        namespace: str,
        pods: Callable[[], list[dict[str, Any]]],
        services: set[str] | None,
        options: dict[str, Any],
        since: float | None,
    ) -> None:
        self.core, self.namespace, self.pods, self.services = core, namespace, pods, services
        self.options, self.since = options, since
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.stop = threading.Event()
        self.following: set[str] = set()

    def lines(self, follow: bool) -> Iterator[tuple[str, str]]:
        running = self._start_new()
        if follow:
            threading.Thread(target=self._look, daemon=True).start()
        try:
            while running or follow:
                item = self.queue.get()
                if item is None:
                    running -= 1
                elif item == _NEW_PUMP:
                    running += 1
                else:
                    yield item
        finally:
            self.stop.set()

    def _pump(self, pod: str, container: str, service: str) -> None:
        kwargs = dict(self.options, container=container)
        if self.since is not None:
            kwargs["since_seconds"] = max(1, int(time.time() - self.since))
        try:
            response: Any = self.core.read_namespaced_pod_log(pod, self.namespace, **kwargs)
            buffer = b""
            for chunk in response.stream():
                if self.stop.is_set():
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.queue.put((service, line.decode(errors="replace")))
            if buffer:
                self.queue.put((service, buffer.decode(errors="replace")))
        except Exception:  # noqa: BLE001, S110 - the pod went away; a replacement is followed
            pass
        finally:
            self.queue.put(None)

    def _start_new(self) -> int:
        started = 0
        for pod in self.pods():
            name = pod["metadata"]["name"]
            service = (pod["metadata"].get("labels") or {}).get(NAME, name)
            pending = (pod.get("status") or {}).get("phase") == "Pending"
            chosen = self.services is None or service in self.services
            if not chosen or name in self.following or pending:
                continue
            self.following.add(name)
            container = pod["spec"]["containers"][0]["name"]
            threading.Thread(
                target=self._pump, args=(name, container, service), daemon=True
            ).start()
            started += 1
        return started

    def _look(self) -> None:
        while not self.stop.wait(_LOOK_EVERY):
            try:
                for _ in range(self._start_new()):
                    self.queue.put(_NEW_PUMP)
            except Exception:  # noqa: BLE001, S112 - the API server is briefly away
                continue
