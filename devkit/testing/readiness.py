"""Readiness as code: a service is ready when its blueprint health check passes in its container.

The check is the one the blueprint declares, mapped to a command exactly as the Docker target
maps it (devkit.targets.docker.spec.healthcheck / probe_command), run with `docker exec` until it
passes. A container that exits, or a check that does not pass in time, fails with the check's
last output and the container's last log lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from devkit.errors import EngineError
from devkit.render.healthcheck import probe_command

LOG_LINES = 40
_POLL = 0.25
_SETTLE = 1.0  # seconds a service without a health check must stay up to count as ready


class StartCancelled(Exception):  # noqa: N818 - not an error: another service failed first
    """Waiting stopped because the session is giving up (another service failed, interrupt)."""


class DependencyFailedError(EngineError):
    """A dependency of the test session exited or never passed its health check."""

    def __init__(self, service: str, message: str, details: list[str]) -> None:
        self.service = service
        super().__init__(message, details=details)


def log_tail(container: Any, lines: int = LOG_LINES) -> list[str]:
    """The container's last log lines (stdout and stderr), indented, or a note that it has none."""
    try:
        text = container.logs(tail=lines).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - the logs are extra detail; never hide the failure
        return [f"(its logs could not be read: {exc})"]
    kept = [line for line in text.splitlines() if line.strip()]
    if not kept:
        return ["(no log output)"]
    return [f"last {len(kept)} log lines:", *(f"  | {line}" for line in kept)]


class HealthCheckPasses(WaitStrategy):
    """Wait until the service's health check passes (or, without one, it has been up a second)."""

    def __init__(
        self,
        service: str,
        image: str,
        check: Mapping[str, Any] | None,
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.image = image
        self.check = check
        self.timeout = timeout
        self.cancelled = cancelled or threading.Event()
        self.seconds = 0.0

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        began = time.monotonic()
        wrapped = container.get_wrapped_container()
        command = probe_command(self.check) if self.check is not None else None
        said = ""
        while True:
            if self.cancelled.is_set():
                raise StartCancelled(self.service)
            wrapped.reload()
            state = wrapped.attrs.get("State", {})
            if state.get("Status") in ("exited", "dead"):
                raise DependencyFailedError(
                    self.service,
                    f'service "{self.service}" ({self.image}) exited with code '
                    f"{state.get('ExitCode')} while starting",
                    log_tail(wrapped),
                )
            if command is None:
                if time.monotonic() - began >= _SETTLE and state.get("Status") == "running":
                    break
            elif state.get("Status") == "running":
                code, output = wrapped.exec_run(command)
                if code == 0:
                    break
                said = output.decode(errors="replace").strip() if output else f"exit code {code}"
            if time.monotonic() - began > self.timeout:
                check = " ".join(command) if command else ""
                raise DependencyFailedError(
                    self.service,
                    f'service "{self.service}" ({self.image}) did not pass its health check '
                    f"within {self.timeout:g}s",
                    [
                        f"health check: {check[:200]}",
                        *(f"it said: {line}" for line in said.splitlines()[-5:]),
                        *log_tail(wrapped),
                    ],
                )
            time.sleep(_POLL)
        self.seconds = time.monotonic() - began
