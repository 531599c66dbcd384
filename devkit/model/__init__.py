"""What users write: the blueprint model (pydantic v2, frozen, no I/O)."""

from devkit.model.backup import BackupSchedule, PgDump, RedisSnapshot, S3Objects, VolumeCopy
from devkit.model.blueprint import Blueprint
from devkit.model.build import Build
from devkit.model.canary import (
    Canary,
    Cookie,
    Header,
    Hook,
    Latency,
    Prometheus,
    Query,
    Step,
    SuccessRate,
)
from devkit.model.egress import Egress
from devkit.model.environment import Environment
from devkit.model.health import Command, HealthCheck, Http, Tcp
from devkit.model.job import Job
from devkit.model.mesh import CircuitBreaker, ConnectionPool, Istio
from devkit.model.metrics import Metrics, ScrapeTargets
from devkit.model.policy import Policy
from devkit.model.ports import Port
from devkit.model.profile import Profile, Uptime
from devkit.model.refs import Ref, Secret
from devkit.model.resources import Autoscale, Resources
from devkit.model.routes import TLS, Gateway, Route
from devkit.model.service import Service
from devkit.model.sync import Restart, Run, Sync
from devkit.model.targets import (
    Cluster,
    Docker,
    Ingress,
    Kind,
    Kubernetes,
    Scraper,
    Swarm,
    Target,
)
from devkit.model.tenant import TIERS, Tenant, Tier
from devkit.model.verify import Verify
from devkit.model.volume import Volume

__all__ = [
    "TIERS",
    "TLS",
    "Autoscale",
    "BackupSchedule",
    "Blueprint",
    "Build",
    "Canary",
    "CircuitBreaker",
    "Cluster",
    "Command",
    "ConnectionPool",
    "Cookie",
    "Docker",
    "Egress",
    "Environment",
    "Gateway",
    "Header",
    "HealthCheck",
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
    "Policy",
    "Port",
    "Profile",
    "Prometheus",
    "Query",
    "RedisSnapshot",
    "Ref",
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
    "Target",
    "Tcp",
    "Tenant",
    "Tier",
    "Uptime",
    "Verify",
    "Volume",
    "VolumeCopy",
]  # fmt: skip
