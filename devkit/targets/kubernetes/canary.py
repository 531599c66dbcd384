"""Decide a canary's objects on Kubernetes: the canary beside the stable service, and the weights
on the service's HTTPRoutes. Pure: a release's objects in, objects out.

The canary of service `api` is a Deployment, Service, ConfigMap and NetworkPolicy named
`api-canary`, made from the new release's objects for `api`. Its pods are selected by their own
name label (so the stable Service never sends them traffic), and carry `devkit.dev/service: api`,
the label of api's one-off pods, which the other services' NetworkPolicies admit wherever they
admit api. They carry the environment's labels, so the next ordinary apply prunes them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from devkit.model.canary import Cookie, Header
from devkit.render.network import ONE_OFF_SERVICE
from devkit.targets.base import LiveCanary, Traffic
from devkit.targets.kubernetes.spec import NAME

SUFFIX = "-canary"
CANARY_OF = "devkit.dev/canary-of"
CANARY_RELEASE = "devkit.dev/canary-release"
_COPIED = ("Deployment", "Service", "NetworkPolicy", "DestinationRule")


def canary_name(service: str) -> str:
    return f"{service}{SUFFIX}"


def _relabel(labels: Mapping[str, str], service: str, release: int) -> dict[str, str]:
    return {
        **labels,
        NAME: canary_name(service),
        CANARY_OF: service,
        CANARY_RELEASE: str(release),
    }


def canary_objects(
    objects: Sequence[Mapping[str, Any]], service: str, release: int
) -> list[dict[str, Any]]:
    """The canary of `service` made from a release's objects (its new version)."""
    name, env = canary_name(service), f"{service}-env"
    made: list[dict[str, Any]] = []
    for obj in objects:
        meta = obj["metadata"]
        is_env = obj["kind"] == "ConfigMap" and meta["name"] == env
        if not is_env and (obj["kind"] not in _COPIED or meta["name"] != service):
            continue
        new = copy.deepcopy(dict(obj))
        new["metadata"]["name"] = f"{name}-env" if is_env else name
        new["metadata"]["labels"] = _relabel(meta.get("labels") or {}, service, release)
        spec = new.get("spec") or {}
        if obj["kind"] == "Deployment":
            selector = spec["selector"]["matchLabels"]
            selector[NAME] = name
            template = spec["template"]
            template["metadata"]["labels"] = {
                **template["metadata"]["labels"], NAME: name, ONE_OFF_SERVICE: service,
            }  # fmt: skip
            for container in template["spec"].get("containers", []):
                for source in container.get("envFrom", []):
                    ref = source.get("configMapRef")
                    if ref and ref.get("name") == env:
                        ref["name"] = f"{name}-env"
            spec["replicas"] = max(1, int(spec.get("replicas", 1)))
        elif obj["kind"] == "Service":
            spec["selector"] = {**spec["selector"], NAME: name}
            spec.pop("clusterIP", None)
        elif obj["kind"] == "NetworkPolicy":
            spec["podSelector"]["matchLabels"][NAME] = name
        elif obj["kind"] == "DestinationRule":  # Istio: the canary's host, the same policy
            spec["host"] = _mesh_host(name, meta.get("namespace") or "")
        made.append(new)
    if not any(o["kind"] == "Deployment" for o in made):
        raise ValueError(f'no Deployment "{service}" among the release\'s objects')
    return made


