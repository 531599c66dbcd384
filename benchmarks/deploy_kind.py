"""Wall time of deploy and promote for examples/shop on the kind testbed (Kubernetes target).

Copies examples/shop and adds two environments on the testbed's cluster (`kind-staging`,
`kind-prod`: context kind-devkit-testbed, images in its registry localhost:5001, fresh
namespaces per run, the shop's smoke test as verify step). Their CPU requests are scaled down
(50m per service) so that both fit beside the control plane on the single 2-core node; nothing
else differs from the shop. Per run, as CI would:

- deploy:        `devkit deploy kind-staging --images images.json` into an empty namespace
- update:        a code change to the api, built and pushed, deployed the same way
- promote:       `devkit promote kind-staging kind-prod` into an empty namespace
- promote again: the same promotion re-run (nothing to do; exit 0)

    bash tests/k8s/testbed/cluster.sh up
    .venv/bin/python benchmarks/deploy_kind.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTBED = REPO / "tests" / "k8s" / "testbed"
EXTRA = """

small = {s: {"resources": Resources(cpu="50m", memory="128Mi", memory_limit="512Mi")}
         for s in (db, cache, api, worker)}
def on_kind(env):
    return Kubernetes(context="kind-CLUSTER", registry="REGISTRY", namespace=f"NS-{env}")
app.environment("kind-staging", on_kind("staging"), overrides=small, verify=smoke,
                rollout_timeout=180)
app.environment("kind-prod", on_kind("prod"), overrides=small, verify=smoke, rollout_timeout=180)
"""


def run(root: Path, env: dict[str, str], *args: str) -> float:
    began = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "devkit"), *args], cwd=root, env=env,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"devkit {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    out = subprocess.run(["bash", str(TESTBED / "cluster.sh"), "env"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    bed = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    env = {
        **os.environ, "KUBECONFIG": bed["KUBECONFIG"], "NO_COLOR": "1",
        "DEVKIT_IMAGE_MAP": (REPO / "tests" / "setup" / "image-map.txt").read_text(),
        "SHOP_DB_PASSWORD": uuid.uuid4().hex[:12],
    }  # fmt: skip
    figures: dict[str, list[float]] = {k: [] for k in ("deploy", "update", "promote", "again")}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            root = Path(tmp) / f"run{n}"
            shutil.copytree(REPO / "examples" / "shop", root,
                            ignore=shutil.ignore_patterns("__pycache__", ".env"))  # fmt: skip
            namespace = f"shopbench-{uuid.uuid4().hex[:5]}"
            extra = EXTRA.replace("CLUSTER", bed["CLUSTER"]).replace("REGISTRY", bed["REGISTRY"])
            blueprint = root / "blueprint.py"
            blueprint.write_text(blueprint.read_text() + extra.replace("NS", namespace))
            version = root / "services" / "api" / "app" / "version.py"
            try:
                run(root, env, "build", "kind-staging", "--push", "--images-file", "v1.json")
                figures["deploy"].append(
                    run(root, env, "deploy", "kind-staging", "--images", "v1.json")
                )
                version.write_text(f'"""The api\'s version."""\n\nVERSION = "bench-{n}"\n')
                run(root, env, "build", "kind-staging", "--push", "--images-file", "v2.json")
                figures["update"].append(
                    run(root, env, "deploy", "kind-staging", "--images", "v2.json")
                )
                figures["promote"].append(run(root, env, "promote", "kind-staging", "kind-prod"))
                figures["again"].append(run(root, env, "promote", "kind-staging", "kind-prod"))
                print(f"run {n + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in
                                                   figures.items()), flush=True)  # fmt: skip
            finally:
                for where in ("staging", "prod"):
                    subprocess.run([bed["KUBECTL"], "--kubeconfig", bed["KUBECONFIG"], "delete",
                                    "namespace", f"{namespace}-{where}", "--grace-period=0",
                                    "--force", "--wait=true"], capture_output=True, check=False,
                                   timeout=300)  # fmt: skip
    print("\nexamples/shop on the kind testbed (Kubernetes target, 2 cores):")
    for name, values in figures.items():
        print(f"{name:<8} median {statistics.median(values):6.2f} s   min {min(values):6.2f}   "
              f"max {max(values):6.2f}   ({len(values)} runs)")  # fmt: skip


if __name__ == "__main__":
    main()
