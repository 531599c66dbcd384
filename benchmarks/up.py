"""Wall time of `devkit up --detach` on examples/shop: cold, warm, no-op, and docker compose's.

Copies examples/shop (blueprint.py and services/, wheels included) to a temporary directory under
a unique project name (`shopbench-XXXXXX`), so nothing of the `shop` project or of the test
suite's stacks is touched, then runs the installed `devkit` console script as a user does, with
DEVKIT_IMAGE_MAP from tests/setup/image-map.txt and a generated SHOP_DB_PASSWORD:

- cold:  the project's service images (`<project>-api:*`, `<project>-worker:*`) removed and the
         stack down, then `devkit up --detach`. The engine's layer cache is left as it is (it is
         shared with others, so it is never pruned): the output says how many build steps came
         from it.
- warm:  images present, stack down (`devkit down --volumes` before each run).
- no-op: everything up and unchanged (budget: median <= 0.5 s, issue 21);
- status: `devkit status` of the running stack (budget: median <= 0.3 s), beside `docker ps`
         of its containers (the engine's own answer, a peer);
- compose: `docker compose up -d --wait` of a compose file generated from
         `devkit plan local --json` (same images, env, health checks, dependencies, ports,
         volume, init, memory limit), from the same state as warm; compose and warm runs
         alternate so that the machine's noise falls on both alike (target: devkit's warm up no
         slower than compose's).

Each figure is the median of --runs runs with min and max, timed from process start to process
exit; a run counts only if the api then answers GET /healthz on its published 127.0.0.1 port.
Finally one no-op run under `-X importtime` and one under cProfile show where its time goes.
Everything created is removed at the end (stacks, volumes, networks, the project's images).
The budgets (no-op and status) are printed with the load while they ran and PASS/FAIL;
`--budgets` measures only them (one up, then the no-op and status runs: no compose needed).

    bash benchmarks/setup-compose.sh          # once: docker compose v2 from Debian sid
    .venv/bin/python benchmarks/up.py [--runs N] [--show-compose] [--no-profile] [--budgets]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pstats
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from budget import Load, summary, verdict

REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "examples" / "shop"
DEVKIT = REPO / ".venv" / "bin" / "devkit"
PYTHON = REPO / ".venv" / "bin" / "python"
IMAGE_MAP = REPO / "tests" / "setup" / "image-map.txt"
SECRET = "SHOP_DB_PASSWORD"
BUILT = ("api", "worker")
TIMEOUT = 300  # seconds any one command may take
NOOP_BUDGET = 0.5
STATUS_BUDGET = 0.3
HTTP_PROBE = (
    "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))"
)
TCP_PROBE = (
    "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2).close()"
)
DEVKIT_STEP = re.compile(r"^\s*([\w-]+)\s+│ (created|replaced|started|unchanged|ready)\b")
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and shows its output."""


