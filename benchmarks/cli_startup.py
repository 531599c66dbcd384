"""How fast `devkit --help` answers, and what it imports (target: under 0.3 s).

Runs the installed `devkit` console script as a user does, several times, and prints the median
wall time with the min-max spread, then the same for `devkit validate` on examples/shop (which
imports pydantic and the user's blueprint).

    .venv/bin/python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True, timeout=60)
        times.append(time.perf_counter() - began)
    return times


def report(name: str, times: list[float]) -> None:
    print(
        f"{name:<28} median {statistics.median(times):.3f} s   "
        f"min {min(times):.3f} s   max {max(times):.3f} s   ({len(times)} runs)"
    )


def heavy_imports(devkit: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(devkit), "--help"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    names = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    return sorted(n for n in ("docker", "kubernetes", "pydantic", "rich", "jinja2") if n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    devkit = Path(sys.executable).parent / "devkit"
    timed([str(devkit), "--help"], REPO, 2)  # warm the page cache
    report("devkit --help", timed([str(devkit), "--help"], REPO, args.runs))
    report(
        "devkit validate (shop)",
        timed([str(devkit), "validate"], REPO / "examples/shop", args.runs),
    )
    report("python -c pass (baseline)", timed([sys.executable, "-c", "pass"], REPO, args.runs))
    print(f"heavy modules imported by --help: {', '.join(heavy_imports(devkit)) or 'none'}")


if __name__ == "__main__":
    main()
