"""Health checks as Docker runs them inside a container (local Docker, Swarm and the compose
export): the probe commands for HTTP and TCP checks, written for whatever the image has (curl,
wget, python3, bash)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from devkit.model.health import HealthCheck
from devkit.planning.planner import PlannedService

_NS = 1_000_000_000


def _probe_http_bash(port: int, path: str, timeout: float) -> str:
    """GET with bash alone (/dev/tcp): healthy on a 2xx or 3xx status line."""
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET %s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' {shlex.quote(path)} >&3 && "
        f"read -r -t {timeout:g} proto code rest <&3 && "
        'case "$code" in 2??|3??) exit 0 ;; *) echo "HTTP status $code" >&2; exit 1 ;; esac'
    )
    return f"bash -c {shlex.quote(script)}"


def _probe_http(port: int, path: str, timeout: float) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    quoted, seconds = shlex.quote(url), f"{timeout:g}"
    return (
        f"if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null --max-time {seconds} "
        f"{quoted}; elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null -T {seconds} "
        f"{quoted}; elif command -v python3 >/dev/null 2>&1; then python3 -c "
        "'import sys,urllib.request; "
        "urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))'"
        f" {quoted} {seconds}; elif command -v bash >/dev/null 2>&1; then "
        f"{_probe_http_bash(port, path, timeout)}; else echo 'devkit: the HTTP health check "
        "needs curl, wget, python3 or bash in the image; use Command(...) instead' >&2; "
        "exit 1; fi"
    )


def _probe_tcp(port: int) -> str:
    return (
        f"if command -v nc >/dev/null 2>&1; then nc -z 127.0.0.1 {port}; "
        "elif command -v python3 >/dev/null 2>&1; then python3 -c "
        f"'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2).close()'; "
        f"elif command -v bash >/dev/null 2>&1; then bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'; "
        "else echo 'devkit: the TCP health check needs nc, python3 or bash in the image; "
        "use Command(...) instead' >&2; exit 1; fi"
    )


def healthcheck(check: HealthCheck | None, service: PlannedService) -> dict[str, Any] | None:
    """The Docker healthcheck for a planned health check, run inside the container."""
    if check is None:
        return None
    if check.kind == "command":
        test = ["CMD", *check.command]
    elif check.kind == "http":
        port = service.ports[check.port].container
        test = ["CMD-SHELL", _probe_http(port, check.path, check.timeout)]
    else:
        test = ["CMD-SHELL", _probe_tcp(service.ports[check.port].container)]
    return {
        "Test": test,
        "Interval": int(check.interval * _NS),
        "Timeout": int(check.timeout * _NS),
        "Retries": check.retries,
        "StartPeriod": int(check.start_period * _NS),
    }


def probe_command(check: Mapping[str, Any]) -> list[str]:
    """A Docker healthcheck's test as a command to exec directly."""
    test = list(check["Test"])
    return test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