# --- processes ---------------------------------------------------------------------------------
def run(
    argv: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BenchError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    return proc


@dataclass(frozen=True)
class Timed:
    seconds: float  # from process start to process exit
    lines: list[tuple[float, str]]  # its output (stdout and stderr), each line with its offset

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> Timed:
    """Wall time of one command, from process start to process exit, and its output lines
    stamped as they arrive (which shows where the time goes)."""
    lines: list[tuple[float, str]] = []
    began = time.perf_counter()
    with subprocess.Popen(
        argv, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as proc:
        watchdog = threading.Timer(TIMEOUT, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append((time.perf_counter() - began, line.rstrip("\n")))
            code = proc.wait()
        finally:
            watchdog.cancel()
    seconds = time.perf_counter() - began
    if code != 0:
        tail = "\n".join(line for _, line in lines[-25:])
        raise BenchError(f"`{' '.join(argv)}` exited {code}:\n{tail}")
    return Timed(seconds, lines)


def docker_inspect(*names: str) -> list[dict[str, Any]]:
    proc = run(["docker", "inspect", *names], check=False)
    found: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    return found


def labelled(kind: str, label: str) -> list[str]:
    """Names of the engine's containers, networks or volumes carrying `label` (key=value)."""
    argv = {
        "container": ["docker", "ps", "-a", "--format", "{{.Names}}"],
        "network": ["docker", "network", "ls", "--format", "{{.Name}}"],
        "volume": ["docker", "volume", "ls", "--format", "{{.Name}}"],
    }[kind]
    return run([*argv, "--filter", f"label={label}"]).stdout.split()


def serving(port: int | None) -> bool:
    """True if the api answers GET /healthz with 200 on 127.0.0.1:port (one try, bounded)."""
    if port is None:
        return False
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def published_port(container: dict[str, Any], port: str) -> int | None:
    bindings = (container.get("NetworkSettings", {}).get("Ports") or {}).get(port) or []
    for binding in bindings:
        if binding.get("HostIp") == "127.0.0.1":
            return int(binding["HostPort"])
    return None


# --- figures -----------------------------------------------------------------------------------
@dataclass
class Figure:
    name: str
    seconds: list[float] = field(default_factory=list)
    attempts: int = 0
    notes: list[str] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)  # step -> offset in each run

    def add(self, result: Timed, ok: bool, step: re.Pattern[str] | None = None) -> None:
        self.attempts += 1
        if not ok:
            self.notes.append(f"run {self.attempts} ({result.seconds:.2f} s) not serving")
            return
        self.seconds.append(result.seconds)
        seen: set[str] = set()
        matches = ((offset, step.search(line)) for offset, line in result.lines) if step else ()
        for offset, match in matches:
            name = f"{match[1]} {match[2].lower()}" if match else ""
            if name and name not in seen:  # the first time each step shows
                seen.add(name)
                self.steps.setdefault(name, []).append(offset)
        self.steps.setdefault("(exit)", []).append(result.seconds)

    def timeline(self) -> list[str]:
        """Each step's median offset from process start, in order."""
        medians = sorted((statistics.median(v), k) for k, v in self.steps.items())
        return [f"{at:6.2f}  {step}" for at, step in medians]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    def row(self) -> str:
        if not self.seconds:
            return f"{self.name:<44} {'-':>8} {'-':>8} {'-':>8}   0/{self.attempts}"
        return (
            f"{self.name:<44} {self.median:>6.2f} s {min(self.seconds):>6.2f} s "
            f"{max(self.seconds):>6.2f} s   {len(self.seconds)}/{self.attempts}"
        )


# --- the compose file --------------------------------------------------------------------------
def memory_bytes(quantity: str) -> int:
    match = re.fullmatch(r"([0-9.]+)(|k|M|G|Ki|Mi|Gi)", quantity.strip())
    if not match:
        raise BenchError(f"cannot translate memory quantity {quantity!r} for compose")
    return int(float(match[1]) * _UNITS[match[2]])


def cpus(quantity: str) -> float:
    text = quantity.strip()
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def env_text(value: str | dict[str, Any]) -> str:
    """A planned env value for compose: literal parts escaped, secrets as ${NAME} from the env."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    return "".join(
        part.replace("$", "$$") if isinstance(part, str) else "${" + part["secret"] + "}"
        for part in value["parts"]
    )


def compose_healthcheck(service: dict[str, Any]) -> dict[str, Any] | None:
    health = service["health"]
    if health is None:
        return None
    if health["kind"] == "command":
        test = ["CMD", *health["command"]]
    elif health["kind"] == "http":
        port = service["ports"][health["port"]]["container"]
        url = f"http://127.0.0.1:{port}{health['path']}"
        test = ["CMD", "python3", "-c", HTTP_PROBE, url, f"{health['timeout']:g}"]
    else:
        port = service["ports"][health["port"]]["container"]
        test = ["CMD", "python3", "-c", TCP_PROBE, str(port)]
    return {
        "test": test,
        "interval": f"{health['interval']:g}s",
        "timeout": f"{health['timeout']:g}s",
        "retries": health["retries"],
        "start_period": f"{health['start_period']:g}s",
    }


def compose_hardening(service: dict[str, Any]) -> dict[str, Any]:
    """The hardening devkit's Docker target applies (devkit/targets/docker/spec.py), in compose:
    uid, capabilities, no new privileges, read-only root, tmpfs scratch, synced-path volumes."""
    security = service["security"]
    uid, read_only = security["run_as_user"], security["read_only_root_filesystem"]
    options = f"uid={uid},gid={uid},mode=1777" if uid is not None else "mode=1777"
    scratch = list(security["scratch_paths"])
    taken = {v["path"] for v in service["volumes"].values()} | set(scratch)
    if read_only and "/tmp" not in taken:
        scratch.append("/tmp")
    spec: dict[str, Any] = {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": read_only,
        "tmpfs": [f"{path}:{options}" for path in scratch],
    }
    if security["capabilities"]:
        spec["cap_add"] = list(security["capabilities"])
    if uid is not None:
        spec["user"] = f"{uid}:{uid}"
    synced = [p for p in security["writable_for_sync"] if p not in taken] if read_only else []
    named = [
        f"{service['name']}-{name}:{v['path']}" for name, v in sorted(service["volumes"].items())
    ]
    if named or synced:
        spec["volumes"] = named + synced  # synced paths: anonymous volumes with the image's files
    return spec


def compose_service(service: dict[str, Any], image: str, healthy: set[str]) -> dict[str, Any]:
    """One compose service doing what devkit's Docker target creates for the planned service."""
    spec: dict[str, Any] = {"image": image, "pull_policy": "never", "init": True}
    if service["command"]:
        spec["command"] = list(service["command"])
    if service["env"]:
        spec["environment"] = {k: env_text(v) for k, v in sorted(service["env"].items())}
    if service["ports"]:
        spec["ports"] = [
            {"target": p["container"], "host_ip": "127.0.0.1", "protocol": p["protocol"]}
            | ({"published": str(p["host"])} if p["host"] else {})
            for _, p in sorted(service["ports"].items())
        ]
    spec.update(compose_hardening(service))
    if check := compose_healthcheck(service):
        spec["healthcheck"] = check
    if service["depends_on"]:
        spec["depends_on"] = {
            dep: {"condition": "service_healthy" if dep in healthy else "service_started"}
            for dep in service["depends_on"]
        }
    resources = service["resources"] or {}
    if resources.get("memory_limit"):
        spec["mem_limit"] = memory_bytes(resources["memory_limit"])
    if resources.get("cpu_limit"):
        spec["cpus"] = cpus(resources["cpu_limit"])
    return spec


def compose_file(plan: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """The compose equivalent of a `devkit plan local --json` document, given each service's image
    (the tags devkit built, and the substitutes the image map chose)."""
    healthy = {s["name"] for s in plan["services"] if s["health"] is not None}
    return {
        "services": {
            s["name"]: compose_service(s, images[s["name"]], healthy) for s in plan["services"]
        },
        "volumes": {
            f"{s['name']}-{name}": {} for s in plan["services"] for name in sorted(s["volumes"])
        },
    }


# --- the benchmark -----------------------------------------------------------------------------
class Bench:
    def __init__(self, runs: int, budgets_only: bool = False) -> None:
        self.runs = runs
        self.budgets_only = budgets_only
        self.budget_load = Load()
        self.project = f"shopbench-{secrets.token_hex(3)}"
        self.compose_project = f"{self.project}-compose"
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.project}-"))
        # PYTHONDONTWRITEBYTECODE (set in this machine's shells) would compile devkit anew on
        # every run; a user's installed devkit has its bytecode cached.
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DEVKIT_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        self.secret = secrets.token_urlsafe(12)
        self.env |= {
            "DEVKIT_IMAGE_MAP": IMAGE_MAP.read_text().strip(),
            SECRET: self.secret,
            "NO_COLOR": "1",
        }
        self.compose_path = self.root / "compose.yaml"
        self.plan: dict[str, Any] = {}
        self.api_port = ""
        self.cache_steps = Counter[str]()
        self.probe_tool = ""  # what devkit's portable HTTP health probe ends up running
        self.inspected: dict[str, dict[str, dict[str, Any]]] = {}
        self.revision = revision()
        self.digest = source_digest()
        self.load = [load_average()]
        self.figures = {
            "cold": Figure("cold   devkit up --detach"),
            "warm": Figure("warm   devkit up --detach"),
            "compose": Figure("warm   docker compose up -d --wait"),
            "noop": Figure("no-op  devkit up --detach"),
            "validate": Figure("(reference: devkit validate, same blueprint)"),
            "status": Figure("status devkit status"),
            "ps": Figure("(peer: docker ps of the same containers)"),
        }

    # --- set-up ---
    def prepare(self) -> None:
        for service in BUILT:
            if not any((SHOP / "services" / service / "wheels").glob("*.whl")):
                print("wheels missing: running tests/setup/wheels.sh", file=sys.stderr)
                run(["bash", "tests/setup/wheels.sh"])
                break
        bases = [rule.split("=", 1)[1] for rule in IMAGE_MAP.read_text().split() if "=" in rule]
        missing = [ref for ref in bases if not docker_inspect(ref)]
        if missing:
            raise BenchError(
                f"base images missing: {', '.join(missing)}; run tests/setup/images.sh"
            )
        compose = run(["docker", "compose", "version"], check=False).returncode == 0
        if not self.budgets_only and not compose:
            raise BenchError("docker compose v2 is missing: run bash benchmarks/setup-compose.sh")
        text = (SHOP / "blueprint.py").read_text()
        if text.count('Blueprint("shop")') != 1:
            raise BenchError('examples/shop/blueprint.py: expected one Blueprint("shop")')
        (self.root / "blueprint.py").write_text(
            text.replace('Blueprint("shop")', f'Blueprint("{self.project}")')
        )
        shutil.copytree(
            SHOP / "services",
            self.root / "services",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".env"),
        )
        self.plan = json.loads(self.devkit("plan", "local", "--json").stdout)
        api = next(s for s in self.plan["services"] if s["name"] == "api")
        http = api["ports"][api["health"]["port"]]
        self.api_port = f"{http['container']}/{http['protocol']}"

    # --- commands ---
    def devkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([str(DEVKIT), *args], cwd=self.root, env=self.env)

    def compose(self, *args: str) -> list[str]:
        return [
            "docker", "compose", "-p", self.compose_project, "-f", str(self.compose_path), *args,
        ]  # fmt: skip

    def devkit_down(self) -> None:
        self.devkit("down", "--volumes")

    def compose_down(self) -> None:
        if self.compose_path.exists():
            run(self.compose("down", "-v", "--remove-orphans"), cwd=self.root, env=self.env)

    def service_images(self) -> list[str]:
        """This project's built image tags, and nothing else's."""
        tags = []
        for service in BUILT:
            repo = f"{self.project}-{service}"
            listed = run(
                ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}",
                 "--filter", f"reference={repo}"]
            ).stdout.split()  # fmt: skip
            tags += [t for t in listed if t.split(":", 1)[0] == repo]
        return tags

    def remove_images(self) -> None:
        tags = self.service_images()
        if tags:
            run(["docker", "rmi", *tags])  # by tag: an image other tags share only loses ours

    def devkit_containers(self) -> dict[str, dict[str, Any]]:
        names = [f"{self.project}-{self.plan['environment']}-{s['name']}" for s in self.services]
        return {c["Config"]["Labels"]["dev.devkit.service"]: c for c in docker_inspect(*names)}

    def compose_containers(self) -> dict[str, dict[str, Any]]:
        names = labelled("container", f"com.docker.compose.project={self.compose_project}")
        return {
            c["Config"]["Labels"]["com.docker.compose.service"]: c for c in docker_inspect(*names)
        }

    @property
    def services(self) -> list[dict[str, Any]]:
        return list(self.plan["services"])

    # --- the measurements ---
    def up(self, figure: str) -> Timed:
        result = timed([str(DEVKIT), "up", "--detach"], cwd=self.root, env=self.env)
        api = self.devkit_containers().get("api", {})
        self.figures[figure].add(result, serving(published_port(api, self.api_port)), DEVKIT_STEP)
        return result

    def compose_up(self) -> None:
        argv = self.compose("up", "-d", "--wait", "--wait-timeout", "120")
        result = timed(argv, cwd=self.root, env=self.env)
        api = self.compose_containers().get("api", {})
        name = re.escape(self.compose_project)
        step = re.compile(rf"Container {name}-(.+)-\d+\s+(Created|Started|Healthy)\b")
        self.figures["compose"].add(result, serving(published_port(api, self.api_port)), step)

    def cold(self) -> None:
        for _ in range(self.runs):
            self.devkit_down()
            self.remove_images()
            lines = self.up("cold").output.splitlines()
            steps = [line for line in lines if "│ Step " in line]
            cacheable = [line for line in steps if not re.search(r" : FROM ", line)]
            cached = sum("---> Using cache" in line for line in lines)
            self.cache_steps.update(steps=len(cacheable), cached=cached)
            if not steps:
                self.figures["cold"].notes.append("a cold run built nothing (images present?)")

    def write_compose(self) -> None:
        """The compose file, from the plan and the images devkit's containers run."""
        running = self.devkit_containers()
        images = {name: c["Config"]["Image"] for name, c in running.items()}
        self.compose_path.write_text(json.dumps(compose_file(self.plan, images), indent=2) + "\n")

    def warm_and_compose(self) -> None:
        """Alternate warm devkit and compose runs, each from 'stack down, images cached'."""
        for i in range(self.runs):
            for which in ("warm", "compose") if i % 2 == 0 else ("compose", "warm"):
                self.devkit_down()
                self.compose_down()
                if which == "warm":
                    self.up("warm")
                    if "devkit" not in self.inspected:
                        self.inspected["devkit"] = self.devkit_containers()
                        self.probe_tool = self.http_probe_tool()
                else:
                    self.compose_up()
                    self.inspected.setdefault("compose", self.compose_containers())
        self.compose_down()

    def http_probe_tool(self) -> str:
        """Which of curl, wget, python3 devkit's HTTP probe finds first in the api image."""
        name = f"{self.project}-{self.plan['environment']}-api"
        script = "for t in curl wget python3; do command -v $t && exit; done"
        proc = run(["docker", "exec", name, "sh", "-c", script], check=False)
        return Path(proc.stdout.strip()).name or "none"

    def noop(self) -> None:
        """No-op runs, alternating with `devkit validate` (load + plan, no engine) as a
        reference for what the same load costs on the machine at that moment."""
        self.devkit("up", "--detach")
        before = self.container_identity()
        ps = ["docker", "ps", "--filter", f"label=dev.devkit.project={self.project}"]
        with self.budget_load:
            for _ in range(self.runs):
                self.up("noop")
                result = timed([str(DEVKIT), "validate"], cwd=self.root, env=self.env)
                self.figures["validate"].add(result, ok=True)
                result = timed([str(DEVKIT), "status"], cwd=self.root, env=self.env)
                self.figures["status"].add(result, ok="api" in result.output)
                self.figures["ps"].add(timed(ps, cwd=self.root, env=self.env), ok=True)
        if self.container_identity() != before:
            self.figures["noop"].notes.append("containers were recreated or restarted!")

    def container_identity(self) -> dict[str, tuple[str, str]]:
        return {
            name: (c["Id"], c["State"]["StartedAt"]) for name, c in self.devkit_containers().items()
        }

    # --- clean-up ---
    def cleanup(self) -> list[str]:
        """Remove everything this run created; return what could not be removed."""
        problems = []
        for step in (self.devkit_down, self.compose_down, self.remove_images):
            try:
                step()
            except (BenchError, subprocess.TimeoutExpired) as exc:
                problems.append(str(exc))
        for kind in ("container", "network", "volume"):
            for label in (
                f"dev.devkit.project={self.project}",
                f"com.docker.compose.project={self.compose_project}",
            ):
                problems += [f"left over: {kind} {name}" for name in labelled(kind, label)]
        problems += [f"left over: image {tag}" for tag in self.service_images()]
        shutil.rmtree(self.root, ignore_errors=True)
        return problems


