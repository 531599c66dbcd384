"""The inner loop on a kind cluster, measured from outside as a user sees it: save a file, poll
the port-forward on 127.0.0.1 until the new code answers.

On a copy of examples/shop (its own project name and namespace) in the `dev` environment, on the
kind cluster SHOP_KIND_CLUSTER names (default: the test suite's testbed, `devkit-testbed`), with
`devkit up -e dev` running in the foreground: --edits edits of the api's version.py, each timed
from the save to GET /version answering the new value through the forward (budget: median
<= 0.15 s, p95 <= 0.4 s; printed with the load while the edits ran and PASS/FAIL). Any failed
request (refused, reset, a response cut short by the restart: http.client.IncompleteRead) counts
as "not yet" and is asked again, within the edit's time limit. Then the api's pod is deleted,
and the time until the forward answers again from the new pod, with the synced code put back,
is measured once.

    bash tests/k8s/testbed/cluster.sh up        # or any kind cluster; then:
    .venv/bin/python benchmarks/devloop_kind.py [--edits 20]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from budget import Load, p95, summary, user_env, verdict

REPO = Path(__file__).resolve().parent.parent
TESTBED = REPO / "tests" / "k8s" / "testbed"


MEDIAN_BUDGET, P95_BUDGET = 0.15, 0.4


def get(url: str) -> str:
    """The body, or "" for any failed request: a restart cuts connections in every way
    (refused, reset, IncompleteRead mid-body); the caller asks again, within its limit."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except (OSError, http.client.HTTPException, ValueError):
        return ""


def testbed_env() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(TESTBED / "cluster.sh"), "env"], capture_output=True, text=True, check=True
    ).stdout
    found = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    path = [str(Path(found["KIND"]).parent)]
    if found.get("DOCKER_SHIM") == "1":
        path.insert(0, str(TESTBED / "docker-shim"))
    return {
        "KUBECONFIG": found["KUBECONFIG"],
        "SHOP_KIND_CLUSTER": found["CLUSTER"],
        "BENCH_KUBECTL": found["KUBECTL"],
        "PATH": os.pathsep.join([*path, os.environ["PATH"]]),
    }


def wait(url: str, expect: str, limit: float = 60.0) -> float:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if expect in get(url):
            return time.monotonic()
        time.sleep(0.005)
    sys.exit(f"{url} did not answer {expect!r} within {limit:g}s")


def main() -> None:  # noqa: PLR0915 - one scripted session, step by step
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    edits = parser.parse_args().edits
    project = f"shopkind{uuid.uuid4().hex[:5]}"
    env = user_env({
        **testbed_env(),
        "DEVKIT_IMAGE_MAP": (REPO / "tests" / "setup" / "image-map.txt").read_text(),
        "SHOP_DB_PASSWORD": uuid.uuid4().hex[:12],
    })  # fmt: skip
    devkit = str(Path(sys.executable).parent / "devkit")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / project
        shutil.copytree(REPO / "examples" / "shop", root,
                        ignore=shutil.ignore_patterns("__pycache__", ".env"))  # fmt: skip
        blueprint = root / "blueprint.py"
        blueprint.write_text(
            blueprint.read_text().replace('Blueprint("shop")', f'Blueprint("{project}")')
        )
        version = root / "services" / "api" / "app" / "version.py"
        proc = subprocess.Popen(
            [devkit, "up", "-e", "dev"], cwd=root, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            url = ""
            began = time.monotonic()
            seen: list[str] = []
            # Keep reading its output all along: a full pipe would stop devkit mid-sync.
            threading.Thread(target=lambda: seen.extend(proc.stdout or []), daemon=True).start()
            while not (url and any("watching" in line for line in seen)):
                found = [re.search(r"api\.http: (http://127\.0\.0\.1:\d+)", x) for x in seen]
                url = next((m.group(1) for m in found if m), "")
                if time.monotonic() - began > 600 or proc.poll() is not None:
                    sys.exit("devkit up -e dev did not get ready:\n" + "".join(seen[-30:]))
                time.sleep(0.2)
            print(f"up -e dev (cold for this project) ready in {time.monotonic() - began:.1f} s")
            times = []
            mark = len(seen)
            with Load() as load:
                for n in range(edits):
                    saved = time.monotonic()
                    version.write_text(f'"""v"""\n\nVERSION = "kind-{n}"\n')
                    times.append(wait(f"{url}/version", f'"kind-{n}"') - saved)
                    time.sleep(0.3)
            ordered = sorted(times)
            print(
                f"save -> served through the port-forward ({edits} edits): median "
                f"{statistics.median(ordered):.3f} s, p95 {p95(ordered):.3f}, "
                f"min {ordered[0]:.3f}, max {ordered[-1]:.3f}  {load.text()}"
            )
            reported = [
                float(m)
                for line in seen[mark:]
                for m in re.findall(r"answering ([0-9.]+)s after save", line)
            ]
            parts = [
                f"devkit's own timer (save's mtime -> health check answers through the "
                f"forward): median {statistics.median(reported):.3f} s, p95 "
                f"{p95(reported):.3f} s"
                if reported
                else "devkit's own timer: no sync line",
                "the rest: the watcher's event, the agent's copy over the exec API into the "
                "pod, the supervisor's restart, then the request through kubectl's "
                "port-forward (a tunnel over the API server)",
            ]
            common = {
                "parts": parts,
                "floor": "the restart of the api process in the pod, then the first "
                "request through the port-forward",
                "tried": [
                    "requests racing the restart retried (IncompleteRead no longer ends the run)",
                ],
            }
            verdict("live sync (kind), median", times, MEDIAN_BUDGET, load, **common)  # type: ignore[arg-type]
            verdict("live sync (kind), p95", times, P95_BUDGET, load, statistic="p95", **common)  # type: ignore[arg-type]
            deleted = time.monotonic()
            subprocess.run(
                [env["BENCH_KUBECTL"], "-n", f"{project}-dev", "delete", "pod", "-l",
                 "app.kubernetes.io/name=api", "--wait=false"],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
            time.sleep(1)
            wait(f"{url}/version", f'"kind-{edits - 1}"', 180)
            print(f"api pod deleted -> new pod serves the synced code: "
                  f"{time.monotonic() - deleted:.1f} s")  # fmt: skip
            summary()
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have ended already
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            subprocess.run([devkit, "down", "-e", "dev", "--volumes"], cwd=root, env=env,
                           capture_output=True, check=False)  # fmt: skip


if __name__ == "__main__":
    main()
