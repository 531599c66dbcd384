"""Canary timings on the kind testbed, through its real gateway (Traefik, port-forwarded).

A small web app (its version in an X-Version header) runs in two environments on the testbed:
`staging` (deployed at once) and `prod`, whose releases go out as canaries with two 10-second
steps (50%, 100%). Per run, while requests flow through Traefik from this machine:

- to 100%:  `devkit promote staging prod` of a new version: seconds from the command's start
            until its last weight is applied (its "step 2/2" line), until requests through
            Traefik are all answered by the new version, and until the command ends (promoted);
- abort:    a promotion whose first step is judged bad: seconds from devkit's decision (its
            "aborting the canary" line) until requests through Traefik are all answered by the
            stable version again (weight 0 applied by the gateway), and until the command ends.
            The bad verdict comes from a hook that fails 3 s into the first step
            (`--detect hook`), or from the
            success-rate check against Prometheus (`--detect prometheus=NS/NAME:PORT`), the
            new version answering 500 to every third request.

    bash tests/k8s/testbed/cluster.sh up
    .venv/bin/python benchmarks/canary.py [--runs 3] [--detect hook]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTBED = REPO / "tests" / "k8s" / "testbed"
BLUEPRINT = """
import os
from devkit import (Blueprint, Build, Canary, Gateway, Hook, Http, Kubernetes, Port, Route, Step,
                    SuccessRate)

def on(env, host, canary=None):
    gateway = Gateway(name="testbed", namespace="devkit-gateway",
                      controller_namespace="devkit-gateway")
    target = Kubernetes(context="kind-CLUSTER", registry="REGISTRY", namespace=f"NS-{env}",
                        gateway=gateway)
    port = Port(8000, routes=Route(hosts=host))
    app.environment(env, target, overrides={"web": {"ports": {"http": port}}}, canary=canary,
                    rollout_timeout=120)

detect = os.environ.get("BENCH_DETECT", "hook")
checks = [SuccessRate(min=0.95, window=10)] if detect != "hook" else []
bad = os.environ.get("BENCH_BAD") == "1"
hooks = [Hook(["sh", "-c", "sleep 3; exit 1"])] if detect == "hook" and bad else []
app = Blueprint("cnb")
app.service("web", build=Build("web"), ports={"http": 8000},
            health=Http("/healthz", port="http", interval=1, retries=2))
on("staging", "staging.NS.bench")
on("prod", "prod.NS.bench", Canary(
    service="web", steps=[Step(50, pause=10), Step(100, pause=10)], checks=checks, hooks=hooks,
    interval=2, prometheus=None if detect == "hook" else detect.removeprefix("prometheus="),
))
"""
APP = """
import http.server, pathlib
VERSION = pathlib.Path("/app/VERSION").read_text().strip()
COUNT = [0]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        COUNT[0] += 1
        bad = VERSION.endswith("-bad") and self.path != "/healthz" and COUNT[0] % 3 == 0
        self.send_response(500 if bad else 200)
        self.send_header("X-Version", VERSION)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""


@dataclass
class Traffic:
    """Requests to one host through Traefik, each with when it was sent and who answered."""

    port: int
    host: str
    hits: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        deadline = time.monotonic() + 900
        while not self.stop.is_set() and time.monotonic() < deadline:
            sent = time.time()
            try:
                conn.request("GET", "/", headers={"Host": self.host})
                response = conn.getresponse()
                response.read()
                self.hits.append((sent, response.getheader("X-Version") or "-"))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                time.sleep(0.05)

    def settled(self, version: str, after: float) -> float | None:
        """When, after `after`, every later request was answered by `version` (the sending
        time of the first of them)."""
        last_other = max((at for at, v in self.hits if at >= after and v != version), default=after)
        later = [at for at, v in self.hits if at > last_other and v == version]
        return min(later) if later else None