# --- equivalence -------------------------------------------------------------------------------
def container_view(c: dict[str, Any]) -> dict[str, Any]:
    """What a service's container is, leaving out names, ids and labels."""
    config, host = c["Config"], c["HostConfig"]
    health = dict(config.get("Healthcheck") or {})
    return {
        "image": config["Image"],
        "env": sorted(config.get("Env") or []),
        "command": config.get("Cmd"),
        "entrypoint": config.get("Entrypoint"),
        "user": config.get("User"),
        "health test": health.pop("Test", None),
        "health timing": {k: health.get(k, 0) for k in ("Interval", "Timeout", "Retries")}
        | {"StartPeriod": health.get("StartPeriod", 0)},
        "init": bool(host.get("Init")),
        "memory limit": host.get("Memory"),
        "nano cpus": host.get("NanoCpus"),
        "published": {
            port: sorted(b.get("HostIp", "") for b in bindings or [])
            for port, bindings in (host.get("PortBindings") or {}).items()
        },
        "mounts": sorted((m["Type"], m["Destination"]) for m in c.get("Mounts") or []),
        "networks": len(c["NetworkSettings"]["Networks"]),
        "restart": host.get("RestartPolicy", {}).get("Name") or "no",
    }


def _short(value: object, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def differences(
    devkit: dict[str, dict[str, Any]], compose: dict[str, dict[str, Any]], secret: str
) -> Iterator[str]:
    """Where the two stacks' containers differ, service by service; the secret masked."""
    for service in sorted(devkit.keys() | compose.keys()):
        if service not in devkit or service not in compose:
            yield f"{service}: only in {'devkit' if service in devkit else 'compose'}"
            continue
        ours, theirs = container_view(devkit[service]), container_view(compose[service])
        for key in ours:
            if ours[key] == theirs[key]:
                continue
            if key == "env":
                mine = _short(sorted(set(ours[key]) - set(theirs[key])))
                other = _short(sorted(set(theirs[key]) - set(ours[key])))
                line = f"{service}: env: only devkit sets {mine}; only compose sets {other}"
            else:
                line = (
                    f"{service}: {key}: devkit {_short(ours[key])} / compose {_short(theirs[key])}"
                )
            yield line.replace(secret, "***")


# --- where a no-op run spends its time ---------------------------------------------------------
def import_breakdown(stderr: str) -> tuple[float, list[tuple[str, float]], int]:
    """Total import time and the heaviest top-level packages (self time), from -X importtime."""
    by_package: dict[str, float] = {}
    modules = 0
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            modules += 1
            package = match[4].split(".")[0]
            by_package[package] = by_package.get(package, 0.0) + int(match[1]) / 1e6
    heaviest = sorted(by_package.items(), key=lambda kv: -kv[1])[:8]
    return sum(by_package.values()), heaviest, modules


def _stat(stats: dict[Any, Any], path: str, func: str) -> tuple[int, float]:
    """(calls, cumulative seconds) of the profiled function `func` in a file ending in `path`."""
    calls, seconds = 0, 0.0
    for (file, _, name), (_, ncalls, _, cumulative, _) in stats.items():
        if name == func and file.endswith(path):
            calls, seconds = calls + ncalls, seconds + cumulative
    return calls, seconds


def profile_noop(bench: Bench) -> list[str]:
    lines = []
    baseline = min(
        timed([str(PYTHON), "-c", "pass"], cwd=bench.root, env=bench.env).seconds for _ in range(3)
    )
    lines.append(f"python start-up alone (python -c pass)     {baseline:.3f} s")
    proc = run([str(PYTHON), "-X", "importtime", str(DEVKIT), "up", "--detach"],
               cwd=bench.root, env=bench.env)  # fmt: skip
    total, heaviest, modules = import_breakdown(proc.stderr)
    lines.append(f"imports (-X importtime, {modules} modules)      {total:.3f} s, by package:")
    lines.append("    " + ", ".join(f"{name} {sec:.3f}" for name, sec in heaviest))
    lines.append("    (devkit's own self time includes building its pydantic models)")
    out = bench.root / "noop.prof"
    run([str(PYTHON), "-m", "cProfile", "-o", str(out), str(DEVKIT), "up", "--detach"],
        cwd=bench.root, env=bench.env)  # fmt: skip
    stats: dict[Any, Any] = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    _, whole = _stat(stats, "devkit/cli/main.py", "main")
    requests, api_time = _stat(stats, "requests/sessions.py", "request")
    lines.append(
        f"under cProfile (inflates), whole command   {whole:.3f} s; Docker engine API: "
        f"{requests} HTTP requests, {api_time:.3f} s"
    )
    calls = {
        name: _stat(stats, f"docker/api/{file}", name)[0]
        for file, name in (
            ("daemon.py", "ping"), ("container.py", "containers"),
            ("container.py", "inspect_container"), ("image.py", "inspect_image"),
            ("network.py", "networks"), ("exec_api.py", "exec_create"),
        )
    }  # fmt: skip
    lines.append("    engine calls: " + ", ".join(f"{k} x{v}" for k, v in calls.items() if v))
    phases: list[tuple[str, str, str]] = [
        ("load blueprint + plan", "devkit/cli/loading.py", "local_plan"),
        ("stack.up", "devkit/devloop/docker_up.py", "up"),
        ("  build_requests (hash contexts)", "devkit/build/builder.py", "build_requests"),
        ("  build_images (tags exist)", "devkit/build/builder.py", "build_images"),
        ("  apply (keep, readiness)", "devkit/targets/docker/target.py", "apply"),
        ("status table after up", "devkit/targets/docker/target.py", "status"),
        ("engine connect (x2: ping)", "devkit/build/engine.py", "connect"),
    ]
    lines.append("    phases, each including the imports it triggers:")
    lines += [f"      {label:<34} {_stat(stats, path, fn)[1]:.3f} s" for label, path, fn in phases]
    return lines


# --- report ------------------------------------------------------------------------------------
def versions() -> str:
    engine = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False).stdout
    compose = run(["docker", "compose", "version", "--short"], check=False).stdout
    return f"engine {engine.strip()}, compose {compose.strip()}, {os.cpu_count()} cores"


