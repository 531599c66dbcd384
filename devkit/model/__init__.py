"""What users write: the blueprint model (pydantic v2, frozen, no I/O)."""

from devkit.model.backup import PgDump, RedisSnapshot, S3Objects, VolumeCopy
from devkit.model.blueprint import Blueprint
from devkit.model.build import Build
from devkit.model.environment import Environment
from devkit.model.health import Command, HealthCheck, Http, Tcp
from devkit.model.job import Job
from devkit.model.policy import Policy
from devkit.model.ports import Port
from devkit.model.profile import Profile, Uptime
from devkit.model.refs import Ref, Secret
from devkit.model.resources import Autoscale, Resources
from devkit.model.routes import TLS, Gateway, Route
from devkit.model.service import Service
from devkit.model.sync import Restart, Run, Sync
from devkit.model.targets import Docker, Ingress, Kind, Kubernetes, Scraper, Swarm, Target
from devkit.model.verify import Verify
from devkit.model.volume import Volume

__all__ = [
    "TLS",
    "Autoscale",
    "Blueprint",
    "Build",
    "Command",
    "Docker",
    "Environment",
    "Gateway",
    "HealthCheck",
    "Http",
    "Ingress",
    "Job",
    "Kind",
    "Kubernetes",
    "PgDump",
    "Policy",
    "Port",
    "Profile",
    "RedisSnapshot",
    "Ref",
    "Resources",
    "Restart",
    "Route",
    "Run",
    "S3Objects",
    "Scraper",
    "Secret",
    "Service",
    "Swarm",
    "Sync",
    "Target",
    "Tcp",
    "Uptime",
    "Verify",
    "Volume",
    "VolumeCopy",
]  # fmt: skip
