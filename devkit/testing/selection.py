"""Which services a test session starts, and the services as an environment declares them. Pure.

A session starts the services of a blueprint environment that run from an image (databases,
caches, brokers: the dependencies). Services built from source in the repo are the code under
test: they are never started, and naming one starts what it depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from devkit.errors import UserError
from devkit.model.blueprint import Blueprint
from devkit.model.service import Service
from devkit.planning.planner import Plan, select_services


def declared_services(blueprint: Blueprint, env: str) -> dict[str, Service]:
    """The services with environment `env`'s overrides applied (plan() has validated them)."""
    overrides = blueprint.environments[env].overrides
    return {
        name: service.with_overrides(overrides[name]) if name in overrides else service
        for name, service in blueprint.services.items()
    }


def choose_services(plan: Plan, names: Iterable[str] | None) -> tuple[str, ...]:
    """The image services to start, dependencies first: all of them, or what `names` need.

    `names` may hold services and groups; each brings everything it depends on. Built services
    are left out (their dependencies stay in).
    """
    known = {s.name: s for s in plan.services}
    wanted = list(names or ())
    chosen = select_services(plan, wanted) or set(known)
    started = tuple(s.name for s in plan.services if s.name in chosen and s.image is not None)
    if not started:
        built = sorted(name for name in chosen if known[name].image is None)
        raise UserError(
            f"devkit.testing: nothing to start for {', '.join(wanted) or plan.project}",
            details=[
                f"built from source, so never started by the test session: {', '.join(built)}",
                "name services that run from an image (postgres(), redis(), ...), or services "
                "that depend on them",
            ],
        )
    return started


def host_ports_of(service: Service) -> Mapping[str, int]:
    """Container port number of each named port (what a session publishes on the host)."""
    return {name: port.container for name, port in service.ports.items()}