def revision() -> str:
    """The devkit commit measured, and whether its sources had uncommitted changes."""
    head = run(["git", "rev-parse", "--short", "HEAD"], check=False).stdout.strip() or "?"
    dirty = run(
        ["git", "status", "--porcelain", "--", "devkit", "blueprints", "examples/shop"],
        check=False,
    ).stdout.strip()
    return f"devkit {head}{' + uncommitted changes' if dirty else ''}"


def source_digest() -> str:
    """A digest of what is measured (devkit, blueprints, examples/shop but its wheels), to tell
    whether it changed while the benchmark ran (others edit the tree meanwhile)."""
    digest = hashlib.sha256()
    for top in ("devkit", "blueprints", "examples/shop"):
        for path in sorted((REPO / top).rglob("*")):
            skip = {"wheels", "__pycache__"} & set(path.parts)
            if path.is_file() and not skip:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_average() -> str:
    return (
        Path("/proc/loadavg").read_text().split(" ", 1)[0]
        if Path("/proc/loadavg").exists()
        else "?"
    )


def report(bench: Bench, profile: list[str], show_compose: bool) -> None:
    figures = bench.figures
    print(f"\ndevkit up on examples/shop (project {bench.project}; {versions()})")
    print(
        f"{bench.revision}; 1-min load average {' -> '.join(bench.load)} "
        "(start -> end; 2 cores, shared)"
    )
    if source_digest() != bench.digest:
        print("WARNING: devkit or examples/shop changed while this ran: figures mix versions")
    print(f"{bench.runs} runs each; a run counts only if the api then answered GET /healthz\n")
    print(f"{'measurement':<44} {'median':>8} {'min':>8} {'max':>8}   counted")
    for figure in figures.values():
        print(figure.row())
    warm, compose = figures["warm"].median, figures["compose"].median
    print(
        f"warm devkit vs compose: {warm:.2f} s vs {compose:.2f} s, devkit "
        f"{'faster' if warm <= compose else 'SLOWER'} by {abs(compose - warm):.2f} s "
        f"({'met' if warm <= compose else 'MISSED'}: target no slower)"
    )
    for figure in figures.values():
        for note in figure.notes:
            print(f"  note, {figure.name.split()[0]}: {note}")
    cache = bench.cache_steps
    print("\nMethod")
    print(
        "- cold: the project's images (<project>-api:*, <project>-worker:*) removed and the stack\n"
        "  down before each run; the engine's layer cache is left as the engine has it (shared\n"
        f"  engine: never pruned). {cache['cached']} of {cache['steps']} build steps came from "
        "that cache,\n  so cold here measures "
        + (
            "a fully cached build (hashing, the build API, tagging), not a from-scratch one."
            if cache["steps"] and cache["cached"] == cache["steps"]
            else "builds that were only partly cached."
        )
    )
    print(
        "- warm: images present, `devkit down --volumes` before each run (new containers,\n"
        "  network, and an empty postgres volume, so postgres initialises its database)."
    )
    print(
        "- compose: the same start state (`docker compose down -v` before each run), runs\n"
        "  alternating with the warm devkit runs (order flipped each round). Compose gates\n"
        "  `service_healthy` and `--wait` on the engine's health status, first checked one\n"
        "  interval (2 s) after a container starts; devkit also runs the check itself (exec,\n"
        "  every 0.2 s) while it waits, so dependents start once the dependency is ready."
    )
    kept = not any("recreated" in note for note in figures["noop"].notes)
    print(
        "- no-op: `devkit up --detach` again with everything up; "
        + ("no container was recreated or restarted." if kept else "CONTAINERS CHANGED.")
    )
    print("- times: wall clock from the child's start to its exit (perf_counter, this script).")
    print(f"\nCompose equivalence ({bench.compose_path.name}, from `devkit plan local --json`)")
    diffs = list(
        differences(
            bench.inspected.get("devkit", {}), bench.inspected.get("compose", {}), bench.secret
        )
    )
    print("  containers inspected after a run of each; differences (names, labels aside):")
    for line in diffs or ["none"]:
        print(f"  - {line}")
    tool = bench.probe_tool or "?"
    print(
        "  devkit's HTTP check is a portable sh probe (curl, else wget, else python3 urllib); in\n"
        f"  this image it runs {tool}; compose runs python3 urllib directly, with\n"
        "  the same URL, timeout, interval and retries. Ports: devkit publishes every declared\n"
        "  port on 127.0.0.1 (engine-assigned), compose the same; compose's network is its\n"
        "  default project network, devkit's one network per project+environment."
    )
    print("\nWarm runs step by step (median seconds from process start to a step's first line)")
    left = ["devkit up --detach", *figures["warm"].timeline()]
    right = ["docker compose up -d --wait", *figures["compose"].timeline()]
    for i in range(max(len(left), len(right))):
        mine = left[i] if i < len(left) else ""
        other = right[i] if i < len(right) else ""
        print(f"  {mine:<36}{other}")
    if profile:
        print("\nWhere a no-op `devkit up --detach` spends its time (one instrumented run each)")
        for line in profile:
            print(f"  {line}")
    if show_compose:
        print(f"\n{bench.compose_path.name}:\n{bench.compose_path.read_text()}")


