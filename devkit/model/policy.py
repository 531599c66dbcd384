"""An environment's policy: which built-in rules `devkit check` (and every deploy) applies, how
they are tuned, and the Rego files with the team's own rules. Data only; the rules live in
devkit/policy/."""

from __future__ import annotations

from pydantic import Field, field_validator

from devkit.model.base import Model

RULES: dict[str, str] = {
    "pod-security": "pods meet the restricted Pod Security Standard",
    "resources": "every container sets CPU and memory requests and a memory limit",
    "mutable-tag": "images are pinned by digest or a dk-<hash> build tag, never a mutable tag",
    "registries": "images come only from the registries the environment allows",
    "host-access": "no host ports, host paths, host network, PID or IPC namespaces",
    "probes": "every long-running service has readiness and liveness probes",
    "disruption-budget": "a PodDisruptionBudget covers every workload with more than one replica",
    "min-replicas": "every stateless service runs at least the environment's minimum replicas",
    "secret-references": "secrets reach pods only by reference, never as literal values",
}
"""The built-in rules, by name, and what each one asks."""


class Policy(Model):
    """`app.environment("prod", ..., policy=Policy(min_replicas=3, registries=[...]))`.

    Declaring a policy makes it a gate: deploy and promote refuse (exit 3) a release that
    violates it. An environment without one is checked with the defaults, as advice.
    """

    disable: tuple[str, ...] = Field(default=(), description="built-in rules not applied")
    min_replicas: int | None = Field(
        default=None, ge=1, description="replicas every stateless service runs at least"
    )
    registries: tuple[str, ...] | None = Field(
        default=None,
        description='registries images may come from ("ghcr.io/acme"); None allows any',
    )
    rego: tuple[str, ...] = Field(
        default=(), description="Rego files (globs, relative to blueprint.py) with more rules"
    )
    enforce: bool = Field(
        default=True, description="refuse deploys that violate it; False: report only"
    )

    @field_validator("disable", mode="before")
    @classmethod
    def _known_rules(cls, value: object) -> object:
        names = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        unknown = [name for name in names if name not in RULES]
        if unknown:
            raise ValueError(
                f'unknown rule "{unknown[0]}"; built-in rules: {", ".join(sorted(RULES))}'
            )
        return tuple(sorted(set(names)))

    @field_validator("registries", "rego", mode="before")
    @classmethod
    def _sequence(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("registries")
    @classmethod
    def _registry_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        for registry in value:
            if not registry or "://" in registry or " " in registry:
                raise ValueError(
                    f'"{registry}" is not a registry; write a host and optional path, '
                    'e.g. "ghcr.io/acme" or "registry.example.com:5000"'
                )
        return tuple(r.rstrip("/") for r in value)
