from __future__ import annotations

import pytest

from devkit.planning.graph import CycleError, find_cycle, topological_order, with_dependencies


def test_order_puts_dependencies_first_and_breaks_ties_by_name() -> None:
    deps = {"api": ["db", "cache"], "worker": ["db"], "db": [], "cache": []}
    assert topological_order(deps) == ["cache", "db", "api", "worker"]


def test_cycle_names_every_node_in_it() -> None:
    with pytest.raises(CycleError) as info:
        topological_order({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
    assert info.value.cycle == ("a", "b", "c", "a")


def test_self_dependency_is_a_cycle() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_acyclic_diamond_has_no_cycle() -> None:
    assert find_cycle({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}) is None


def test_closure_includes_transitive_dependencies_only() -> None:
    deps = {"api": ["db"], "db": ["disk"], "disk": [], "worker": ["db"]}
    assert with_dependencies(deps, ["api"]) == {"api", "db", "disk"}
