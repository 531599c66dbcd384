"""A service's environment on Kubernetes: plain values in a ConfigMap, secrets by reference.

Secret values are never rendered. Every secret is a key of one Secret per environment,
`<project>-secrets` in its namespace, read with `secretKeyRef`. A value that only partly is a
secret (a connection URL with a password) is composed by Kubernetes at container start from
dependent variables: the secret is read into `DEVKIT_SECRET_<NAME>` first, and the value says
`postgresql://shop:$(DEVKIT_SECRET_SHOP_DB_PASSWORD)@postgres:5432/shop`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devkit.planning.planner import EnvValue, Plan, PlannedService, SecretPart

HELPER_PREFIX = "DEVKIT_SECRET_"


def secret_object(plan: Plan) -> str:
    """The name of the Secret that holds an environment's secret values (created outside devkit)."""
    return f"{plan.project}-secrets"


def config_data(service: PlannedService) -> dict[str, str]:
    """The plain (secret-free) variables, for the service's ConfigMap."""
    return {name: value for name, value in service.env.items() if isinstance(value, str)}


def _from_secret(plan: Plan, name: str, secret: str) -> dict[str, Any]:
    return {
        "name": name,
        "valueFrom": {"secretKeyRef": {"name": secret_object(plan), "key": secret}},
    }


def _escaped(text: str) -> str:
    """Literal text inside a value Kubernetes expands: `$` is written `$$`."""
    return text.replace("$", "$$")


def secret_env(plan: Plan, service: PlannedService) -> list[dict[str, Any]]:
    """`env` entries for the variables that hold secrets: helpers first, then what uses them."""
    helpers: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for name, value in sorted(service.env.items()):
        if not isinstance(value, EnvValue):
            continue
        if len(value.parts) == 1 and isinstance(value.parts[0], SecretPart):
            entries.append(_from_secret(plan, name, value.parts[0].secret))
            continue
        text = []
        for part in value.parts:
            if isinstance(part, SecretPart):
                helper = HELPER_PREFIX + part.secret
                helpers.setdefault(helper, _from_secret(plan, helper, part.secret))
                text.append(f"$({helper})")
            else:
                text.append(_escaped(part))
        entries.append({"name": name, "value": "".join(text)})
    return [helpers[name] for name in sorted(helpers)] + entries


def variables(plan: Plan, service: PlannedService, names: Iterable[str]) -> list[dict[str, Any]]:
    """`env` entries for some of a service's variables (plain values written out, secrets by
    reference), for a container that runs beside it and needs only those."""
    chosen = {name: service.env[name] for name in sorted(set(names)) if name in service.env}
    plain = [
        {"name": name, "value": _escaped(value)}
        for name, value in chosen.items()
        if isinstance(value, str)
    ]
    return plain + secret_env(plan, service.model_copy(update={"env": chosen}))
