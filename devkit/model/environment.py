"""An environment: a named place a blueprint runs (local, staging, prod), with its adjustments."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from devkit.model.backup import BackupSchedule
from devkit.model.base import Model, Name
from devkit.model.canary import Canary
from devkit.model.job import Job
from devkit.model.policy import Policy
from devkit.model.profile import Profile, profile_value
from devkit.model.service import Overrides
from devkit.model.targets import Target
from devkit.model.tenant import Tenant
from devkit.model.verify import Verify
from devkit.source import SourceLocation


class Environment(Model):
    """A target to run on, an optional capacity profile, and per-service overrides."""

    name: Name
    target: Target
    profile: Profile | None = None
    replicas: int | None = Field(
        default=None, ge=0, description="replicas of every stateless service without its own"
    )
    overrides: Overrides = Field(default_factory=dict)
    verify: Verify | None = Field(
        default=None, description="must pass before a deployed release counts as healthy"
    )
    jobs: tuple[Job, ...] = Field(
        default=(), description="pre-deploy jobs: must succeed before a release rolls out"
    )
    rollout_timeout: float = Field(
        default=300.0, gt=0, description="seconds a deploy waits for the rollout to be healthy"
    )
    policy: Policy | None = Field(
        default=None, description="the rules its releases must pass; None: the defaults, as advice"
    )
    canary: Canary | None = Field(
        default=None, description="release one service progressively (canary steps, A/B match)"
    )
    tenants: tuple[Tenant, ...] = Field(
        default=(), description="each runs the environment in a namespace of its own"
    )
    backups: BackupSchedule | None = Field(
        default=None, description="scheduled backups, rendered as a CronJob (clusters only)"
    )
    source: SourceLocation | None = Field(default=None, exclude=True, repr=False)

    @field_validator("profile", mode="before")
    @classmethod
    def _known_profile(cls, value: Any) -> Any:
        return profile_value(value)

    @field_validator("jobs")
    @classmethod
    def _unique_jobs(cls, value: tuple[Job, ...]) -> tuple[Job, ...]:
        names = [job.name for job in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"job names must be unique; given twice: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _tenants_on_one_cluster(self) -> Environment:
        if self.tenants and getattr(self.target, "clusters", ()):
            raise ValueError(
                "tenants of an environment on several clusters are not supported yet: declare "
                "the tenants in an environment per cluster"
            )
        return self

    @model_validator(mode="after")
    def _backups_on_a_cluster(self) -> Environment:
        if self.backups is not None and self.target.kind not in ("kind", "kubernetes"):
            raise ValueError(
                f"backups: a schedule is rendered as a Kubernetes CronJob, and this environment "
                f"runs on {self.target.kind}; schedule `devkit backup {self.name}` with the "
                "host's own scheduler (cron, a systemd timer) instead"
            )
        return self

    @field_validator("tenants")
    @classmethod
    def _unique_tenants(cls, value: tuple[Tenant, ...]) -> tuple[Tenant, ...]:
        names = [tenant.name for tenant in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"tenant names must be unique; given twice: {', '.join(twice)}")
        return value
