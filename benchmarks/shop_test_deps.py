"""How long examples/shop's test session takes to get its dependencies (postgres, redis) ready.

Runs a real pytest session of the shop's own tests several times (one quick test each, so the
session's start is what is measured) and reads devkit's summary line: the time from the
`devkit_stack` fixture starting to both dependencies passing their health checks (load and plan
the blueprint, sweep stale sessions, check images, network, containers, health). Prints the
median with the min-max spread, and each service's own health wait.

    .venv/bin/python benchmarks/shop_test_deps.py [--runs N]

Needs the engine and images of `bash tests/run` (tests/setup/engine.sh, images.sh).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"dependencies ready in ([\d.]+)s \(postgres ([\d.]+)s, redis ([\d.]+)s\)")


def once(env: dict[str, str]) -> tuple[float, float, float, float]:
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "examples/shop/tests/test_shop_api.py", "-k", "healthz_ok"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - began
    found = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or found is None:
        sys.exit(f"the session failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    total, postgres, redis = (float(x) for x in found.groups())
    return total, postgres, redis, wall


def report(name: str, values: list[float]) -> None:
    print(
        f"{name:<34} median {statistics.median(values):5.2f} s   "
        f"min {min(values):5.2f} s   max {max(values):5.2f} s   ({len(values)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DEVKIT_IMAGE_MAP": (REPO / "tests/setup/image-map.txt").read_text(),
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
    }
    once(env)  # warm: page cache, Python bytecode
    runs = [once(env) for _ in range(args.runs)]
    report("dependencies ready (both)", [r[0] for r in runs])
    report("  postgres health wait", [r[1] for r in runs])
    report("  redis health wait", [r[2] for r in runs])
    report("whole pytest session, one test", [r[3] for r in runs])


if __name__ == "__main__":
    main()
