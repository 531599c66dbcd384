"""`devkit doctor`, the deciding half: what the blueprint asks of this machine, and what the
facts found about it mean (ok, warn or fail, and what to do).

Pure: the facts are gathered elsewhere (`devkit/devloop/machine.py`) and passed in as plain
values, so every verdict is unit-tested without an engine, a cluster or a registry.
A `fail` blocks the dev loop (the command exits 1); a `warn` slows it or may bite later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from devkit.model.blueprint import Blueprint
from devkit.model.targets import Kind, Kubernetes, Swarm
from devkit.planning.planner import Plan

Status = Literal["ok", "warn", "fail"]

MIN_ENGINE = (20, 10)
"""The oldest Docker Engine devkit is tested against (API 1.41)."""
SLOW_EVENT = 1.0
"""Seconds from a write to its file event beyond which live sync feels slow."""
CLOCK_SKEW = 2.0
"""Seconds of difference between host and engine clocks worth a warning."""
INOTIFY_ADVICE = 524288


@dataclass(frozen=True)
class Check:
    """One verdict: its subject, ok/warn/fail, what was found and, unless ok, what to do."""

    name: str
    status: Status
    summary: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "summary": self.summary, "fix": self.fix}


# --- what the blueprint asks of the machine ---------------------------------------------------
@dataclass(frozen=True)
class ContextNeed:
    """A kubeconfig context an environment names ("" for the kubeconfig's current one)."""

    context: str
    environments: tuple[str, ...]
    selected: bool  # the environment doctor was asked about uses it: missing blocks the loop
    kind_cluster: str | None = None  # a Kind environment's cluster (devkit cluster up makes it)


@dataclass(frozen=True)
class RegistryNeed:
    """A registry an environment pushes to or pulls from."""

    host: str
    environments: tuple[str, ...]
    selected: bool


@dataclass(frozen=True)
class PortNeed:
    """A host port the selected environment pins on 127.0.0.1."""

    port: int
    protocol: str
    service: str


@dataclass(frozen=True)
class Needs:
    environment: str
    local: bool  # the selected environment runs on this machine (Docker or Kind)
    contexts: tuple[ContextNeed, ...] = ()
    registries: tuple[RegistryNeed, ...] = ()
    ports: tuple[PortNeed, ...] = ()


def registry_host(registry: str) -> str:
    """The host (and port) of a registry written with or without a path: ghcr.io/acme -> ghcr.io."""
    return registry.split("://", 1)[-1].split("/", 1)[0]


def needs(blueprint: Blueprint, selected: Plan) -> Needs:
    """Contexts and registries of every environment (those of `selected` block; the others only
    warn), and the host ports `selected` pins."""
    contexts: dict[str, tuple[list[str], str | None]] = {}
    registries: dict[str, list[str]] = {}
    for name, env in blueprint.environments.items():
        target = env.target
        if isinstance(target, Kind):
            contexts.setdefault(f"kind-{target.cluster}", ([], target.cluster))[0].append(name)
        elif isinstance(target, Kubernetes):
            contexts.setdefault(target.context or "", ([], None))[0].append(name)
        registry = target.registry if isinstance(target, Swarm | Kind | Kubernetes) else None
        if isinstance(target, Kubernetes) and target.registry_from_host:
            registry = target.registry_from_host  # where this machine pushes and asks
        if registry:
            registries.setdefault(registry_host(registry), []).append(name)
    chosen = selected.environment
    ports = sorted(
        (
            PortNeed(port.host, port.protocol, service.name)
            for service in selected.services
            for port in service.ports.values()
            if port.host is not None
        ),
        key=lambda p: (p.port, p.protocol),
    )
    return Needs(
        environment=chosen,
        local=selected.target.kind in ("docker", "kind"),
        contexts=tuple(
            ContextNeed(context, tuple(envs), chosen in envs, cluster)
            for context, (envs, cluster) in sorted(contexts.items())
        ),
        registries=tuple(
            RegistryNeed(host, tuple(envs), chosen in envs)
            for host, envs in sorted(registries.items())
        ),
        ports=tuple(ports),
    )


# --- facts, as the probes found them ------------------------------------------------------------
@dataclass(frozen=True)
class EngineFacts:
    host: str  # DOCKER_HOST, or the default socket
    error: str | None = None  # why it could not be reached; None when it answered
    version: str = ""
    api_version: str = ""
    storage_driver: str = ""
    skew: float | None = None  # engine clock minus host clock, in seconds


@dataclass(frozen=True)
class WatchFacts:
    where: str  # the directory the self-test wrote in
    seconds: float | None  # write to event; None when no event came in time
    waited: float = 5.0
    error: str | None = None  # the watcher could not start


@dataclass(frozen=True)
class InotifyFacts:
    max_user_watches: int | None  # None where there is no inotify (not Linux)
    directories: int  # directories under the paths the sync rules and builds watch
    watched_paths: int


@dataclass(frozen=True)
class ContextFacts:
    context: str  # as asked ("" for the current context)
    kubeconfig: str
    available: tuple[str, ...] = ()
    current: str | None = None
    exists: bool = False
    error: str | None = None  # unreadable kubeconfig, or the API server did not answer
    server_version: str = ""


@dataclass(frozen=True)
class RegistryFacts:
    host: str
    error: str | None = None  # None: /v2/ answered (200 or 401)
    credentials: str | None = None  # where docker's config has them; None: nowhere


@dataclass(frozen=True)
class PortFacts:
    port: int
    protocol: str
    service: str
    busy: bool
    held_by_stack: bool = False  # the environment's own running container publishes it


@dataclass(frozen=True)
class Facts:
    engine: EngineFacts
    watch: WatchFacts | None = None
    inotify: InotifyFacts | None = None
    contexts: tuple[ContextFacts, ...] = ()
    registries: tuple[RegistryFacts, ...] = ()
    ports: tuple[PortFacts, ...] = ()


# --- verdicts -----------------------------------------------------------------------------------
def _version(text: str) -> tuple[int, int] | None:
    parts = text.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def engine_checks(facts: EngineFacts) -> list[Check]:
    """Reachable, version, storage driver and clock: one check each (one when unreachable)."""
    if facts.error is not None:
        return [
            Check(
                "engine", "fail", f"cannot reach the Docker engine at {facts.host}: {facts.error}",
                "start it (e.g. `sudo systemctl start docker`, or `sudo dockerd &`), or point "
                "DOCKER_HOST at a running engine",
            )
        ]  # fmt: skip
    checks = []
    version = _version(facts.version)
    if version is not None and version < MIN_ENGINE:
        oldest = ".".join(map(str, MIN_ENGINE))
        checks.append(
            Check(
                "engine", "warn",
                f"Docker Engine {facts.version} (API {facts.api_version}) at {facts.host} is "
                f"older than {oldest}",
                f"upgrade the engine to {oldest} or later; devkit is not tested on older ones",
            )
        )  # fmt: skip
    else:
        checks.append(
            Check("engine", "ok",
                  f"Docker Engine {facts.version} (API {facts.api_version}) at {facts.host}")
        )  # fmt: skip
    if facts.storage_driver == "vfs":
        checks.append(
            Check(
                "storage driver", "warn",
                "vfs copies every image layer in full: builds and container starts are slow and "
                "take much disk",
                'use overlay2 ("storage-driver": "overlay2" in /etc/docker/daemon.json, then '
                "restart the engine)",
            )
        )  # fmt: skip
    else:
        checks.append(Check("storage driver", "ok", facts.storage_driver or "(not reported)"))
    if facts.skew is not None:
        if abs(facts.skew) > CLOCK_SKEW:
            checks.append(
                Check(
                    "clock", "warn",
                    f"the engine's clock is {abs(facts.skew):.1f}s "
                    f"{'ahead of' if facts.skew > 0 else 'behind'} this machine's: log times "
                    "(`devkit logs --since`) and timings are off by that much",
                    "sync the clocks: a VM's clock drifts after the host sleeps (restart the VM or "
                    "Docker Desktop, or run `sudo hwclock -s` in it)",
                )
            )  # fmt: skip
        else:
            checks.append(Check("clock", "ok", f"engine and host agree within {CLOCK_SKEW:.0f}s"))
    return checks


def watch_check(facts: WatchFacts) -> Check:
    """The self-test: a file written under the project, and how long its event took."""
    if facts.error is not None:
        return Check(
            "file watching", "fail", f"cannot watch {facts.where}: {facts.error}",
            "live sync needs file events; see the inotify check, or set WATCHFILES_FORCE_POLLING=1",
        )  # fmt: skip
    if facts.seconds is None:
        return Check(
            "file watching", "fail",
            f"a file written in {facts.where} raised no event within {facts.waited:.0f}s: saves "
            "would not be synced",
            "this filesystem does not report changes (a network or VM-shared mount?): move the "
            "project to a local disk, or set WATCHFILES_FORCE_POLLING=1 (slower)",
        )  # fmt: skip
    if facts.seconds > SLOW_EVENT:
        return Check(
            "file watching", "warn",
            f"a file written in {facts.where} raised its event after {facts.seconds:.2f}s",
            "events arrive late (polling, or a shared mount): every sync waits that long; a local "
            "disk gives events within milliseconds",
        )  # fmt: skip
    return Check(
        "file watching", "ok",
        f"a file written in {facts.where} raised its event in {facts.seconds * 1000:.0f}ms",
    )  # fmt: skip


def inotify_check(facts: InotifyFacts) -> Check:
    """inotify watches: one per directory under the watched paths, from a per-user limit."""
    dirs = (
        f"{facts.directories} director{'y' if facts.directories == 1 else 'ies'} under "
        f"{facts.watched_paths} watched path{'' if facts.watched_paths == 1 else 's'}"
    )
    if facts.max_user_watches is None:
        return Check("inotify watches", "ok", f"{dirs}; no inotify limit applies here")
    limit = facts.max_user_watches
    raise_it = (
        f"raise the limit: `sudo sysctl fs.inotify.max_user_watches={INOTIFY_ADVICE}`, and keep "
        f"it with `fs.inotify.max_user_watches={INOTIFY_ADVICE}` in /etc/sysctl.d/90-inotify.conf"
    )
    if facts.directories >= limit:
        return Check(
            "inotify watches", "fail", f"{dirs}, but the limit is {limit}: watching fails", raise_it
        )
    if facts.directories * 2 >= limit:
        return Check(
            "inotify watches", "warn",
            f"{dirs}, more than half the limit of {limit}, which editors and other watchers share",
            raise_it,
        )  # fmt: skip
    return Check("inotify watches", "ok", f"{dirs}; the limit is {limit}")


def _environments(names: tuple[str, ...]) -> str:
    return f"environment{'s' if len(names) > 1 else ''} {', '.join(names)}"


def context_check(need: ContextNeed, facts: ContextFacts) -> Check:
    """A context the blueprint names: in the kubeconfig, and its API server answering."""
    shown = need.context or f"(current: {facts.current or 'none'})"
    name = f"context {shown}"
    envs = _environments(need.environments)
    status: Status = "fail" if need.selected else "warn"
    make = (
        f"create the cluster: `devkit cluster up {need.environments[0]}`"
        if need.kind_cluster
        else f"add it to {facts.kubeconfig} (your cluster provider's `get-credentials` command), "
        "or set KUBECONFIG"
    )
    if not facts.exists:
        if facts.error is not None:
            summary = f"cannot read the kubeconfig {facts.kubeconfig}: {facts.error}"
        elif not need.context:
            summary = f"the kubeconfig {facts.kubeconfig} has no current context"
        else:
            summary = (
                f'{envs} names context "{need.context}", which {facts.kubeconfig} '
                f"does not have; contexts there: {', '.join(facts.available) or '(none)'}"
            )
        return Check(name, status, summary, make)
    if facts.error is not None:
        return Check(
            name, status, f"the API server of {envs} does not answer: {facts.error}",
            f"start the cluster (`devkit cluster up {need.environments[0]}`)"
            if need.kind_cluster
            else "check the VPN or network path to the cluster, and that its credentials are "
            "current",
        )  # fmt: skip
    version = f" (Kubernetes {facts.server_version})" if facts.server_version else ""
    return Check(name, "ok", f"{envs}: answering{version}")


def _local_registry(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in ("localhost", "127.0.0.1", "::1", "[::1]") or name.endswith(".localhost")


def registry_check(need: RegistryNeed, facts: RegistryFacts) -> Check:
    """A registry: its /v2/ endpoint answers, and docker's config holds credentials for it."""
    name = f"registry {need.host}"
    envs = _environments(need.environments)
    if facts.error is not None:
        return Check(
            name, "fail" if need.selected else "warn",
            f"{envs} pushes to {need.host}, which does not answer: {facts.error}",
            "start it (for a kind registry: `devkit cluster up ENV`), or check the network path "
            "to it",
        )  # fmt: skip
    if facts.credentials is None and not _local_registry(need.host):
        return Check(
            name, "warn",
            f"answering, but there are no credentials for {need.host} in docker's config: "
            "pushes will be refused unless it allows anonymous pushes",
            f"`docker login {need.host}`",
        )  # fmt: skip
    where = f"; credentials in {facts.credentials}" if facts.credentials else ""
    return Check(name, "ok", f"{envs}: answering{where}")


def port_check(facts: PortFacts) -> Check:
    """A host port the blueprint pins on 127.0.0.1: free, or held by the stack itself."""
    name = f"port {facts.port}/{facts.protocol}"
    if facts.held_by_stack:
        return Check(name, "ok", f'published by the running "{facts.service}"')
    if facts.busy:
        return Check(
            name, "fail",
            f'"{facts.service}" pins host port {facts.port}, which another process already uses '
            "on 127.0.0.1: its container cannot start",
            f"stop what listens there (`ss -ltnp 'sport = :{facts.port}'` names it), or pin "
            "another port (Port(..., host=N)) or none",
        )  # fmt: skip
    return Check(name, "ok", f'free for "{facts.service}"')


@dataclass(frozen=True)
class Diagnosis:
    environment: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> bool:
        """Something keeps the dev loop from working: the command exits 1."""
        return any(c.status == "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "ok": not self.blocked,
            "checks": [c.to_dict() for c in self.checks],
        }


def diagnose(wanted: Needs, facts: Facts) -> Diagnosis:
    """Every verdict, in the order a user fixes them: engine, watching, clusters, registries,
    ports. Facts that were not gathered (a remote environment has no file watching) are left out."""
    checks = engine_checks(facts.engine)
    if facts.watch is not None:
        checks.append(watch_check(facts.watch))
    if facts.inotify is not None:
        checks.append(inotify_check(facts.inotify))
    found_contexts = {f.context: f for f in facts.contexts}
    for context in wanted.contexts:
        if context.context in found_contexts:
            checks.append(context_check(context, found_contexts[context.context]))
    found_registries = {f.host: f for f in facts.registries}
    for registry in wanted.registries:
        if registry.host in found_registries:
            checks.append(registry_check(registry, found_registries[registry.host]))
    checks.extend(port_check(p) for p in facts.ports)
    return Diagnosis(wanted.environment, tuple(checks))
