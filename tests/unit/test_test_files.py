"""The test suite's own layout: pytest imports test files by basename (rootdir-relative, without
packages), so two test files with one name in different folders break collection of the whole
suite."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_file_has_a_basename_of_its_own() -> None:
    files = [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("examples/*/tests/**/test_*.py")]
    twice = {name: n for name, n in Counter(f.name for f in files).items() if n > 1}
    assert not twice, f"rename one of each: {sorted(twice)}"


def test_tests_that_share_an_engine_wide_thing_run_in_one_worker() -> None:
    """tests/run runs two pytest processes; a test marked k8s or swarm outside its shared group
    would run beside the others of its kind and tear their testbed or swarm down under them."""
    from tests.conftest import shared_group

    files = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("examples/*/tests/**/*.py")]
    misplaced = []
    for f in files:
        text = f.read_text()
        path = f.relative_to(ROOT).as_posix()
        for mark in ("k8s", "swarm"):
            marked = f"pytest.mark.{mark}" in text and f.name.startswith("test_")
            if marked and shared_group(f"{path}::test") != "engine-wide":
                misplaced.append(f"{path} ({mark})")
    assert not misplaced, f"move to its group (tests/conftest.py shared_group): {misplaced}"
    assert shared_group("tests/k8s/test_istio.py::test_x") == "engine-wide"
    assert shared_group("tests/docker/test_swarm.py::test_x") == "engine-wide"
    assert shared_group("tests/docker/test_up.py::test_x") is None
