"""CPU and memory from the engines' readings (pure): Docker's stats API, Kubernetes' metrics API."""

from __future__ import annotations

import pytest

from devkit.targets.base import ServiceUsage
from devkit.targets.container_usage import Reading, cores, per_service, reading
from devkit.targets.kubernetes import status


def stats(cpu_ns: int, read: str, usage: int, inactive: int) -> dict[str, object]:
    return {
        "read": read,
        "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns}},
        "memory_stats": {"usage": usage, "stats": {"total_inactive_file": inactive}},
    }


def test_docker_cpu_is_the_cpu_time_between_two_readings_over_the_time_between() -> None:
    first = reading(stats(1_000_000_000, "2026-11-30T14:44:47.100000000Z", 100, 0))
    second = reading(stats(1_250_000_000, "2026-11-30T14:44:47.600000000Z", 100, 0))
    assert first.at_ns == 1796049887_100_000_000 and second.at_ns - first.at_ns == 500_000_000
    assert cores(None, first) is None
    assert cores(first, second) == pytest.approx(0.5)
    # a replaced container's counter starts again: no rate from it
    assert cores(second, Reading(10, second.at_ns + 1, 0)) is None


def test_docker_memory_is_the_working_set_without_the_page_cache() -> None:
    assert reading(stats(0, "2026-11-30T14:44:47Z", 103_161_856, 83_140_608)).memory == 20_021_248
    v2 = {"memory_stats": {"usage": 5000, "stats": {"inactive_file": 1000}}}
    assert reading(v2).memory == 4000


def pod(name: str, service: str, role: str | None = None) -> dict[str, object]:
    labels = {"app.kubernetes.io/name": service}
    if role:
        labels["devkit.dev/role"] = role
    return {"metadata": {"name": name, "labels": labels}}


def test_kubernetes_usage_sums_the_pods_of_each_service() -> None:
    pods = [pod("api-1", "api"), pod("api-2", "api"), pod("db-0", "db")]
    metrics = [
        {"metadata": {"name": "api-1"},
         "containers": [{"usage": {"cpu": "250000000n", "memory": "100Mi"}}]},
        {"metadata": {"name": "api-2"},
         "containers": [{"usage": {"cpu": "5m", "memory": "28Mi"}},
                        {"usage": {"cpu": "0", "memory": "1024Ki"}}]},
        {"metadata": {"name": "gone-7"}, "containers": [{"usage": {"cpu": "1", "memory": "1Gi"}}]},
    ]  # fmt: skip
    found = status.service_usage(["api", "db"], pods, metrics)
    assert found == [ServiceUsage("api", pytest.approx(0.255), 129 * 2**20)]
    assert status.cores("1500u") == pytest.approx(0.0015)
    with pytest.raises(ValueError, match="not a CPU quantity"):
        status.cores("lots")


def test_containers_of_one_service_are_summed_and_its_cpu_is_unknown_until_each_has_a_reading() -> (
    None
):
    found = per_service([("web", 0.25, 100), ("db", None, 50), ("web", 0.5, 20)])
    assert found == [ServiceUsage("web", 0.75, 120), ServiceUsage("db", None, 50)]
    assert per_service([("web", 0.25, 1), ("web", None, 2)]) == [ServiceUsage("web", None, 3)]
