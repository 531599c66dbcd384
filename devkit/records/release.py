"""Release records: what was deployed to an environment, when, by whom, and how it ended. Pure.

Every deploy attempt is recorded in the target itself (never in a local file): the image digests,
the plan hash, the git commit, and what the target applied, so a rollback re-applies exactly what
ran. The decisions promotion makes from the records (what to take from the source, whether the
destination already runs it) are functions of plain values here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devkit.errors import RefusedError, UserError

Status = Literal["deploying", "healthy", "failed", "rolled-back", "interrupted", "paused"]
FINAL: tuple[Status, ...] = ("healthy", "failed", "rolled-back", "interrupted")
UNFINISHED: tuple[Status, ...] = ("deploying", "paused")


class PolicyResult(BaseModel):
    """The policy check a release passed (or, as advice, failed) before it was applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: bool
    enforced: bool = Field(description="whether a violation would have refused the release")
    rules: tuple[str, ...] = Field(default=(), description="the rules applied")
    violations: tuple[str, ...] = Field(default=(), description='"rule: Kind/name: message"')


class CheckResult(BaseModel):
    """One evaluation of a canary check: the number Prometheus answered and the verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    value: float | None = Field(description="None: the query had no data yet")
    passed: bool | None = Field(description="None: not judged (no data)")
    bound: str = Field(default="", description='what it was judged by, e.g. ">= 0.99"')
    at: str = ""


StepStatus = Literal["running", "passed", "failed", "paused"]


class StepResult(BaseModel):
    """One canary step as it went: its weight, each check evaluation, how it ended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: int
    started: str
    finished: str | None = None
    status: StepStatus = "running"
    checks: tuple[CheckResult, ...] = ()


class CanaryRecord(BaseModel):
    """A release rolled out as a canary of `service` beside release `stable`: its steps so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    stable: int = Field(description="the healthy release the canary ran beside")
    steps: tuple[StepResult, ...] = ()
    failed_checks: int = Field(default=0, description="failed check evaluations so far")

    @property
    def completed(self) -> int:
        """How many steps passed their checks (a paused step has)."""
        done = 0
        for step in self.steps:
            if step.status not in ("passed", "paused"):
                break
            done += 1
        return done

    @property
    def weight(self) -> int:
        """The canary's weight at its last step started (0 before any)."""
        return self.steps[-1].weight if self.steps else 0


_PROMOTED = re.compile(r"^promote from (?P<environment>\S+) #(?P<number>\d+)$")


