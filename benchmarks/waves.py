"""A two-wave promotion's wall time on the two kind clusters of the testbed.

`staging` runs in a namespace of the first cluster (devkit-testbed, registry localhost:5001);
`prod` spans two clusters: eu on the first (the same registry: nothing to copy) and us on the
second (devkit-testbed-2, whose registry is the authenticated one; its pods pull with a
dockerconfigjson Secret). Per run, a version no run built before is built, pushed and deployed to
staging (not timed); then, timed from outside:

- `devkit promote staging prod`: the whole two-wave promotion (eu: apply, wait, verify; then us:
  copy by digest into its registry, apply, wait, verify), and each wave's own seconds as the
  command reports them (`--json`: a wave's deploy, without the copy before it);
- the same promotion again: nothing to do in either cluster (exit 0).

Each figure: median and min-max of the runs, with the 1-minute load while they ran.

    bash tests/k8s/testbed/cluster.sh up
    DEVKIT_TESTBED_CLUSTER=devkit-testbed-2 DEVKIT_TESTBED_PLATFORM=0 \\
        bash tests/k8s/testbed/cluster.sh up
    DEVKIT_TESTBED_CLUSTER=devkit-testbed-2 bash tests/k8s/testbed/registry-auth.sh up
    .venv/bin/python benchmarks/waves.py [--runs 3]

(the k8s tests' `second_cluster` fixture does the last two with DEVKIT_TESTBED_KEEP=1).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from budget import DEVKIT, REPO, Load

TESTBED = REPO / "tests" / "k8s" / "testbed"
SECOND = "devkit-testbed-2"
BLUEPRINT = """
from devkit import Blueprint, Build, Cluster, Http, Kubernetes, Port, Verify

app = Blueprint("wvb")
app.service("web", build=Build("web"), ports={"http": Port(8000)},
            health=Http("/healthz", port="http", interval=1, retries=2))
smoke = Verify(["python", "-c", SMOKE], service="web", timeout=60)
app.environment("staging", Kubernetes(context="kind-FIRST", registry="REGISTRY",
                                      namespace="NS-staging"), rollout_timeout=120)
app.environment("prod", Kubernetes(namespace="NS-prod", clusters=[
    Cluster("eu", context="kind-FIRST", registry="REGISTRY"),
    Cluster("us", context="kind-SECOND", registry="AUTH_NAME", registry_from_host="AUTH_HOST",
            image_pull_secrets=("prod-registry",)),
]), verify=smoke, rollout_timeout=120)
"""
SMOKE = """
import time, urllib.request
for attempt in range(20):
    try:
        urllib.request.urlopen("http://web:8000/", timeout=2).read()
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("web did not answer")
"""
APP = """
import http.server, pathlib
VERSION = pathlib.Path("/app/VERSION").read_text().strip().encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(VERSION)))
        self.end_headers()
        self.wfile.write(VERSION)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""
DOCKERFILE = """FROM python:3.11-slim
COPY app.py VERSION /app/
USER 10001:10001
CMD ["python", "/app/app.py"]
"""


def script_env(*argv: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The KEY=VALUE lines a testbed script prints (its `env`: nothing is changed)."""
    proc = subprocess.run(["bash", *argv], capture_output=True, text=True, check=False,
                          timeout=120, env={**os.environ, **(extra or {})})  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {proc.stderr[-2000:]}")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def devkit(root: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run devkit; its wall seconds and stdout, or exit with its stderr when it fails."""
    began = time.perf_counter()
    proc = subprocess.run([DEVKIT, *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900, check=False)  # fmt: skip
    took = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"devkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return took, proc.stdout


def kubectl(bed: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run([bed["KUBECTL"], "--kubeconfig", bed["KUBECONFIG"], *args], input=stdin,
                   capture_output=True, text=True, check=True, timeout=120)  # fmt: skip


def pull_secret(auth: dict[str, str], namespace: str) -> str:
    """The us namespace's dockerconfigjson Secret for the authenticated registry."""
    user, password = auth["REGISTRY_AUTH_USER"], auth["REGISTRY_AUTH_PASSWORD"]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    auths = {auth["REGISTRY_AUTH"]: {"username": user, "password": password, "auth": token}}
    data = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
    return json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "prod-registry", "namespace": namespace},
        "data": {".dockerconfigjson": data},
    })  # fmt: skip


