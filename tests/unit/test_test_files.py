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