class ReleaseCost(BaseModel):
    """What the release's plan was estimated to cost a month when it was deployed: `devkit
    cost`'s estimate (from what its pods request) at the price sheet named."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str
    min: float
    max: float
    prices: str = Field(description="the price sheet's name and date")


class Release(BaseModel):
    """One deploy attempt of an environment. `status` is its outcome (or `deploying`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    project: str
    environment: str
    images: dict[str, str] = Field(description="service -> repository@sha256:digest")
    plan_hash: str
    commit: str | None = None
    created: str = Field(description="ISO 8601, UTC")
    by: str = Field(description="who or what deployed: CI run, or user@host")
    origin: str = Field(description='"deploy", "promote from staging #3", "rollback to #2"')
    status: Status = "deploying"
    reason: str = ""
    finished: str | None = None
    spec: dict[str, Any] = Field(
        default_factory=dict, description="what the target applied, to roll back to exactly"
    )
    policy: PolicyResult | None = Field(
        default=None, description="the policy check before it was applied (None: not recorded)"
    )
    canary: CanaryRecord | None = Field(
        default=None, description="its canary steps, when it was rolled out as a canary"
    )
    cost: ReleaseCost | None = Field(
        default=None, description="its plan's monthly cost estimate (None: not recorded)"
    )

    @property
    def source(self) -> dict[str, Any] | None:
        """The environment and release a promotion took its images from (None otherwise)."""
        found = _PROMOTED.match(self.origin)
        if found is None:
            return None
        return {"environment": found["environment"], "release": int(found["number"])}

    def summary(self) -> dict[str, Any]:
        """The record without the target's spec: what `devkit releases` shows."""
        return {**self.model_dump(mode="json", exclude={"spec"}), "source": self.source}


def from_record(
    data: str | bytes,
    *,
    status: str | None,
    reason: str | None,
    finished: str | None,
    canary: str | None = None,
) -> Release:
    """A release as a target stores it: the record written at the start, and its outcome (and
    canary steps), kept apart (labels, annotations) because only that part of a stored record
    can change."""
    fields = json.loads(data)
    if canary:
        fields["canary"] = json.loads(canary)
    fields["status"] = status if status is not None else fields.get("status", "deploying")
    fields["reason"] = reason if reason is not None else fields.get("reason", "")
    fields["finished"] = finished or fields.get("finished")
    return Release.model_validate(fields)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_number(releases: Sequence[Release]) -> int:
    return max((r.number for r in releases), default=0) + 1


def latest(releases: Sequence[Release]) -> Release | None:
    return max(releases, key=lambda r: r.number, default=None)


def current(releases: Sequence[Release]) -> Release | None:
    """The release the environment runs: its newest healthy one."""
    healthy = [r for r in releases if r.status == "healthy"]
    return latest(healthy)


def find(releases: Sequence[Release], number: int, environment: str) -> Release:
    for release in releases:
        if release.number == number:
            return release
    known = ", ".join(f"#{r.number}" for r in sorted(releases, key=lambda r: r.number))
    raise RefusedError(
        f'environment "{environment}" has no release #{number}',
        details=[f"its releases: {known or '(none)'}"],
    )


def promotable(releases: Sequence[Release], environment: str) -> Release:
    """The source release a promotion takes: the last one, which must be healthy."""
    last = latest(releases)
    if last is None:
        raise RefusedError(
            f'environment "{environment}" has never been deployed; there is nothing to promote',
            details=[f"deploy it first: devkit deploy {environment}"],
        )
    if last.status != "healthy":
        why = f": {last.reason}" if last.reason else ""
        raise RefusedError(
            f'the last release of "{environment}" (#{last.number}) is {last.status}{why}',
            details=[
                "only a healthy release is promoted; fix and deploy it again, "
                f"or roll it back: devkit rollback {environment}"
            ],
        )
    return last


def runs_already(
    releases: Sequence[Release], images: Mapping[str, str], plan_hash: str
) -> Release | None:
    """The destination's current release if it runs exactly these images with this plan."""
    running = current(releases)
    last = latest(releases)
    if running is None or last is None or last.number != running.number:
        return None
    if dict(running.images) == dict(images) and running.plan_hash == plan_hash:
        return running
    return None


def rollback_target(releases: Sequence[Release], environment: str, to: int | None) -> Release:
    """What `rollback` restores: release `to`, or the healthy one before the current one."""
    if to is not None:
        chosen = find(releases, to, environment)
        if chosen.status != "healthy" and not chosen.spec:
            raise RefusedError(f'release #{to} of "{environment}" never ran; nothing to restore')
        return chosen
    running = current(releases)
    before = [
        r for r in releases if r.status == "healthy" and running and r.number < running.number
    ]
    choice = latest(before)
    if choice is None:
        raise RefusedError(
            f'environment "{environment}" has no earlier healthy release to roll back to',
            details=[f"its releases: devkit releases {environment}"],
        )
    return choice


_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since(value: str, now: datetime) -> datetime:
    """The moment `--since` means: a duration back from `now` (30m, 12h, 7d, 2w) or a date
    (2026-11-01) or time (2026-11-01T09:00:00Z; without a zone, UTC). UserError otherwise."""
    text = value.strip()
    duration = _DURATION.match(text)
    if duration:
        return now - timedelta(**{_UNITS[duration["unit"]]: int(duration["amount"])})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f'--since "{value}" is neither a duration nor a date',
            details=["e.g. 30m, 12h, 7d, 2w, 2026-11-01 or 2026-11-01T09:00:00Z"],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def created_since(releases: Sequence[Release], moment: datetime) -> list[Release]:
    """The releases created at or after `moment`."""
    return [
        r for r in releases if datetime.fromisoformat(r.created.replace("Z", "+00:00")) >= moment
    ]
