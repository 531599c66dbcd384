"""Helpers for the shop tests: the services as processes, HTTP, waiting.

The api and worker run as subprocesses (``python -m app`` / ``python -m worker``
from their service directories), exactly as their containers run them, with the
environment their blueprint declares (see conftest.py: postgres and redis come
from the blueprint too, through devkit's pytest plugin).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pytest

SHOP_DIR = Path(__file__).resolve().parents[1]
API_DIR = SHOP_DIR / "services" / "api"
WORKER_DIR = SHOP_DIR / "services" / "worker"

# Lets the tests import the services' own modules (app.*, worker.*).
for _service_dir in (API_DIR, WORKER_DIR):
    if str(_service_dir) not in sys.path:
        sys.path.insert(0, str(_service_dir))

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 10.0


# -- small helpers ---------------------------------------------------------


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout: float = START_TIMEOUT_S,
    interval: float = 0.1,
    alive: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds.

    ``alive`` may return an error text (e.g. "process exited") to fail early.
    """
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - any failure just means "not yet"
            last_error = f"{type(exc).__name__}: {exc}"
        if alive is not None and (problem := alive()) is not None:
            pytest.fail(f"{what}: {problem}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:.0f}s waiting for {what}; last error: {last_error}"
            )
        time.sleep(interval)


@dataclass
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


def http(
    method: str,
    url: str,
    payload: object = None,
    *,
    raw: bytes | None = None,
    timeout: float = HTTP_TIMEOUT_S,
) -> Response:
    """One HTTP request; JSON in (``payload``) or raw bytes in (``raw``), JSON out."""
    data = raw if raw is not None else None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            status, text, headers = reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as err:
        status, text, headers = err.code, err.read(), dict(err.headers)
    return Response(status, json.loads(text) if text else None, headers)


def _stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Signal ``proc``, wait for it (bounded), kill it if it hangs; return its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)
    return proc.returncode


# -- the services as real processes ----------------------------------------


class Service:
    """A service started as ``python -m MODULE`` in its directory, logging to a file."""

    def __init__(self, module: str, cwd: Path, env: Mapping[str, str], log_dir: Path) -> None:
        self.module = module
        self.log_path = log_dir / f"{module}-{time.monotonic_ns()}.log"
        self._log: TextIO = self.log_path.open("w")
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=cwd,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def problem(self) -> str | None:
        """None while running; otherwise why it is not."""
        if self.proc.poll() is None:
            return None
        return f"{self.module} exited with {self.proc.returncode}; log:\n{self.log()[-4000:]}"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        try:
            return _stop_process(self.proc, sig)
        finally:
            self._log.close()


class Api(Service):
    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.port = free_port()
        super().__init__(
            "app", API_DIR, {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}, log_dir
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_listening(self) -> None:
        def accepting() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_until(accepting, f"api on port {self.port}", alive=self.problem)

    def wait_healthy(self) -> None:
        wait_until(
            lambda: http("GET", f"{self.url}/healthz", timeout=5).status == 200,
            f"api {self.url}/healthz to answer 200",
            alive=self.problem,
        )
