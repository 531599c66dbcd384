"""Canary checks: the PromQL each check asks, the one number Prometheus answers, and the verdict.
Pure: the query text out, Prometheus's JSON answer in (`/api/v1/query`), a `CheckResult` back.

The built-in checks read the gateway's metrics of the canary's Service: Traefik's
`traefik_service_requests_total` (by `code`) and `traefik_service_request_duration_seconds`
histogram, whose `service` label names each backend of a route (`gateway_backend`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from string import Template

from devkit.errors import EngineError
from devkit.model.canary import Latency, Query, SuccessRate
from devkit.records.release import CheckResult

Check = SuccessRate | Latency | Query


class CheckQueryError(EngineError):
    """Prometheus refused a check's query, or answered with something that is not one number."""


@dataclass(frozen=True)
class Subject:
    """What the checks of one canary are about."""

    namespace: str
    service: str
    canary: str
    backend: str  # the gateway's `service` label of the canary's backend, a regular expression


def promql(check: Check, subject: Subject) -> str:
    """The instant query that answers the check with one number."""
    if isinstance(check, SuccessRate):
        window = round(check.window)
        total = _rate("traefik_service_requests_total", subject, "", window)
        good = _rate("traefik_service_requests_total", subject, ',code!~"5.."', window)
        return f"sum({good}) / sum({total})"
    if isinstance(check, Latency):
        buckets = _rate(
            "traefik_service_request_duration_seconds_bucket", subject, "", round(check.window)
        )
        return f"histogram_quantile({check.percentile / 100:g}, sum by (le) ({buckets}))"
    return Template(check.query).safe_substitute(
        namespace=subject.namespace, service=subject.service, canary=subject.canary
    )


def _rate(metric: str, subject: Subject, more: str, window: int) -> str:
    """The per-second rate of the gateway's `metric` for the canary's backend. The backend is in
    the `service` label, or in `exported_service` where the scrape sets `service` itself (as
    Prometheus Operator's ServiceMonitors do)."""
    return " or ".join(
        f'rate({metric}{{{label}=~"{subject.backend}"{more}}}[{window}s])'
        for label in ("service", "exported_service")
    )


def value_of(answer: str, query: str) -> float | None:
    """The one number in Prometheus's answer to an instant query; None when it has no data (an
    empty vector, or NaN: no requests in the window). CheckQueryError for anything else."""
    try:
        document = json.loads(answer)
    except ValueError:
        raise CheckQueryError(
            f"Prometheus did not answer JSON to {query!r}", details=[answer[:300]]
        ) from None
    if document.get("status") != "success":
        raise CheckQueryError(
            f"Prometheus refused {query!r}: {document.get('errorType', '')} "
            f"{document.get('error', '')}".strip()
        )
    data = document.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        sample = result
    elif kind == "vector":
        if not result:
            return None
        if len(result) > 1:
            labels = [json.dumps(series.get("metric", {}), sort_keys=True) for series in result]
            raise CheckQueryError(
                f"{query!r} returned {len(result)} series; a check needs one number",
                details=[*labels[:3], "aggregate it, e.g. sum(...) or max(...)"],
            )
        sample = result[0].get("value")
    else:
        raise CheckQueryError(f"{query!r} returned a {kind}; a check needs one number")
    if not isinstance(sample, list) or len(sample) != 2:
        raise CheckQueryError(f"{query!r}: Prometheus answered no sample", details=[answer[:300]])
    number = float(sample[1])
    return None if math.isnan(number) else number


def bound(check: Check) -> str:
    """What a value is judged by, as `devkit releases` shows it."""
    if isinstance(check, SuccessRate):
        return f">= {check.min:g}"
    if isinstance(check, Latency):
        return f"<= {check.max:g}s"
    parts = [f">= {check.min:g}" if check.min is not None else "",
             f"<= {check.max:g}" if check.max is not None else ""]  # fmt: skip
    return " and ".join(p for p in parts if p)


def judge(check: Check, value: float | None, at: str) -> CheckResult:
    """The verdict on one evaluation: passed, failed, or not judged (no data)."""
    passed: bool | None
    if value is None:
        passed = None
    elif isinstance(check, SuccessRate):
        passed = value >= check.min
    elif isinstance(check, Latency):
        passed = value <= check.max
    else:
        passed = (check.min is None or value >= check.min) and (
            check.max is None or value <= check.max
        )
    return CheckResult(name=check.name, value=value, passed=passed, bound=bound(check), at=at)


def describe(result: CheckResult) -> str:
    """e.g. "success-rate 0.873 (>= 0.99) failed"."""
    if result.value is None:
        return f"{result.name}: no data yet"
    verdict = "ok" if result.passed else "FAILED"
    return f"{result.name} {result.value:.4g} ({result.bound}) {verdict}"
