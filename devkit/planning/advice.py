"""Warnings about a plan: choices that are allowed, but likely not what the team wants.

Each names the service, says what will happen and what would avoid it. The CLI prints them on
stderr (`warning: ...`); they are part of the Plan, so `--json` carries them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from devkit.model.environment import Environment
from devkit.model.refs import Ref
from devkit.model.service import Service

_SPOT_NOTICE = "as little as 30 s notice on GKE and AKS, 2 min on AWS"


def single_replica_on_spot(service: Service, env: Environment) -> str | None:
    """One replica placed on spot capacity is down whenever its node is reclaimed."""
    if service.autoscale is not None:
        return None
    if service.replicas == 1:
        why = "replicas=1 is set explicitly, so the spot profile's floor does not raise it"
    elif service.replicas is None and env.profile is not None and env.profile.min_replicas == 1:
        why = "the spot profile's min_replicas is 1"
    else:
        return None
    return (
        f'service "{service.name}" runs 1 replica on spot capacity ({why}): it is down each time '
        f"its node is reclaimed ({_SPOT_NOTICE}), and no PodDisruptionBudget can keep a single "
        "replica up; give it replicas=2 or more, or keep 1 only if it must never run twice"
    )


def references_without_dependency(
    service: Service, services: Mapping[str, Service], env: Environment
) -> list[str]:
    """On clusters, a NetworkPolicy admits only dependents: a reference alone cannot connect."""
    if env.target.kind not in ("kind", "kubernetes"):
        return []
    found: list[str] = []
    for var, value in sorted(service.env.items()):
        if (
            isinstance(value, Ref)
            and value.attr != "port"
            and value.service != service.name
            and value.service in services
            and value.service not in service.depends_on
        ):
            found.append(
                f'service "{service.name}": env.{var} refers to "{value.service}", which it does '
                f'not depend on; on Kubernetes the NetworkPolicy of "{value.service}" admits only '
                f"the services that depend on it, so the connection is refused: add "
                f'depends_on=["{value.service}"]'
            )
    return found


def autoscale_without_cpu_request(
    name: str, env: Environment, autoscaled: bool, cpu_request: str | None
) -> str | None:
    """A HorizontalPodAutoscaler on CPU needs a CPU request to compute utilisation from."""
    if not autoscaled or cpu_request is not None or env.target.kind not in ("kind", "kubernetes"):
        return None
    return (
        f'service "{name}" autoscales on CPU but requests no CPU, so the HorizontalPodAutoscaler '
        "cannot compute utilisation and never scales; give it resources=Resources(cpu=...)"
    )


def mesh_settings_without_mesh(
    name: str, env: Environment, circuit_breaker: bool, connection_pool: bool
) -> str | None:
    """Circuit breaking and connection pools are a mesh's: without one they do nothing."""
    if getattr(env.target, "mesh", None) is not None:
        return None
    what = [
        field
        for field, given in (
            ("circuit_breaker", circuit_breaker),
            ("connection_pool", connection_pool),
        )
        if given
    ]
    if not what:
        return None
    return (
        f'service "{name}": {" and ".join(what)} take{"" if len(what) > 1 else "s"} effect only in '
        f"a service mesh, and environment "
        f'"{env.name}" declares none ({env.target.kind}): nothing of '
        f'{"them" if len(what) > 1 else "it"} is rendered; declare the target with mesh="istio" '
        "where the cluster runs Istio"
    )


def metrics_without_scraper(service: Service, env: Environment) -> str | None:
    """On a cluster, the NetworkPolicies admit a scraper only from the namespace the target names:
    metrics without a `Scraper` cannot be scraped. (A local kind cluster is left alone.)"""
    if service.metrics is None or env.target.kind != "kubernetes":
        return None
    if getattr(env.target, "scraper", None) is not None:
        return None
    return (
        f'service "{service.name}" declares metrics, but environment "{env.name}" names no '
        "scraper: its NetworkPolicies admit no Prometheus to the metrics port; declare where it "
        'runs, e.g. Kubernetes(scraper=Scraper(namespace="monitoring"))'
    )


def collect(*found: str | Sequence[str] | None) -> list[str]:
    """The messages found, flattened, without the checks that found nothing."""
    messages: list[str] = []
    for item in found:
        if isinstance(item, str):
            messages.append(item)
        elif item is not None:
            messages.extend(item)
    return messages