def one_run(root: Path, env: dict[str, str]) -> dict[str, float]:
    (root / "web" / "VERSION").write_text(f"v-{uuid.uuid4().hex[:8]}")  # new digests
    devkit(root, env, "build", "staging", "--push", "--images-file", "images.json")
    devkit(root, env, "deploy", "staging", "--images", "images.json")
    wall, stdout = devkit(root, env, "promote", "staging", "prod", "--json")
    waves = {w["cluster"]: w for w in json.loads(stdout)["waves"]}
    if [(c, w["status"]) for c, w in waves.items()] != [("eu", "healthy"), ("us", "healthy")]:
        sys.exit(f"the promotion did not end healthy in both clusters: {stdout}")
    again, stdout = devkit(root, env, "promote", "staging", "prod", "--json")
    if not json.loads(stdout)["nothing_to_do"]:
        sys.exit(f"the same promotion again had something to do: {stdout}")
    eu, us = float(waves["eu"]["seconds"]), float(waves["us"]["seconds"])
    return {
        "promote staging -> prod (2 waves)": wall,
        "  wave 1 eu (apply, wait, verify)": eu,
        "  wave 2 us (apply, wait, verify)": us,
        "  the rest (copy into us's registry, start)": wall - eu - us,
        "the same promotion again (nothing to do)": again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    first = script_env(str(TESTBED / "cluster.sh"), "env")
    second = script_env(str(TESTBED / "cluster.sh"), "env",
                        extra={"DEVKIT_TESTBED_CLUSTER": SECOND})  # fmt: skip
    auth = script_env(str(TESTBED / "registry-auth.sh"), "env",
                      extra={"DEVKIT_TESTBED_CLUSTER": SECOND})  # fmt: skip
    results: dict[str, list[float]] = {}
    cleanup: list[tuple[dict[str, str], str]] = []
    load = Load()
    with tempfile.TemporaryDirectory() as tmp:
        docker_config = Path(tmp) / "docker-config"
        docker_config.mkdir()
        token = base64.b64encode(
            f"{auth['REGISTRY_AUTH_USER']}:{auth['REGISTRY_AUTH_PASSWORD']}".encode()
        ).decode()
        (docker_config / "config.json").write_text(
            json.dumps({"auths": {auth["REGISTRY_AUTH_FROM_HOST"]: {"auth": token}}})
        )
        env = {
            **os.environ, "NO_COLOR": "1", "DOCKER_CONFIG": str(docker_config),
            "KUBECONFIG": os.pathsep.join([first["KUBECONFIG"], second["KUBECONFIG"]]),
            "DEVKIT_IMAGE_MAP": (REPO / "tests" / "setup" / "image-map.txt").read_text(),
        }  # fmt: skip
        try:
            with load:
                for n in range(args.runs):
                    ns = f"wvbench-{uuid.uuid4().hex[:5]}"
                    cleanup += [(first, f"{ns}-staging"), (first, f"{ns}-prod"),
                                (second, f"{ns}-prod")]  # fmt: skip
                    kubectl(second, "create", "namespace", f"{ns}-prod")
                    kubectl(second, "apply", "-f", "-", stdin=pull_secret(auth, f"{ns}-prod"))
                    root = Path(tmp) / f"run{n}"
                    (root / "web").mkdir(parents=True)
                    (root / "web" / "app.py").write_text(APP)
                    (root / "web" / "Dockerfile").write_text(DOCKERFILE)
                    text = (
                        BLUEPRINT.replace("FIRST", first["CLUSTER"])
                        .replace("SECOND", SECOND)
                        .replace("REGISTRY", first["REGISTRY"])
                        .replace("AUTH_NAME", auth["REGISTRY_AUTH"])
                        .replace("AUTH_HOST", auth["REGISTRY_AUTH_FROM_HOST"])
                        .replace("SMOKE", repr(SMOKE))
                        .replace("NS", ns)
                    )
                    (root / "blueprint.py").write_text(text)
                    for name, seconds in one_run(root, env).items():
                        results.setdefault(name, []).append(seconds)
        finally:
            for bed, namespace in cleanup:
                subprocess.run([bed["KUBECTL"], "--kubeconfig", bed["KUBECONFIG"], "delete",
                                "namespace", namespace, "--wait=false"], capture_output=True,
                               check=False)  # fmt: skip
    print(f"two-wave promotion on two kind clusters, {args.runs} run(s), {load.text()}")
    for name, values in results.items():
        low, high = min(values), max(values)
        print(f"  {name:46} {statistics.median(values):6.2f} s  ({low:.2f}-{high:.2f})")


if __name__ == "__main__":
    main()
