"""Names, labels and annotations every rendered object carries.

Labels are the Kubernetes recommended ones (`app.kubernetes.io/*`), with `managed-by: devkit`.
Selectors use only `name` and `instance`, which never change for a service in an environment.
"""

from __future__ import annotations

import hashlib
import re

from devkit.planning.planner import Plan

MANAGED_BY = "devkit"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
SPEC_HASH = "devkit.dev/spec-hash"
"""Annotation on workloads: the service's spec hash, which decides whether it is replaced."""
CONFIG_HASH = "devkit.dev/config-hash"
"""Annotation on pod templates: a hash of the ConfigMap, so a config change rolls the pods."""

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def fit(value: str, limit: int = 63) -> str:
    """A name cut to `limit` characters, with a hash of the whole so distinct names stay apart."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: limit - 9].rstrip('-.')}-{digest}"


def instance(plan: Plan) -> str:
    """The `app.kubernetes.io/instance` of an environment: `<project>-<environment>`, and
    `-<tenant>` for a tenant's."""
    tenant = f"-{plan.tenant}" if plan.tenant else ""
    return fit(f"{plan.project}-{plan.environment}{tenant}")


def common(plan: Plan) -> dict[str, str]:
    """Labels of every object of an environment."""
    return {
        "app.kubernetes.io/instance": instance(plan),
        MANAGED_BY_LABEL: MANAGED_BY,
        "app.kubernetes.io/part-of": plan.project,
    }


def selector(plan: Plan, service: str) -> dict[str, str]:
    """The labels that select one service's pods."""
    return {"app.kubernetes.io/instance": instance(plan), "app.kubernetes.io/name": service}


def of_service(plan: Plan, service: str, version: str | None = None) -> dict[str, str]:
    """Labels of one service's objects; `version` (an image tag) where it is a valid value."""
    labels = {**common(plan), "app.kubernetes.io/name": service}
    if version and len(version) <= 63 and _LABEL_VALUE.match(version):
        labels["app.kubernetes.io/version"] = version
    return labels


def metadata(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> dict[str, object]:
    """An object's metadata; `namespace=None` for cluster-scoped objects (the Namespace)."""
    meta: dict[str, object] = {"name": name, "labels": labels}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta
