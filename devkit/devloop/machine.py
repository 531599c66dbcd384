"""`devkit doctor`, the probing half: facts about this machine that the dev loop depends on.

Each probe is short (a few seconds at most), changes nothing it does not undo (the file-watch
self-test removes its file) and returns plain facts; `devkit/project/doctor.py` decides what
they mean.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException
from kubernetes import config as kubeconfig
from kubernetes.client import ApiClient, Configuration, VersionApi
from watchfiles import watch

from devkit.build.registry import docker_config
from devkit.devloop.rules import build_watches, watch_rules, watched_paths
from devkit.planning.planner import Plan
from devkit.project.doctor import (
    ContextFacts,
    EngineFacts,
    Facts,
    InotifyFacts,
    Needs,
    PortFacts,
    PortNeed,
    RegistryFacts,
    WatchFacts,
)
from devkit.targets import labels
from devkit.targets.kubernetes.api import kubeconfig_file

TIMEOUT = 3.0
"""Seconds each network probe may take."""
WATCH_WAIT = 5.0
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_watches")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _engine_time(text: str) -> float:
    """The engine's SystemTime (RFC 3339 with nanoseconds) as a POSIX timestamp."""
    head, _, rest = text.partition(".")
    fraction, zone = rest, ""
    for mark in ("Z", "+", "-"):
        if mark in rest:
            index = rest.index(mark)
            fraction, zone = rest[:index], rest[index:]
            break
    zone = "+00:00" if zone in ("Z", "") else zone
    stamp = datetime.fromisoformat(head + zone).timestamp()
    return stamp + (float("0." + fraction) if fraction else 0.0)


def engine_facts() -> tuple[EngineFacts, docker.DockerClient | None]:
    """Reachable, version, storage driver, and its clock against this machine's."""
    host = engine_host()
    try:
        client = docker.from_env(timeout=int(TIMEOUT) + 2)
        version = client.version()
        before = time.time()
        info = client.info()
        after = time.time()
    except (DockerException, OSError) as exc:
        return EngineFacts(host, error=_first_line(exc)), None
    skew = None
    if info.get("SystemTime"):
        try:
            skew = _engine_time(str(info["SystemTime"])) - (before + after) / 2
        except ValueError:
            skew = None
    facts = EngineFacts(
        host, version=str(version.get("Version", "")),
        api_version=str(version.get("ApiVersion", "")), storage_driver=str(info.get("Driver", "")),
        skew=skew,
    )  # fmt: skip
    return facts, client


def watch_facts(root: Path, waited: float = WATCH_WAIT) -> WatchFacts:
    """Write a file in `root` and time its event. The file's name (`*.swp`) is one that live
    sync never acts on, so a `devkit watch` running beside doctor ignores it."""
    probe = root / f".devkit-doctor-{os.getpid()}.swp"
    stop = threading.Event()
    events = watch(
        root, watch_filter=None, recursive=False, step=1, debounce=int(waited * 1000),
        rust_timeout=100, yield_on_timeout=True, stop_event=stop, raise_interrupt=False,
    )  # fmt: skip
    where = str(root)
    try:
        next(events)  # the watcher runs from its first yield on
        began = time.monotonic()
        probe.write_text("devkit doctor: a file-watch self-test; safe to delete\n")
        for changes in events:
            if any(Path(path) == probe for _, path in changes):
                return WatchFacts(where, time.monotonic() - began, waited)
            if time.monotonic() - began > waited:
                break
        return WatchFacts(where, None, waited)
    except (OSError, RuntimeError) as exc:
        return WatchFacts(where, None, waited, error=_first_line(exc))
    finally:
        stop.set()
        events.close()
        probe.unlink(missing_ok=True)


def count_directories(paths: Sequence[Path]) -> int:
    """Directories under `paths` (each one inotify watch; ignored ones too, since filters apply
    to events, not to watches)."""
    total = 0
    for path in paths:
        if path.is_dir():
            total += 1 + sum(len(dirs) for _, dirs, _ in os.walk(path))
    return total


def inotify_facts(paths: Sequence[Path]) -> InotifyFacts:
    try:
        limit: int | None = int(INOTIFY_LIMIT.read_text().strip())
    except (OSError, ValueError):
        limit = None
    return InotifyFacts(limit, count_directories(paths), len(paths))


