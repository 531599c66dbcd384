"""`devkit status` on a swarm, decided from what the engine reports (devkit/targets/swarm/status.py)."""

from __future__ import annotations

from typing import Any

from devkit.targets.swarm.status import swarm_statuses

NODES = {"n1": "node-one", "n2": "node-two"}


def service(name: str, replicas: int | None = 2) -> dict[str, Any]:
    mode = {"Replicated": {"Replicas": replicas}} if replicas is not None else {"Global": {}}
    image = f"reg/{name}@sha256:{'a' * 64}"
    return {"Spec": {"Name": f"shop-prod-{name}", "Mode": mode,
                     "TaskTemplate": {"ContainerSpec": {"Image": image}}}}  # fmt: skip


def task(state: str, slot: int | None, *, desired: str = "running", node: str = "n1",
         container: str = "") -> dict[str, Any]:  # fmt: skip
    found: dict[str, Any] = {"DesiredState": desired, "NodeID": node, "Status": {"State": state}}
    if slot is not None:
        found["Slot"] = slot
    if container:
        found["Status"]["ContainerStatus"] = {"ContainerID": container}
    return found


def test_every_task_running_and_healthy_is_a_running_healthy_service_with_its_ports() -> None:
    tasks = {"api": [task("running", 1, container="c1"), task("running", 2, node="n2",
                                                             container="c2")]}  # fmt: skip
    (row,) = swarm_statuses({"api": service("api")}, tasks, NODES, {"c1": "healthy"},
                            {"api": {8000: 30001}})  # fmt: skip
    assert (row.container, row.state, row.health) == ("shop-prod-api", "running", "healthy")
    assert row.ports == {"8000/tcp": "127.0.0.1:30001"}
    assert row.image.startswith("reg/api@sha256:")
    # c2 runs on another node: its health is unknown ("-"), which does not make it unready
    assert [(p.name, p.node, p.ready, p.restarts) for p in row.pods] == [
        ("api.1", "node-one", True, 0), ("api.2", "node-two", True, 0)
    ]  # fmt: skip


def test_failed_tasks_count_as_restarts_of_their_slot_and_shut_down_ones_do_not() -> None:
    tasks = {"api": [
        task("running", 1, container="c3"), task("failed", 1, desired="shutdown"),
        task("rejected", 1, desired="shutdown"), task("shutdown", 2, desired="shutdown"),
        task("starting", 2, container="c4"),
    ]}  # fmt: skip
    (row,) = swarm_statuses({"api": service("api")}, tasks, NODES,
                            {"c3": "healthy", "c4": "starting"}, {})  # fmt: skip
    assert [(p.name, p.phase, p.ready, p.restarts) for p in row.pods] == [
        ("api.1", "running", True, 2), ("api.2", "starting", False, 0)
    ]  # fmt: skip
    assert (row.state, row.health, row.restarts) == ("starting", "starting", 2)
    assert row.to_dict()["ready"] == 1 and row.to_dict()["total"] == 2


def test_an_unhealthy_task_makes_the_service_unhealthy() -> None:
    tasks = {"api": [task("running", 1, container="a"), task("running", 2, container="b")]}
    (row,) = swarm_statuses({"api": service("api")}, tasks, NODES,
                            {"a": "healthy", "b": "unhealthy"}, {})  # fmt: skip
    assert row.health == "unhealthy" and [p.ready for p in row.pods] == [True, False]


def test_fewer_tasks_than_replicas_none_and_scaled_to_zero_are_said_as_such() -> None:
    services = {"a": service("a", 3), "b": service("b"), "c": service("c", 0)}
    tasks = {"a": [task("running", 1), task("running", 2)]}
    rows = {r.service: r.state for r in swarm_statuses(services, tasks, NODES, {}, {})}
    assert rows == {"a": "running 2/3", "b": "no tasks", "c": "scaled to 0"}


def test_a_global_service_names_its_tasks_by_node_and_restarts_count_per_node() -> None:
    tasks = {"agent": [
        task("running", None, node="n1"), task("running", None, node="n2"),
        task("failed", None, node="n2", desired="shutdown"),
    ]}  # fmt: skip
    (row,) = swarm_statuses({"agent": service("agent", None)}, tasks, NODES, {}, {})
    assert [(p.name, p.restarts) for p in row.pods] == [("agent.n1", 0), ("agent.n2", 1)]
    assert row.state == "running" and row.health == "-"
