"""Wall time of deploy and promote for examples/shop on the real single-node swarm.

Copies examples/shop to a temporary directory under a unique project name (`shopdeploy-XXXXXX`),
builds and pushes its images once (`devkit build swarm-staging --push`, to the registry on
127.0.0.1:5000), then, per run, as CI would:

- deploy:         `devkit deploy swarm-staging --images images.json` on an empty environment
                  (postgres, redis, api, worker created; rollout; the smoke test as verify step)
- update:         a code change to the api, built and pushed, deployed the same way (a rolling,
                  start-first update of the api alone, then the smoke test)
- promote:        `devkit promote swarm-staging swarm-prod` to an empty prod (2 replicas)
- promote again:  the same promotion re-run (nothing to do; exit 0)

Each figure is the median of --runs runs with min and max, timed from process start to exit;
each run starts from empty environments (`devkit down --volumes` of both). Needs the engine as
a swarm manager and the registry (`bash tests/setup/registry.sh`); removes what it made.

    .venv/bin/python benchmarks/deploy.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "examples" / "shop"
DEVKIT = REPO / ".venv" / "bin" / "devkit"
IMAGE_MAP = REPO / "tests" / "setup" / "image-map.txt"
TIMEOUT = 600


def devkit(root: Path, env: dict[str, str], *args: str) -> float:
    began = time.monotonic()
    done = subprocess.run(
        [str(DEVKIT), *args], cwd=root, env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - began
    if done.returncode != 0:
        sys.exit(f"`devkit {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def copy_shop(into: Path, project: str) -> Path:
    root = into / project
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".env"))
    blueprint = root / "blueprint.py"
    blueprint.write_text(
        blueprint.read_text().replace('Blueprint("shop")', f'Blueprint("{project}")')
    )
    return root


def show(name: str, values: list[float]) -> None:
    print(
        f"{name:<15} median {statistics.median(values):6.2f} s   "
        f"min {min(values):6.2f}   max {max(values):6.2f}   ({len(values)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    project = f"shopdeploy-{secrets.token_hex(3)}"
    env = {
        **os.environ, "NO_COLOR": "1", "DEVKIT_IMAGE_MAP": IMAGE_MAP.read_text(),
        "SHOP_DB_PASSWORD": secrets.token_hex(8),
    }  # fmt: skip
    names = ("deploy", "update", "promote", "promote again")
    figures: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_shop(Path(tmp), project)
        version = root / "services" / "api" / "app" / "version.py"
        try:
            devkit(root, env, "build", "swarm-staging", "--push", "--images-file", "v1.json")
            for run in range(runs):
                for where in ("swarm-staging", "swarm-prod"):
                    devkit(root, env, "down", "-e", where, "--volumes")
                figures["deploy"].append(
                    devkit(root, env, "deploy", "swarm-staging", "--images", "v1.json")
                )
                version.write_text(f'"""The api\'s version."""\n\nVERSION = "bench-{run}"\n')
                devkit(root, env, "build", "swarm-staging", "--push", "--images-file", "v2.json")
                figures["update"].append(
                    devkit(root, env, "deploy", "swarm-staging", "--images", "v2.json")
                )
                figures["promote"].append(
                    devkit(root, env, "promote", "swarm-staging", "swarm-prod")
                )
                figures["promote again"].append(
                    devkit(root, env, "promote", "swarm-staging", "swarm-prod")
                )
                last = ", ".join(f"{k} {v[-1]:.2f}s" for k, v in figures.items())
                print(f"run {run + 1}: {last}", flush=True)
        finally:
            for where in ("swarm-staging", "swarm-prod"):
                subprocess.run(
                    [str(DEVKIT), "down", "-e", where, "--volumes"], cwd=root, env=env,
                    capture_output=True, timeout=TIMEOUT, check=False,
                )  # fmt: skip
    print(f"\nexamples/shop on a single-node swarm ({os.cpu_count()} cores), project {project}:")
    for name, values in figures.items():
        show(name, values)


if __name__ == "__main__":
    main()
