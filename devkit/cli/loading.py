"""How commands get their blueprint, plans and targets: settings applied, the pure layers
called, and the target an environment declares opened and asked for one capability."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import typer

from devkit.cli.app import options

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.model.blueprint import Blueprint
    from devkit.planning.planner import Plan
    from devkit.project.settings import Settings

T = TypeVar("T")


def blueprint(ctx: typer.Context) -> Blueprint:
    """Load the blueprint named by -f, DEVKIT_FILE, [tool.devkit] file, or ./blueprint.py."""
    from devkit.project.load import load_blueprint

    return load_blueprint(settings(ctx).file)


def settings(ctx: typer.Context) -> Settings:
    """Flags, DEVKIT_* variables and [tool.devkit], combined."""
    from devkit.project.settings import load_settings

    return load_settings(file=options(ctx).file)


def env_plan(
    ctx: typer.Context, env: str | None, namespace: str | None = None, tenant: str | None = None
) -> tuple[Plan, Path, Settings, Blueprint]:
    """The plan of an environment (default: the configured default), for one of its tenants if
    given, its root, the settings and the blueprint; `namespace` moves a cluster environment
    to another namespace."""
    from devkit.planning.planner import plan
    from devkit.project.load import load_blueprint

    current = settings(ctx)
    loaded = load_blueprint(current.file)
    planned = plan(loaded, env or current.default_env, tenant)
    if namespace is not None:
        planned = planned.model_copy(update={"namespace": namespace})
    assert loaded.root is not None
    return planned, loaded.root, current, loaded


@contextmanager
def target_for(
    ctx: typer.Context,
    env: str | None,
    capability: type[T],
    *,
    context: str | None = None,
    namespace: str | None = None,
    force_conflicts: bool = False,
    tenant: str | None = None,
    cluster: str | None = None,
    narrows: bool = False,
) -> Iterator[tuple[T, Plan, Path, Settings]]:
    """The environment's target, asked for `capability`: exit 2, naming the environment, what
    it lacks and the environments that have it, when its target cannot. `narrows`: the
    command takes --cluster, whose `cluster` (one of an environment on several) it opens."""
    from devkit.devloop.state import running_forwards
    from devkit.targets.base import MissingCapabilityError, Namespaced, require
    from devkit.targets.registry import Options, capable, open_target

    planned, root, current, loaded = env_plan(ctx, env, namespace, tenant)
    if narrows:
        planned = one_cluster(planned, cluster)
    chosen = Options(
        context=context,
        force_conflicts=force_conflicts,
        forwards=lambda: running_forwards(planned.project, planned.environment),
    )
    with open_target(planned, chosen) as target:
        needs: list[type] = [capability, *([Namespaced] if namespace is not None else [])]
        for needed in needs:
            try:
                require(target, needed, planned)
            except MissingCapabilityError:
                others = capable(loaded, needed)
                raise MissingCapabilityError.of(planned, needed, others) from None
        yield target, planned, root, current  # type: ignore[misc]


def one_cluster(plan: Plan, cluster: str | None) -> Plan:
    """`plan` on its cluster `cluster` (--cluster) when it runs on several; as it is on one
    cluster without --cluster. UserError for a cluster it does not have, --cluster on an
    environment on one cluster, or none named on one on several."""
    from devkit.delivery.waves import waves
    from devkit.targets.base import ClusterNotChosenError

    found = waves(plan, cluster)
    if cluster is not None:
        return found[0].plan
    if found:
        raise ClusterNotChosenError(plan.environment, [w.cluster for w in found], narrows=True)
    return plan


def plan_for(ctx: typer.Context, env: str, tenant: str | None = None) -> Plan:
    """Load the blueprint and plan one of its environments (for one of its tenants)."""
    from devkit.planning.planner import plan

    return plan(blueprint(ctx), env, tenant)