def report_budgets(bench: Bench, profile: list[str]) -> None:
    """The no-op and status budgets: PASS/FAIL with the load while they ran; a FAIL shows the
    no-op run broken down (`profile`) and what was tried."""
    figures = bench.figures
    print(f"\nBudgets (project {bench.project}; {bench.revision})")
    print(f"{'measurement':<44} {'median':>8} {'min':>8} {'max':>8}   counted")
    for key in ("noop", "validate", "status", "ps"):
        print(figures[key].row())
    noop, status = figures["noop"], figures["status"]
    tried = [
        "no engine call whose answer the no-op path already has (see the breakdown)",
        "lazy imports on the status and up paths",
    ]
    floor = "python start-up, imports and loading+planning the blueprint (the `devkit validate` "
    floor += "reference above), then the engine API round trips"
    if noop.seconds:
        verdict(
            "no-op devkit up --detach (shop)", noop.seconds, NOOP_BUDGET, bench.budget_load,
            parts=profile, floor=floor, tried=tried,
        )  # fmt: skip
    if status.seconds:
        ps = figures["ps"]
        peer = f"peer `docker ps` of the same containers: median {ps.median:.3f} s"
        verdict(
            "devkit status (shop)", status.seconds, STATUS_BUDGET, bench.budget_load,
            parts=[peer, f"devkit validate (load + plan, no engine): "
                   f"median {figures['validate'].median:.3f} s"],
            floor=floor, tried=tried,
        )  # fmt: skip
    summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--show-compose", action="store_true", help="print the compose file")
    parser.add_argument(
        "--profile", action=argparse.BooleanOptionalAction, default=True,
        help="break a no-op run down (imports, engine calls, phases)",
    )  # fmt: skip
    parser.add_argument(
        "--budgets", action="store_true",
        help="only the budgets: one up, then the no-op and status runs (no compose needed)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    bench = Bench(args.runs, budgets_only=args.budgets)
    phases: list[tuple[str, Callable[[], None]]] = [
        ("prepare", bench.prepare),
        ("cold", bench.cold),
        ("compose file", bench.write_compose),
        ("warm + compose", bench.warm_and_compose),
        ("no-op", bench.noop),
    ]
    if args.budgets:
        phases = [("prepare", bench.prepare), ("no-op and status", bench.noop)]
    profile: list[str] = []
    failed = False
    try:
        for name, phase in phases:
            began = time.monotonic()
            phase()
            print(f"[{name}] {time.monotonic() - began:.0f} s", file=sys.stderr)
        if args.profile:
            try:
                profile = profile_noop(bench)
            except BenchError as exc:  # the figures stand; say why the breakdown is missing
                first = str(exc).replace(bench.secret, "***").splitlines()
                profile = [f"(no breakdown: the instrumented run failed: {' | '.join(first[:3])})"]
        bench.load.append(load_average())
        if not args.budgets:
            report(bench, profile, args.show_compose)
        report_budgets(bench, profile)
    except BenchError as exc:
        failed = True
        print(f"error: {exc}".replace(bench.secret, "***"), file=sys.stderr)
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            problems = bench.cleanup()
            for problem in problems:
                print(f"cleanup: {problem}", file=sys.stderr)
            print(
                f"cleanup: {'incomplete' if problems else 'done'} (project {bench.project})",
                file=sys.stderr,
            )
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
