"""Budgets (issue 21): a figure measured several times from outside, the machine's load while it
ran, and PASS or FAIL against its limit. Imported by the benchmark scripts beside it.

Each verdict prints one line:

    PASS  devkit --help    median 0.101 s  (min 0.094-max 0.133 s, 15 runs)
          budget median <= 0.15 s  load 0.4-0.9 (2 cores)  cpu 0.085 s      (on one line)

and a FAIL prints, under it, the measured parts, the part that sets the floor and what was tried.
The load is the 1-minute load average sampled every half second while the figure was measured
(its lowest and highest value): on a shared machine a wall time also measures the neighbours,
which is why the child's CPU time (user + system, from the kernel) is printed beside it.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEVKIT = str(Path(sys.executable).parent / "devkit")
CORES = os.cpu_count() or 1
VERDICTS: list[str] = []  # every verdict line printed, for a summary at the end


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a user's shell gives devkit: this machine's shells set
    PYTHONDONTWRITEBYTECODE, which would make every run compile devkit's modules anew (an
    installed devkit has its bytecode cached), so it is dropped; colours off."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "NO_COLOR": "1", **(extra or {})}


class Load:
    """The 1-minute load average, sampled every half second while the block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def text(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return f"load {low:.1f}-{high:.1f} ({CORES} cores)"

    @property
    def idle(self) -> bool:
        """Whether the machine was idle enough for an 'idle machine' budget: the load stayed
        under the number of cores."""
        return max(self.samples) < CORES


@dataclass
class Runs:
    """Wall and CPU seconds of each run of one command, and the load while they ran."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    load: Load = field(default_factory=Load)


def run_cli(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], runs: int, warm: int = 1
) -> Runs:
    """Run a command `runs` times (after `warm` unmeasured runs that fill the page and bytecode
    caches), as a separate process each time: wall time from start to exit, and its CPU time."""
    for _ in range(warm):
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, timeout=300)
    result = Runs()
    with result.load:
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, timeout=300)
            result.wall.append(time.perf_counter() - began)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            result.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return result


def p95(values: Iterable[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def verdict(
    name: str,
    values: Sequence[float],
    limit: float,
    load: Load,
    *,
    statistic: str = "median",
    cpu: Sequence[float] = (),
    parts: Sequence[str] = (),
    floor: str = "",
    tried: Sequence[str] = (),
    idle_only: bool = False,
) -> bool:
    """Print one budget's verdict; on FAIL, the parts, the floor and what was tried."""
    measured = statistics.median(values) if statistic == "median" else p95(values)
    passed = measured <= limit
    spread = f"min {min(values):.3f}-max {max(values):.3f} s, {len(values)} runs"
    extra = f"  median {statistics.median(values):.3f} s" if statistic != "median" else ""
    line = (
        f"{'PASS' if passed else 'FAIL'}  {name:<38} {statistic} {measured:.3f} s{extra}  "
        f"({spread})  budget {statistic} <= {limit:g} s  {load.text()}"
    )
    if cpu:
        line += f"  cpu {statistics.median(cpu):.3f} s"
    if idle_only and not load.idle:
        line += "  [budget is for an idle machine; this one was not]"
    print(line, flush=True)
    VERDICTS.append(line)
    if not passed:
        for part in parts:
            print(f"      part: {part}")
        if floor:
            print(f"      floor: {floor}")
        for attempt in tried:
            print(f"      tried: {attempt}")
    return passed


def summary() -> None:
    if VERDICTS:
        print("\nbudgets:")
        for line in VERDICTS:
            print(f"  {line}")
