"""Reading a gateway's verdict on HTTPRoutes from their status (targets/route_status.py)."""

from __future__ import annotations

from typing import Any

from devkit.targets.kubernetes.route_status import RouteStatus, route_problems, route_status

PARENT = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "testbed",
          "namespace": "devkit-gateway"}  # fmt: skip


def condition(kind: str, status: str, reason: str, message: str = "", generation: int = 2) -> Any:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation}  # fmt: skip


def route(*conditions: Any, parent: Any = PARENT, generation: int = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"parentRefs": [PARENT]},
    }
    if conditions:
        obj["status"] = {"parents": [{"parentRef": parent, "controllerName": "traefik.io/gateway-controller",
                                      "conditions": list(conditions)}]}  # fmt: skip
    return obj


def test_accepted_with_resolved_backends_is_ready() -> None:
    found = route(
        condition("Accepted", "True", "Accepted"), condition("ResolvedRefs", "True", "ResolvedRefs")
    )
    assert route_status(found) == RouteStatus("web", "ready")
    assert route_problems([found]) == []


def test_a_missing_backend_is_a_problem_with_the_gateways_reason_and_message() -> None:
    found = route(
        condition("Accepted", "True", "Accepted"),
        condition("ResolvedRefs", "False", "BackendNotFound",
                  "Cannot load HTTPBackendRef shop/legacy: getting service: not found"),
    )  # fmt: skip
    assert route_problems([found]) == [
        "HTTPRoute web: Gateway devkit-gateway/testbed cannot resolve its backends: "
        "BackendNotFound: Cannot load HTTPBackendRef shop/legacy: getting service: not found"
    ]


def test_a_route_the_gateway_does_not_accept_is_a_problem() -> None:
    found = route(condition("Accepted", "False", "NotAllowedByListeners"))
    status = route_status(found)
    assert status.state == "failed"
    assert (
        status.message == "Gateway devkit-gateway/testbed did not accept it: NotAllowedByListeners"
    )


def test_a_route_without_status_or_with_a_stale_one_is_pending() -> None:
    assert route_status(route()).state == "pending"
    assert "not accepted by Gateway devkit-gateway/testbed yet" in route_status(route()).message
    stale = route(condition("ResolvedRefs", "False", "BackendNotFound", generation=1), generation=2)
    assert route_status(stale).state == "pending"
    assert route_problems([stale]) == []


def test_only_the_status_of_the_routes_own_parent_counts() -> None:
    other = {**PARENT, "name": "other"}
    found = route(condition("ResolvedRefs", "False", "BackendNotFound"), parent=other)
    assert route_status(found).state == "pending"


def test_a_parent_ref_without_a_namespace_is_the_routes_namespace() -> None:
    local = {"name": "testbed"}
    found = route(condition("Accepted", "True", "Accepted"), condition("ResolvedRefs", "True", "ResolvedRefs"),
                  parent={"name": "testbed", "namespace": "shop"})  # fmt: skip
    found["spec"]["parentRefs"] = [local]
    assert route_status(found).state == "ready"


def test_a_route_without_parents_is_a_problem() -> None:
    found = route()
    found["spec"]["parentRefs"] = []
    assert route_problems([found]) == ["HTTPRoute web: it names no parent Gateway"]