def devkit(root: Path, env: dict[str, str], *args: str) -> tuple[int, list[tuple[float, str]], str]:
    """Run devkit; its exit code, its stderr lines (each with when it came), its stdout."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "devkit"), *args], cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    lines = [(time.time(), line.rstrip("\n")) for line in proc.stderr]
    return proc.wait(timeout=900), lines, proc.stdout.read()  # one small JSON document


def must(root: Path, env: dict[str, str], *args: str) -> list[tuple[float, str]]:
    code, lines, _ = devkit(root, env, *args)
    if code != 0:
        sys.exit(
            f"devkit {' '.join(args)} failed ({code}):\n"
            + "\n".join(text for _, text in lines[-40:])
        )
    return lines


def when(lines: list[tuple[float, str]], text: str) -> float:
    return next(at for at, line in lines if text in line)


def forward_traefik(kubectl: str, kubeconfig: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [kubectl, "--kubeconfig", kubeconfig, "port-forward", "-n", "devkit-gateway",
         "svc/traefik", "--address", "127.0.0.1", ":8000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"127\.0\.0\.1:(\d+) -> 8000", line)
        if found:
            return proc, int(found[1])
    sys.exit("kubectl port-forward to Traefik did not start")


def one_run(root: Path, env: dict[str, str], port: int, ns: str) -> dict[str, float]:
    version = root / "web" / "VERSION"
    version.write_text("v1")
    must(root, env, "deploy", "staging")
    must(root, env, "promote", "staging", "prod")  # prod's first release: out at once
    traffic = Traffic(port, f"prod.{ns}.bench")
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    try:
        version.write_text("v2")
        must(root, env, "deploy", "staging")
        began = time.time()
        lines = must(root, env, "promote", "staging", "prod")
        ended = time.time()
        full = when(lines, "step 2/2")
        seen = traffic.settled("v2", full)
        figures = {
            "weight 100% applied": full - began,
            "all requests on v2": (seen or ended) - began,
            "promoted (command ends)": ended - began,
        }
        bad = "v3-bad" if env.get("BENCH_DETECT", "hook") != "hook" else "v3"
        version.write_text(bad)
        env = {**env, "BENCH_BAD": "1"}
        must(root, env, "deploy", "staging")
        began = time.time()
        code, lines, stdout = devkit(root, env, "promote", "staging", "prod", "--json")
        ended = time.time()
        if code != 1:
            sys.exit(f"the bad promotion was not aborted (exit {code})")
        error = json.loads(stdout)["error"]
        decided = float(error["decided_at"])
        back = traffic.settled("v2", decided)
        figures["abort: decided -> routes reported"] = float(error["abort_seconds"])
        figures["abort: decided -> all requests on stable"] = (back or ended) - decided
        figures["abort: decided -> command ends"] = ended - decided
        figures["abort: promote start -> decided"] = decided - began
        return figures
    finally:
        traffic.stop.set()
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detect", default="hook", help='"hook" or "prometheus=NS/NAME:PORT"')
    args = parser.parse_args()
    out = subprocess.run(["bash", str(TESTBED / "cluster.sh"), "env"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    bed = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    env = {
        **os.environ, "KUBECONFIG": bed["KUBECONFIG"], "NO_COLOR": "1",
        "DEVKIT_IMAGE_MAP": (REPO / "tests" / "setup" / "image-map.txt").read_text(),
        "BENCH_DETECT": args.detect,
    }  # fmt: skip
    forward, port = forward_traefik(bed["KUBECTL"], bed["KUBECONFIG"])
    results: dict[str, list[float]] = {}
    namespaces: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.runs):
                ns = f"cnbench-{uuid.uuid4().hex[:5]}"
                namespaces += [f"{ns}-staging", f"{ns}-prod"]
                root = Path(tmp) / f"run{n}"
                (root / "web").mkdir(parents=True)
                (root / "web" / "app.py").write_text(APP)
                (root / "web" / "Dockerfile").write_text(
                    "FROM python:3.11-slim\nCOPY app.py VERSION /app/\nUSER 10001:10001\n"
                    'CMD ["python", "/app/app.py"]\n'
                )
                text = BLUEPRINT.replace("CLUSTER", bed["CLUSTER"])
                (root / "blueprint.py").write_text(
                    text.replace("REGISTRY", bed["REGISTRY"]).replace("NS", ns)
                )
                for name, seconds in one_run(root, env, port, ns).items():
                    results.setdefault(name, []).append(seconds)
    finally:
        forward.terminate()
        for namespace in namespaces:
            subprocess.run([bed["KUBECTL"], "--kubeconfig", bed["KUBECONFIG"], "delete",
                            "namespace", namespace, "--wait=false"], capture_output=True,
                           check=False)  # fmt: skip
    load = os.getloadavg()[0]
    print(f"canary on the kind testbed, detect={args.detect}, {args.runs} run(s), "
          f"load {load:.1f} (steps 50% and 100%, 10 s each)")  # fmt: skip
    for name, values in results.items():
        low, high = min(values), max(values)
        print(f"  {name:44} {statistics.median(values):6.2f} s  ({low:.2f}-{high:.2f})")


if __name__ == "__main__":
    main()
