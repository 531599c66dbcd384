"""Kubernetes probes from a service's health check.

The check becomes the readiness probe as declared (every `interval` seconds, `timeout` each,
unready after `retries` failures). The liveness probe runs the same check but restarts the
container only after three times as many failures, so a slow dependency takes a pod out of
service before it gets it killed. A `start_period` becomes a startup probe that allows that long
(plus the retries) before the other two begin.
"""

from __future__ import annotations

import math
from typing import Any

from devkit.model.health import HealthCheck

LIVENESS_FACTOR = 3


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def handler(check: HealthCheck) -> dict[str, Any]:
    """The probe's action: httpGet, tcpSocket or exec."""
    if check.kind == "http":
        return {"httpGet": {"path": check.path, "port": check.port}}
    if check.kind == "tcp":
        return {"tcpSocket": {"port": check.port}}
    return {"exec": {"command": list(check.command)}}


def probes(check: HealthCheck | None) -> dict[str, dict[str, Any]]:
    """readinessProbe, livenessProbe and (with a start period) startupProbe of a container."""
    if check is None:
        return {}
    action = handler(check)
    period, timeout = _seconds(check.interval), _seconds(check.timeout)
    timing = {"periodSeconds": period, "timeoutSeconds": timeout}
    found = {
        "readinessProbe": {**action, **timing, "failureThreshold": check.retries},
        "livenessProbe": {**action, **timing, "failureThreshold": check.retries * LIVENESS_FACTOR},
    }
    if check.start_period > 0:
        found["startupProbe"] = {
            **action,
            **timing,
            "failureThreshold": math.ceil(check.start_period / period) + check.retries,
        }
    return found
