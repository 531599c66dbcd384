"""The service dependency graph: order, cycles and closures. Pure functions over plain names."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence


class CycleError(ValueError):
    """The graph has a cycle; `cycle` lists it from a node back to itself."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(" -> ".join(cycle))


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], searching nodes in name order so the answer is stable."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(deps):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack: list[Iterator[str]] = [iter(sorted(deps.get(start, ())))]
        state[start] = 1
        while stack:
            node = next(stack[-1], None)
            if node is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(node) == 1:
                return [*path[path.index(node) :], node]
            if node in deps and not state.get(node):
                state[node] = 1
                path.append(node)
                stack.append(iter(sorted(deps[node])))
    return None


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with each dependency before its dependents, ties broken by name; CycleError if none."""
    cycle = find_cycle(deps)
    if cycle:
        raise CycleError(cycle)
    waiting = {node: {d for d in deps[node] if d in deps} for node in deps}
    dependents: dict[str, list[str]] = {node: [] for node in deps}
    for node, needs in waiting.items():
        for need in needs:
            dependents[need].append(node)
    ready = [node for node, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent].discard(node)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    return order


def with_dependencies(deps: Mapping[str, Sequence[str]], names: Iterable[str]) -> set[str]:
    """The named nodes and everything they depend on, directly or not."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(deps.get(node, ()))
    return seen
