"""CPU and memory from the Docker engine's stats API, decided from its readings (pure): the
Docker target's containers and the Swarm target's tasks on this node.

The engine's one-shot reading (`/containers/ID/stats?stream=false&one-shot=true`, a few
milliseconds) carries the container's CPU time so far and when it was read; the CPU in use is
the CPU time between two readings over the time between them. Memory is the working set, as
`docker stats` shows it: the usage without the page cache the kernel can drop (cgroup v1:
`total_inactive_file`, v2: `inactive_file`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devkit.targets.base import ServiceUsage


@dataclass(frozen=True)
class Reading:
    """One stats reading of a container: CPU nanoseconds used so far, when, and memory."""

    cpu_ns: int
    at_ns: int
    memory: int


def reading(stats: Mapping[str, Any]) -> Reading:
    cpu = int((stats.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage", 0))
    memory_stats = stats.get("memory_stats") or {}
    details = memory_stats.get("stats") or {}
    inactive = int(details.get("total_inactive_file", details.get("inactive_file", 0)))
    used = int(memory_stats.get("usage", 0))
    return Reading(cpu, _nanoseconds(str(stats.get("read", ""))), max(0, used - inactive))


def cores(previous: Reading | None, current: Reading) -> float | None:
    """The CPU in use between two readings, in cores; None without an earlier reading (or
    when the counter went back: the container was replaced)."""
    if previous is None:
        return None
    elapsed = current.at_ns - previous.at_ns
    used = current.cpu_ns - previous.cpu_ns
    if elapsed <= 0 or used < 0:
        return None
    return used / elapsed


def _nanoseconds(stamp: str) -> int:
    """The engine's RFC 3339 time with nanoseconds, as integer nanoseconds since the epoch."""
    found = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", stamp)
    if found is None:
        return 0
    whole = datetime.fromisoformat(found[1] + found[3].replace("Z", "+00:00"))
    fraction = (found[2] or "0")[:9].ljust(9, "0")
    return int(whole.timestamp()) * 1_000_000_000 + int(fraction)


def per_service(found: list[tuple[str, float | None, int]]) -> list[ServiceUsage]:
    """(service, cores, memory) per container, summed per service in order of first sight: CPU
    unknown (None) while any of its containers has no earlier reading."""
    summed: dict[str, tuple[float | None, int]] = {}
    for service, cpu, memory in found:
        before_cpu, before_memory = summed.get(service, (0.0, 0))
        both = None if cpu is None or before_cpu is None else before_cpu + cpu
        summed[service] = (both, before_memory + memory)
    return [ServiceUsage(service, cpu, memory) for service, (cpu, memory) in summed.items()]
