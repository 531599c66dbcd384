"""`check(plan, images, root) -> Report`: an environment's policy applied to what a deploy of
those images would apply, each violation tied to the blueprint line that declared its object."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from devkit.errors import RefusedError, RenderError
from devkit.model.policy import RULES, Policy
from devkit.planning.planner import Plan
from devkit.policy import rego, rules
from devkit.policy.rules import KubeObject, Violation
from devkit.render.manifest import render
from devkit.render.version import DEFAULT
from devkit.source import SourceLocation


@dataclass(frozen=True)
class Report:
    """The outcome of a check: the rules applied, and every violation."""

    project: str
    environment: str
    rules: tuple[str, ...]
    disabled: tuple[str, ...]
    violations: tuple[Violation, ...]
    enforced: bool
    """Whether a violation refuses a deploy (the environment declares a policy)."""

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "environment": self.environment,
            "passed": self.passed,
            "enforced": self.enforced,
            "rules": list(self.rules),
            "disabled": list(self.disabled),
            "violations": [v.to_dict() for v in self.violations],
        }


class PolicyViolationError(RefusedError):
    """A release broke the environment's policy: refused, nothing applied (exit 3)."""

    def __init__(self, report: Report, *, doing: str = "deploy") -> None:
        self.report = report
        count = len(report.violations)
        shown = [v.describe() for v in report.violations[:20]]
        if count > len(shown):
            shown.append(f"... and {count - len(shown)} more (devkit check {report.environment})")
        super().__init__(
            f'environment "{report.environment}": {count} policy violation'
            f"{'s' if count != 1 else ''}; {doing} refused, nothing was applied",
            details=shown,
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "policy": self.report.to_dict()}


def check(
    plan: Plan,
    images: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    kube_version: str = DEFAULT,
) -> Report:
    """Apply the plan's policy (or the defaults) to `render(plan, images)`; Rego files are
    read relative to `root` (blueprint.py's directory)."""
    policy = plan.policy or Policy()
    try:
        objects = render(plan, images, kube_version=kube_version).objects
    except RenderError as exc:
        if plan.namespace is not None:  # a Kubernetes environment: its deploy would fail too
            raise
        # Swarm runs what Kubernetes cannot express (e.g. more capabilities): judged by the plan.
        objects = ()
        skipped = Violation("render", "", plan.environment, f"not checked: {exc.message}")
        applied, found = rules.apply(objects, policy)
        found.append(skipped)
    else:
        applied, found = rules.apply(objects, policy)
    if policy.rego:
        modules = rego.load(policy.rego, root or Path.cwd(), location=plan.source)
        found += rego.evaluate(modules, document(plan, objects, policy))
        applied += sorted({m.package for m in modules})
    located = tuple(_located(v, plan, objects) for v in found)
    return Report(
        project=plan.project,
        environment=plan.environment,
        rules=tuple(applied),
        disabled=tuple(name for name in RULES if name in policy.disable),
        violations=located,
        enforced=plan.policy is not None and plan.policy.enforce,
    )


def document(plan: Plan, objects: Sequence[KubeObject], policy: Policy) -> dict[str, Any]:
    """What a Rego rule reads as `input`."""
    return {
        "project": plan.project,
        "environment": plan.environment,
        "objects": list(objects),
        "plan": plan.model_dump(mode="json"),
        "policy": policy.model_dump(mode="json"),
    }


def _located(violation: Violation, plan: Plan, objects: Sequence[KubeObject]) -> Violation:
    """The violation with the declaration of its service (or of the environment)."""
    service = violation.service
    if service is None and violation.kind:
        for obj in objects:
            meta = obj.get("metadata") or {}
            if obj.get("kind") == violation.kind and meta.get("name") == violation.name:
                service = (meta.get("labels") or {}).get("app.kubernetes.io/name")
    location: SourceLocation | None = plan.source
    if service is not None:
        declared = next((s for s in plan.services if s.name == service), None)
        if declared is not None and declared.source is not None:
            location = declared.source
    return replace(violation, service=service, location=location)
