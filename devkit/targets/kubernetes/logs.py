"""Follow the logs of an environment's pods, including pods that replace them later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kubernetes.client import CoreV1Api

from devkit.targets.kubernetes.api import KubeApi
from devkit.targets.kubernetes.spec import INSTANCE, NAME

_LOOK_EVERY = 2.0


def follow_logs(
    kube: KubeApi,
    namespace: str,
    instance: str,
    on_line: Callable[[str, str], None],
    stop: threading.Event,
) -> None:
    """Print (service, line) for every new log line of every pod, until `stop` is set."""
    core = CoreV1Api(kube.api)
    following: set[str] = set()

    def pump(pod: str, container: str, service: str) -> None:
        try:
            response: Any = core.read_namespaced_pod_log(
                pod, namespace, container=container, follow=True, tail_lines=10,
                _preload_content=False,
            )  # fmt: skip
            for raw in response.stream():
                if stop.is_set():
                    break
                for line in raw.decode(errors="replace").splitlines():
                    on_line(service, line)
        except Exception:  # noqa: BLE001, S110 - the pod went away: its replacement is followed
            pass
        finally:
            following.discard(pod)

    while not stop.is_set():
        for pod in kube.list("v1", "Pod", namespace, f"{INSTANCE}={instance}"):
            name = pod["metadata"]["name"]
            service = (pod["metadata"].get("labels") or {}).get(NAME, name)
            running = (pod.get("status") or {}).get("phase") == "Running"
            if running and name not in following:
                following.add(name)
                container = pod["spec"]["containers"][0]["name"]
                threading.Thread(target=pump, args=(name, container, service), daemon=True).start()
        stop.wait(_LOOK_EVERY)