def context_facts(context: str) -> ContextFacts:
    """Is `context` ("" for the current one) in the kubeconfig, and does its API server answer?"""
    where = kubeconfig_file()
    if not Path(where).is_file():
        return ContextFacts(context, where, error="there is no such file")
    try:
        contexts, active = kubeconfig.list_kube_config_contexts(config_file=where)  # type: ignore[no-untyped-call]
    except Exception as exc:  # noqa: BLE001 - any unreadable kubeconfig is reported, not raised
        return ContextFacts(context, where, error=_first_line(exc))
    names = tuple(sorted(c["name"] for c in contexts))
    current = active["name"] if active else None
    name = context or current
    if name is None or name not in names:
        return ContextFacts(context, where, names, current)
    try:
        configuration = Configuration()
        kubeconfig.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=where, context=name, client_configuration=configuration,
            persist_config=False,
        )  # fmt: skip
        configuration.retries = 0
        with ApiClient(configuration) as api:
            info = VersionApi(api).get_code(_request_timeout=TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        return ContextFacts(context, where, names, current, exists=True, error=_first_line(exc))
    version = str(getattr(info, "git_version", "") or "")
    return ContextFacts(context, where, names, current, exists=True, server_version=version)


def credentials_for(host: str, config: dict[str, Any]) -> str | None:
    """Where docker keeps credentials for `host`, or None."""
    helpers = config.get("credHelpers") or {}
    if host in helpers:
        return f"docker's credential helper docker-credential-{helpers[host]}"
    hub = host in ("docker.io", "index.docker.io", "registry-1.docker.io")
    for key in config.get("auths") or {}:
        bare = key.split("://", 1)[-1].split("/", 1)[0]
        if bare == host or (hub and bare in ("index.docker.io", "docker.io")):
            return "docker's config.json (auths)"
    if config.get("credsStore"):
        return f"docker's credential store docker-credential-{config['credsStore']} (not read)"
    return None


def registry_facts(host: str, config: dict[str, Any]) -> RegistryFacts:
    """Does the registry's /v2/ answer (401 counts: it asks for credentials), and are there any?"""
    local = host.split(":", maxsplit=1)[0] in ("localhost", "127.0.0.1")
    error: str | None = None
    for scheme in ("http", "https") if local else ("https",):
        try:
            with urllib.request.urlopen(f"{scheme}://{host}/v2/", timeout=TIMEOUT):  # noqa: S310
                error = None
                break
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                error = None
                break
            error = f"{scheme}://{host}/v2/ answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            why = _first_line(reason) if isinstance(reason, BaseException) else str(reason)
            error = f"{scheme}://{host}/v2/: {why}"
    return RegistryFacts(host, error, credentials_for(host, config))


def port_busy(port: int, protocol: str) -> bool:
    """Whether binding 127.0.0.1:port fails because something holds it."""
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def stack_ports(client: docker.DockerClient | None, project: str, env: str) -> set[tuple[int, str]]:
    """Host ports the environment's own running containers publish."""
    if client is None:
        return set()
    held: set[tuple[int, str]] = set()
    try:
        containers = client.containers.list(filters={"label": labels.stack_filter(project, env)})
    except (DockerException, OSError):
        return held
    for container in containers:
        published = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
        for key, bindings in published.items():
            protocol = key.partition("/")[2] or "tcp"
            for binding in bindings or []:
                if str(binding.get("HostPort", "")).isdigit():
                    held.add((int(binding["HostPort"]), protocol))
    return held


def port_facts(
    wanted: Sequence[PortNeed], client: docker.DockerClient | None, project: str, env: str
) -> tuple[PortFacts, ...]:
    held = stack_ports(client, project, env) if wanted else set()
    return tuple(
        PortFacts(
            p.port,
            p.protocol,
            p.service,
            busy=port_busy(p.port, p.protocol),
            held_by_stack=(p.port, p.protocol) in held,
        )
        for p in wanted
    )


def gather(plan: Plan, root: Path, wanted: Needs) -> Facts:
    """Every probe the needs call for; the network ones run side by side."""
    engine, client = engine_facts()
    config = docker_config()
    with ThreadPoolExecutor(max_workers=8) as pool:
        contexts = [pool.submit(context_facts, c.context) for c in wanted.contexts]
        registries = [pool.submit(registry_facts, r.host, config) for r in wanted.registries]
        watching = inotify = None
        if wanted.local:
            paths = watched_paths(watch_rules(plan, root), build_watches(plan, root))
            inotify = inotify_facts(paths)
            watching = watch_facts(root)
        ports = port_facts(wanted.ports, client, plan.project, plan.environment)
        return Facts(
            engine=engine, watch=watching, inotify=inotify,
            contexts=tuple(f.result() for f in contexts),
            registries=tuple(f.result() for f in registries), ports=ports,
        )  # fmt: skip
