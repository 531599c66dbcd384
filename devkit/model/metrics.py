"""Metrics a service exposes for Prometheus, and the scrape targets a stock Prometheus reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from devkit.model.base import Model, Name


class Metrics(Model):
    """The service serves Prometheus metrics on its port named `port`, at `path`.

    Locally a stock `blueprints.prometheus()` scrapes it; on clusters devkit renders what the
    cluster's Prometheus discovers (scrape annotations on the pods, or a ServiceMonitor or
    PodMonitor where the target's `Scraper` says the Prometheus Operator runs), and the
    NetworkPolicies admit the scraper's namespace to that port.
    """

    port: Name
    path: str = "/metrics"
    interval: float | None = Field(
        default=None, gt=0, description="seconds between scrapes (the scraper's default if unset)"
    )

    def __init__(self, port: str, **fields: Any) -> None:
        super().__init__(**{"port": port, **fields})

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError(f'metrics path "{value}" must start with "/" and hold no spaces')
        return value

    @property
    def duration(self) -> str | None:
        """`interval` as a Prometheus duration ("15s", "1500ms"), None when unset."""
        if self.interval is None:
            return None
        ms = round(self.interval * 1000)
        return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


class ScrapeTargets(Model):
    """An environment value: every service of the environment that declares `metrics`, as
    Prometheus file-based service discovery JSON (one target group per service: the service's
    name and metrics port as the address, labels `job` and `service` its name,
    `__metrics_path__` its path). Resolved per environment by the planner."""

    kind: Literal["scrape_targets"] = "scrape_targets"
