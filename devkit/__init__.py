"""devkit: one typed Python blueprint from laptop to production.

The public API is re-exported here lazily, so that `devkit --help` stays fast: nothing heavy is
imported until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from devkit.errors import BlueprintError, DevkitError, EngineError, RefusedError, UserError
    from devkit.model import (
        TLS,
        Autoscale,
        Blueprint,
        Build,
        Canary,
        CircuitBreaker,
        Cluster,
        Command,
        ConnectionPool,
        Cookie,
        Docker,
        Egress,
        Environment,
        Gateway,
        Header,
        Hook,
        Http,
        Ingress,
        Istio,
        Job,
        Kind,
        Kubernetes,
        Latency,
        Metrics,
        Policy,
        Port,
        Profile,
        Prometheus,
        Query,
        Ref,
        Resources,
        Restart,
        Route,
        Run,
        Scraper,
        ScrapeTargets,
        Secret,
        Service,
        Step,
        SuccessRate,
        Swarm,
        Sync,
        Tcp,
        Tenant,
        Tier,
        Uptime,
        Verify,
        Volume,
    )  # fmt: skip
    from devkit.model.backup import BackupSchedule, PgDump, RedisSnapshot, S3Objects, VolumeCopy
    from devkit.planning.planner import Plan, plan
    from devkit.project.load import load_blueprint

_EXPORTS = {
    "devkit.model": (
        "Autoscale", "Blueprint", "Build", "CircuitBreaker", "Cluster", "Command",
        "ConnectionPool", "Docker", "Egress", "Environment", "Gateway", "Http", "Ingress", "Istio",
        "Job", "Kind", "Kubernetes", "Metrics", "Policy", "Port", "Profile", "Ref", "Resources",
        "Restart", "Route", "Run", "Scraper", "ScrapeTargets", "Secret", "Service", "Swarm",
        "Sync", "Tcp", "Tenant", "Tier", "TLS", "Uptime", "Verify", "Volume",
        "Canary", "Cookie", "Header", "Hook", "Latency", "Prometheus", "Query", "Step",
        "SuccessRate",
    ),
    "devkit.model.backup": ("BackupSchedule", "PgDump", "RedisSnapshot", "S3Objects", "VolumeCopy"),
    "devkit.errors": ("BlueprintError", "DevkitError", "EngineError", "RefusedError", "UserError"),
    "devkit.project.load": ("load_blueprint",),
    "devkit.planning.planner": ("Plan", "plan"),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "TLS",
    "Autoscale",
    "BackupSchedule",
    "Blueprint",
    "BlueprintError",
    "Build",
    "Canary",
    "CircuitBreaker",
    "Cluster",
    "Command",
    "ConnectionPool",
    "Cookie",
    "DevkitError",
    "Docker",
    "Egress",
    "EngineError",
    "Environment",
    "Gateway",
    "Header",
    "Hook",
    "Http",
    "Ingress",
    "Istio",
    "Job",
    "Kind",
    "Kubernetes",
    "Latency",
    "Metrics",
    "PgDump",
    "Plan",
    "Policy",
    "Port",
    "Profile",
    "Prometheus",
    "Query",
    "RedisSnapshot",
    "Ref",
    "RefusedError",
    "Resources",
    "Restart",
    "Route",
    "Run",
    "S3Objects",
    "ScrapeTargets",
    "Scraper",
    "Secret",
    "Service",
    "Step",
    "SuccessRate",
    "Swarm",
    "Sync",
    "Tcp",
    "Tenant",
    "Tier",
    "Uptime",
    "UserError",
    "Verify",
    "Volume",
    "VolumeCopy",
    "load_blueprint",
    "plan",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'devkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
