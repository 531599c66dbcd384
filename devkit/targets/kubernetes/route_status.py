"""Whether Gateway API routes are served, read from the status their gateway writes. Pure: the
live HTTPRoute objects (plain dicts) in, a verdict out.

A gateway controller records, per parent Gateway of a route, the conditions `Accepted` (the
Gateway took the route: a listener allows its namespace and matches its hostnames) and
`ResolvedRefs` (every backend exists and may be referenced). A condition counts only when its
`observedGeneration` is the route's current generation; older ones describe a previous spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

State = Literal["ready", "pending", "failed"]


@dataclass(frozen=True)
class RouteStatus:
    """One route: `ready` (every parent accepted it and resolved its backends), `failed` (a
    parent said no: `message` says which and why), or `pending` (no current verdict yet)."""

    name: str
    state: State
    message: str = ""


def _parent(ref: Mapping[str, Any], namespace: str) -> tuple[str, str, str]:
    return (ref.get("namespace") or namespace, ref.get("name", ""), ref.get("sectionName") or "")


def route_status(route: Mapping[str, Any]) -> RouteStatus:
    """The verdict on one live HTTPRoute (or any Gateway API route) from its status."""
    meta = route.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace") or ""
    generation = meta.get("generation")
    wanted = [_parent(ref, namespace) for ref in (route.get("spec") or {}).get("parentRefs") or []]
    reported = {
        _parent(parent.get("parentRef") or {}, namespace): parent
        for parent in (route.get("status") or {}).get("parents") or []
    }
    waiting: list[str] = []
    for key in wanted:
        gateway = f"{key[0]}/{key[1]}" + (f" (listener {key[2]})" if key[2] else "")
        conditions = {
            c.get("type"): c
            for c in (reported.get(key) or {}).get("conditions") or []
            if generation is None or c.get("observedGeneration") in (None, generation)
        }
        accepted, resolved = conditions.get("Accepted"), conditions.get("ResolvedRefs")
        if accepted is not None and accepted.get("status") == "False":
            return RouteStatus(
                name, "failed", f"Gateway {gateway} did not accept it: {_why(accepted)}"
            )
        if resolved is not None and resolved.get("status") == "False":
            return RouteStatus(
                name, "failed", f"Gateway {gateway} cannot resolve its backends: {_why(resolved)}"
            )
        if accepted is None or accepted.get("status") != "True":
            waiting.append(f"not accepted by Gateway {gateway} yet")
        elif resolved is None or resolved.get("status") != "True":
            waiting.append(f"backends not resolved by Gateway {gateway} yet")
    if not wanted:
        return RouteStatus(name, "failed", "it names no parent Gateway")
    if waiting:
        return RouteStatus(name, "pending", "; ".join(waiting))
    return RouteStatus(name, "ready")


def _why(condition: Mapping[str, Any]) -> str:
    reason, message = condition.get("reason") or "", condition.get("message") or ""
    return f"{reason}: {message}" if reason and message else reason or message or "no reason given"


def route_problems(routes: Iterable[Mapping[str, Any]]) -> list[str]:
    """What keeps the routes from being served, one line per failed route (empty: none failed;
    routes still pending are not problems yet)."""
    return [
        f"HTTPRoute {status.name}: {status.message}"
        for status in map(route_status, routes)
        if status.state == "failed"
    ]
