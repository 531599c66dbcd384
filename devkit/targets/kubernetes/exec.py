"""Files into running pods, fast: devkit's sync agent over the Kubernetes exec API.

The agent (devkit/targets/agent.py) is the same small Python program as on Docker, started once per
pod with `exec` and spoken to over its stdin/stdout websocket channels: one round trip per batch
of files. It runs as the container's own user (exec cannot choose one), which owns the synced
paths in an image made for live sync. A service with several replicas gets every pod updated.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.stream import stream

from devkit.targets.agent import AGENT, AgentClient
from devkit.targets.base import TransferError

_TIMEOUT = 30.0


class PodAgentTransfer(AgentClient):
    """The sync agent in one pod's container, over one exec websocket."""

    def __init__(self, core: CoreV1Api, namespace: str, pod: str, container: str) -> None:
        self.pod = pod
        try:
            self._ws: Any = stream(
                core.connect_get_namespaced_pod_exec, pod, namespace, container=container,
                command=["sh", "-c", 'exec "$(command -v python3 || command -v python)" -u -c '
                         '"$0" ""', AGENT],
                stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False,
                binary=True,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the API server's or the websocket's failure
            raise TransferError(f"cannot exec into pod {pod}: {exc}") from None
        self._call_raw(None)  # the ready line

    def _call_raw(self, request: dict[str, Any] | None, payload: bytes = b"") -> dict[str, Any]:
        if request is not None:
            self._ws.write_stdin(json.dumps(request).encode() + b"\n" + payload)
        line = self._ws.readline_stdout(timeout=_TIMEOUT)
        if not line:
            error = self._ws.read_stderr(timeout=0.1) if self._ws.is_open() else b""
            raise TransferError(
                f"the sync agent in pod {self.pod} did not answer"
                + (f": {error.decode(errors='replace')[-300:]}" if error else "")
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise TransferError(f"sync agent in pod {self.pod}: {answer['error']}")
        return answer

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a websocket that is already gone
            self._ws.close()


class PodsTransfer:
    """The same operations on every pod of a service (its replicas)."""

    def __init__(self, transfers: list[PodAgentTransfer]) -> None:
        if not transfers:
            raise TransferError("no running pod")
        self.transfers = transfers
        self.pods = tuple(sorted(t.pod for t in transfers))

    def put(self, files: Mapping[str, str], dirs: list[str]) -> None:
        for transfer in self.transfers:
            transfer.put(files, dirs)

    def remove(self, paths: list[str]) -> None:
        for transfer in self.transfers:
            transfer.remove(paths)

    def hashes(self, root: str) -> dict[str, str]:
        """The first pod's tree; a difference in any pod is repaired in all of them."""
        merged: dict[str, str] = {}
        for transfer in self.transfers:
            for path, mark in transfer.hashes(root).items():
                if merged.setdefault(path, mark) != mark:
                    merged[path] = ""
        return merged

    def restart(self) -> None:
        for transfer in self.transfers:
            transfer.restart()

    def close(self) -> None:
        for transfer in self.transfers:
            transfer.close()
