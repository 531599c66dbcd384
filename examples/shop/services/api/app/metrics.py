"""The api's Prometheus metrics (prometheus-client), served on /metrics of its http port.

- `http_requests_total{method, route, code}`: requests answered, by route template (`/orders/{id}`,
  not each id, so the series stay few) and status code;
- `http_request_duration_seconds{method, route}`: how long answering took (a histogram).
The scraper adds who answered (`service`, `namespace`, `pod`).
"""

from __future__ import annotations

import re

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

ROUTES = ("/healthz", "/stats", "/version", "/orders", "/metrics")
_ORDER = re.compile(r"^/orders/\d{1,18}$")

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "code"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Seconds from reading a request to answering it",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route(path: str) -> str:
    """The route template a path matched, or "other" (so unknown paths make no new series)."""
    if path in ROUTES:
        return path
    return "/orders/{id}" if _ORDER.match(path) else "other"


def observe(method: str, path: str, code: int, seconds: float) -> None:
    name = route(path)
    REQUESTS.labels(method, name, str(code)).inc()
    LATENCY.labels(method, name).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