def _is_route_of(obj: Mapping[str, Any], service: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return obj["kind"] == "HTTPRoute" and labels.get(NAME) == service


def _is_mesh_of(obj: Mapping[str, Any], service: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return obj["kind"] == "VirtualService" and labels.get(NAME) == service


def _match_rule(rule: Mapping[str, Any], match: Header | Cookie) -> list[dict[str, Any]]:
    """The rule's matches, each narrowed to the requests the A/B match selects."""
    if isinstance(match, Header):
        header = {"type": "Exact", "name": match.name, "value": match.value}
    else:  # Gateway API has no cookie match: the Cookie header, by a regular expression
        value = re.escape(match.value)
        header = {
            "type": "RegularExpression",
            "name": "Cookie",
            "value": f"(^|;\\s*){re.escape(match.name)}={value}(;|$)",
        }
    return [{**m, "headers": [*m.get("headers", []), header]} for m in rule.get("matches", [{}])]


def weighted_routes(objects: Sequence[Mapping[str, Any]], traffic: Traffic) -> list[dict[str, Any]]:
    """The service's HTTPRoutes from a release's objects, with every rule to the service split
    `100 - weight` : `weight` between it and its canary, and (with a match) a rule before each
    that sends matching requests to the canary alone."""
    routes = []
    for obj in objects:
        if not _is_route_of(obj, traffic.service):
            continue
        route = copy.deepcopy(dict(obj))
        rules = []
        for rule in route["spec"]["rules"]:
            refs = rule.get("backendRefs", [])
            own = [ref for ref in refs if ref.get("name") == traffic.service]
            if not own:
                rules.append(rule)
                continue
            port = own[0].get("port")
            canary_ref = {"name": canary_name(traffic.service), "port": port}
            if traffic.match is not None:
                rules.append(
                    {
                        **rule,
                        "matches": _match_rule(rule, traffic.match),
                        "backendRefs": [{**canary_ref, "weight": 1}],
                    }
                )
            split = [
                {**own[0], "weight": 100 - traffic.weight},
                {**canary_ref, "weight": traffic.weight},
            ]
            rules.append({**rule, "backendRefs": split})
        route["spec"]["rules"] = rules
        routes.append(route)
    return routes


def _mesh_host(service: str, namespace: str) -> str:
    """A Service's host as Istio objects name it (render/mesh.py's `host`)."""
    return f"{service}.{namespace}.svc.cluster.local"


def _mesh_match(entry: Mapping[str, Any], match: Header | Cookie) -> list[dict[str, Any]]:
    """The entry's Istio matches, each narrowed to the requests the A/B match selects (Istio
    matches a `regex` against the whole value, RE2)."""
    if isinstance(match, Header):
        header = {match.name.lower(): {"exact": match.value}}
    else:
        pattern = f"^(.*;\\s*)?{re.escape(match.name)}={re.escape(match.value)}(;.*)?$"
        header = {"cookie": {"regex": pattern}}
    return [{**m, "headers": {**m.get("headers", {}), **header}} for m in entry.get("match", [{}])]


def weighted_virtual_services(
    objects: Sequence[Mapping[str, Any]], traffic: Traffic
) -> list[dict[str, Any]]:
    """Istio: the service's VirtualServices with every route to the service split `100 - weight`
    : `weight` between it and its canary, and (with a match) an entry before each that sends
    matching calls to the canary alone. Rendered like the HTTPRoutes' weights; Istio's data
    plane does not run on the testbed, so these are validated, not exercised."""
    found = []
    for obj in objects:
        if not _is_mesh_of(obj, traffic.service):
            continue
        namespace = obj["metadata"].get("namespace") or ""
        own, canary_host = (
            _mesh_host(traffic.service, namespace),
            _mesh_host(canary_name(traffic.service), namespace),
        )
        service = copy.deepcopy(dict(obj))
        entries = []
        for entry in service["spec"].get("http", []):
            routes = entry.get("route", [])
            mine = [r for r in routes if r.get("destination", {}).get("host") == own]
            if not mine:
                entries.append(entry)
                continue
            canary_route = {"destination": {**mine[0]["destination"], "host": canary_host}}
            if traffic.match is not None:
                entries.append({
                    **entry, "name": f"{entry.get('name', 'route')}-canary-match",
                    "match": _mesh_match(entry, traffic.match), "route": [canary_route],
                })  # fmt: skip
            split = [
                {**mine[0], "weight": 100 - traffic.weight},
                {**canary_route, "weight": traffic.weight},
            ]
            entries.append({**entry, "route": split})
        service["spec"]["http"] = entries
        found.append(service)
    return found


def with_canary(
    stable: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    traffic: Traffic,
    release: int,
) -> list[dict[str, Any]]:
    """`stable`'s objects with the canary made from `new`'s, and the service's routes split."""
    weighted = {
        (r["kind"], r["metadata"]["name"]): r
        for r in [*weighted_routes(stable, traffic), *weighted_virtual_services(stable, traffic)]
    }
    kept = [weighted.get((o["kind"], o["metadata"]["name"]), dict(o)) for o in stable]
    return kept + canary_objects(new, traffic.service, release)


def route_objects(objects: Sequence[Mapping[str, Any]], service: str) -> list[dict[str, Any]]:
    """The objects that carry the service's weights among a release's objects: its HTTPRoutes
    (and, with Istio, its VirtualServices)."""
    return [
        dict(o)
        for o in objects
        if _is_route_of(o, service)
        or (
            o["kind"] == "VirtualService"
            and (o["metadata"].get("labels") or {}).get(NAME) == service
        )
    ]


def differs(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]],
            service: str) -> bool:  # fmt: skip
    """Whether the service's workload (its pod template, image, replicas) or its environment
    changes between two releases' objects."""

    def own(objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        wanted = {("Deployment", service), ("ConfigMap", f"{service}-env")}
        return sorted(
            (o for o in objects if (o["kind"], o["metadata"]["name"]) in wanted),
            key=lambda o: str(o["kind"]),
        )

    return own(before) != own(after)


def live_canary(
    deployments: Sequence[Mapping[str, Any]], routes: Sequence[Mapping[str, Any]]
) -> LiveCanary | None:
    """The canary the cluster runs, from its Deployments (by label) and the service's routes."""
    for deployment in deployments:
        labels = deployment["metadata"].get("labels") or {}
        service = labels.get(CANARY_OF)
        if not service:
            continue
        weight = 0
        for route in routes:
            for rule in route.get("spec", {}).get("rules", []):
                for ref in rule.get("backendRefs", []):
                    if ref.get("name") == canary_name(service) and len(rule["backendRefs"]) > 1:
                        weight = max(weight, int(ref.get("weight", 1)))
        return LiveCanary(service, int(labels.get(CANARY_RELEASE, "0") or 0), weight)
    return None
