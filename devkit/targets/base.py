"""What a target can do, as small capability protocols, and the values they exchange.

A command asks the target an environment declares for the capability it needs
(`require(target, Logs, ...)`); a target that lacks it is refused with one clear error naming
the environment and what it lacks. Each engine (docker/, swarm/, kubernetes/) implements the
protocols it supports; `devkit/targets/registry.py` opens the right one. Nothing here does I/O.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from devkit.errors import EngineError, UserError
from devkit.model.canary import Cookie, Header, Prometheus
from devkit.model.job import Job
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan
from devkit.records.lock import Lock
from devkit.records.release import CanaryRecord, Release, Status
from devkit.targets.outcome import Outcome, Progress

T = TypeVar("T")
StackSpec = dict[str, Any]
"""A release's stack as its engine applies and records it (in the release record, as JSON): the
engine's own document, opaque to the release engine, which only stores and hands it back."""
BuildLine = Callable[[str, str], None]
"""build_line(service, line): a line of build, push or load output."""


# --- values --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PodStatus:
    """One pod of a service on a cluster."""

    name: str
    phase: str
    ready: bool
    restarts: int
    node: str
    capacity: str  # "spot", "on-demand", "-" when the node does not say, or unknown (unreadable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "phase": self.phase, "ready": self.ready,
            "restarts": self.restarts, "node": self.node, "capacity": self.capacity,
        }  # fmt: skip


@dataclass(frozen=True)
class ServiceStatus:
    """What runs for one service, as the engine reports it."""

    service: str
    container: str  # Docker: the container's name; clusters: the workload's
    state: str  # running, exited, pending, ...
    health: str  # healthy, unhealthy, starting, or "-" without a health check
    ports: dict[str, str]  # Docker: "8000/tcp" -> "127.0.0.1:49153"; clusters: forwards
    image: str
    pods: tuple[PodStatus, ...] = ()

    @property
    def restarts(self) -> int:
        return sum(p.restarts for p in self.pods)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "service": self.service, "container": self.container, "state": self.state,
            "health": self.health, "ports": self.ports, "image": self.image,
        }  # fmt: skip
        if self.pods:
            data["ready"] = sum(p.ready for p in self.pods)
            data["total"] = len(self.pods)
            data["restarts"] = self.restarts
            data["pods"] = [p.to_dict() for p in self.pods]
        return data


@dataclass(frozen=True)
class ServiceUsage:
    """What one service uses now, as the engine measures it (all its containers or pods)."""

    service: str
    cpu: float | None  # cores (1.0 is one CPU busy); None until the engine has two readings
    memory: int  # bytes: the working set (without the page cache the kernel can drop)

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "cpu": self.cpu, "memory": self.memory}


class NoMetricsError(EngineError):
    """The target can measure usage, but not now (a cluster without a metrics API)."""


@dataclass(frozen=True)
class UpResult:
    """A stack brought up: which services, what was built, and what changed."""

    services: tuple[str, ...]
    built: tuple[str, ...]  # services whose image was built (not found cached)
    images: dict[str, str]
    seconds: float
    created: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    namespace: str | None = None  # clusters: where it runs


@dataclass(frozen=True)
class Forward:
    """A port of a service, reachable on 127.0.0.1."""

    service: str
    port_name: str
    container_port: int
    local_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"


@dataclass
class ForwardSet:
    """Running port-forwards; `stop()` ends them."""

    forwards: list[Forward] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Traffic:
    """How a service's routes split during a canary: `weight` percent to its canary, and the
    requests matching `match` to the canary whatever the weight."""

    service: str
    weight: int
    match: Header | Cookie | None = None


@dataclass(frozen=True)
class LiveCanary:
    """A canary found running: whose, of which release, and its weight on the routes now."""

    service: str
    release: int
    weight: int


# --- live sync ------------------------------------------------------------------------------
class TransferError(EngineError):
    """Files could not be moved into a container or pod."""


class Transfer(Protocol):
    """Moves files into where one service runs, compares trees, and restarts its process."""

    def put(self, files: Mapping[str, str], dirs: list[str]) -> None: ...
    def remove(self, paths: list[str]) -> None: ...
    def hashes(self, root: str) -> dict[str, str]: ...
    def restart(self) -> None: ...
    def close(self) -> None: ...


class SyncSession(Protocol):
    """What live sync needs of where a service runs (a container, or every pod of it)."""

    def transfer(self, service: str) -> Transfer:
        """The service's transfer; raises TransferError while it does not run."""
        ...

    def forget(self, service: str) -> None:
        """Drop what is known of the service's container or pods (after a rebuild)."""
        ...

    def run(self, service: str, command: list[str]) -> tuple[int, bytes]:
        """Run a sync rule's command where the service runs: (exit code, output)."""
        ...

    def follow_starts(self, services: list[str], started: Callable[[str], None],
                      stop: threading.Event) -> None:  # fmt: skip
        """Call `started(service)` whenever a container or pod of it (re)starts, until stop."""
        ...

    def answer_port(self, service: str, port_name: str) -> int | None:
        """The 127.0.0.1 port that reaches the service's port now, if any."""
        ...

    def process_exited(self, service: str, since: float) -> bool:
        """Whether the supervised process of the service exited since `since`."""
        ...

    def output_since(self, service: str, since: float) -> list[str]:
        """The service's last output lines since `since`."""
        ...

    def bring_up(self, service: str, progress: Progress, build_line: BuildLine) -> None:
        """Rebuild the service's image and replace what runs it."""
        ...


# --- capabilities ---------------------------------------------------------------------------
@runtime_checkable
class RunsStack(Protocol):
    """Runs an environment's stack for development: `devkit up`."""

    def up(self, plan: Plan, root: Path, *, image_map: ImageMap, names: Sequence[str],
           progress: Progress, build_line: BuildLine, timeout: float) -> UpResult: ...  # fmt: skip

    def stop(self) -> list[str]:
        """Stop the stack for now (kept for the next up); the services stopped."""
        ...


@runtime_checkable
class ReportsStatus(Protocol):
    """Says what runs, per service: `devkit status`."""

    def status(self) -> list[ServiceStatus]: ...


@runtime_checkable
class ReportsUsage(Protocol):
    """Says how much CPU and memory each service uses now: the page's resource plots."""

    def usage(self) -> list[ServiceUsage]:
        """Per running service; raises NoMetricsError when the engine cannot say."""
        ...


@runtime_checkable
class RunsJobs(Protocol):
    """Runs a declared job where the service runs now, on demand: the page's job buttons."""

    def run_declared_job(self, job: Job, output: Callable[[str], None]) -> Outcome:
        """Run `job.command` where `job.service` runs (its code as synced, its environment),
        each output line to `output`; ok on exit 0 within `job.timeout`."""
        ...


@runtime_checkable
class StreamsLogs(Protocol):
    """Streams the services' output: `devkit logs`."""

    def logs(self, services: set[str] | None, *, follow: bool, since: float | None,
             tail: int | None) -> Iterator[tuple[str, str]]: ...  # fmt: skip


@runtime_checkable
class Executes(Protocol):
    """Runs a command where a service runs: `devkit exec`."""

    def exec(self, service: str, command: list[str], *, interactive: bool) -> int: ...


@runtime_checkable
class SyncsFiles(Protocol):
    """Live sync: files into running containers or pods, `devkit watch` and `up`."""

    def sync_session(self, plan: Plan, root: Path, image_map: ImageMap,
                     forwards: Mapping[tuple[str, str], int]) -> SyncSession: ...  # fmt: skip


@runtime_checkable
class ForwardsPorts(Protocol):
    """Makes each declared port reachable on 127.0.0.1, following replaced pods."""

    def forward_ports(self, plan: Plan, progress: Progress) -> ForwardSet: ...


@runtime_checkable
class Destroys(Protocol):
    """Removes what devkit created for the environment: `devkit down`."""

    def destroy(self, *, volumes: bool) -> dict[str, list[str]]: ...


@runtime_checkable
class ManagesCluster(Protocol):
    """Creates and deletes the cluster itself: `devkit cluster up|down` (kind)."""

    def cluster_up(self, root: Path, say: Callable[[str], None]) -> bool:
        """Create the cluster, or find it; True when it was created."""
        ...

    def cluster_down(self, say: Callable[[str], None]) -> bool:
        """Delete the cluster; False when there was none."""
        ...


class Records(Protocol):
    """Release records and the deploy lock, kept in the target itself."""

    def releases(self) -> list[Release]: ...
    def record(self, release: Release) -> None: ...
    def set_status(self, number: int, status: Status, reason: str, finished: str) -> None: ...
    def locked(
        self, lock: Lock, *, on_stale: Callable[[Lock, str], None] | None = None,
        resume: bool = False,
    ) -> AbstractContextManager[None]: ...  # fmt: skip
    def hand_over(self, lock: Lock) -> None: ...
    def break_lock(self) -> Lock | None: ...
    def holder(self) -> Lock | None: ...


@runtime_checkable
class Releases(Protocol):
    """Deploys releases and keeps their records and the lock: deploy, promote, rollback."""

    env: str

    @property
    def records(self) -> Records: ...

    def check(self) -> None: ...
    def provide_secrets(self, values: Mapping[str, str]) -> None: ...
    def check_images(self, images: Mapping[str, str]) -> None: ...
    def observe(
        self, plan: Plan, images: Mapping[str, str], secret_values: Mapping[str, str]
    ) -> object:
        """What deciding needs from the target, read (the server's version, the images'
        entrypoints) or created (Docker secrets) first: the engine's frozen value."""
        ...

    def prepare(self, plan: Plan, images: Mapping[str, str], observed: object) -> StackSpec:
        """The stack a release records and applies, decided from the plan, the images and what
        `observe` returned; changes nothing."""
        ...

    def check_apply(self, stack: Mapping[str, Any]) -> None: ...
    def apply(self, stack: Mapping[str, Any], progress: Progress) -> object: ...
    def wait(self, stack: Mapping[str, Any], timeout: float, progress: Progress) -> Outcome: ...
    def run_once(
        self, service: str, image: str, command: list[str], env: Mapping[str, str], timeout: float
    ) -> Outcome: ...
    def run_job(
        self, job: Job, stack: Mapping[str, Any], image: str, env: Mapping[str, str]
    ) -> Outcome: ...
    def published(self) -> dict[str, dict[int, int]]: ...
    def destroy(self, *, volumes: bool) -> dict[str, list[str]]: ...


@runtime_checkable
class RunsCanaries(Protocol):
    """Runs a release of one service as a canary beside its stable version, shifting the
    traffic on its routes: deploy and promote with a canary (devkit/delivery/canary.py)."""

    def canary_stack(
        self, stable: Mapping[str, Any], new: Mapping[str, Any], traffic: Traffic, release: int
    ) -> StackSpec:
        """`stable`'s stack with the canary (from `new`) beside it and the routes split. Pure."""
        ...

    def shift(self, stack: Mapping[str, Any], service: str, progress: Progress) -> None:
        """Apply only the service's routes of `stack`: the weights change, nothing else."""
        ...

    def canary_differs(
        self, before: Mapping[str, Any], after: Mapping[str, Any], service: str
    ) -> bool: ...
    def live_canary(self) -> LiveCanary | None: ...
    def record_canary(self, number: int, canary: CanaryRecord) -> None: ...
    def query(self, prometheus: Prometheus, promql: str) -> str:
        """Prometheus's answer (JSON text) to an instant query; EngineError if it cannot."""
        ...

    def gateway_backend(self, service: str) -> str:
        """How the gateway's metrics name a Service of the environment (a regular expression
        for the `service` label)."""
        ...


@runtime_checkable
class DiffsLive(Protocol):
    """Compares a release with what runs, by the server's dry-run: `devkit diff --live`."""

    namespace: str

    def live_diff(self, stack: Mapping[str, Any], *, secret_known: bool) -> list[Any]: ...


@dataclass(frozen=True)
class AccessObjects:
    """The least-privilege access a deploy of an environment needs (`devkit render --access`)."""

    account: str
    """The identity deploys run as, `namespace/name`."""
    namespace: str
    admin: tuple[dict[str, Any], ...]
    """Cluster-scoped objects an admin creates beforehand (the namespace and its labels)."""
    deployer: tuple[dict[str, Any], ...]
    """Namespaced objects: the account, its Role and RoleBinding, and a Role and RoleBinding in
    each source namespace it promotes from."""


@runtime_checkable
class GrantsAccess(Protocol):
    """Says which rights its deploys need, so they can run as an account with only those."""

    namespace: str

    def access(self, sources: Mapping[str, str], kube_version: str) -> AccessObjects:
        """The access of its deploy account; `sources`: environment -> namespace it promotes
        from."""


@runtime_checkable
class BacksUp(Protocol):
    """Reads and writes a service's data where it runs: `devkit backup` and `restore`.

    The commands come from the backup's steps (devkit/records/backup.py); the engine only
    carries them and their bytes."""

    def running(self, service: str) -> bool:
        """Whether the service runs (a ready container or pod), so commands can run in it."""
        ...

    def dump(self, service: str, command: Sequence[str]) -> Iterator[bytes]:
        """Run `command` where the service runs; its stdout, as it comes. An exit other than 0
        raises EngineError with the command's last stderr lines."""
        ...

    def load(self, service: str, command: Sequence[str], chunks: Iterable[bytes]) -> None:
        """Run `command` where the service runs with `chunks` on its stdin (the command stops
        reading by itself: stdin may not be closed). EngineError as for dump."""
        ...

    def reach(self, service: str, port: int) -> AbstractContextManager[int]:
        """A 127.0.0.1 port that reaches the service's container port while inside."""
        ...


class VolumeAccess(Protocol):
    """Commands beside a stopped service, with its volumes mounted where it has them."""

    def dump(self, command: Sequence[str]) -> Iterator[bytes]: ...
    def load(self, command: Sequence[str], chunks: Iterable[bytes]) -> None: ...


@runtime_checkable
class CopiesVolumes(Protocol):
    """Copies a stopped service's volumes at file level (the fallback for data without a
    backup method)."""

    def stopped(self, service: str, progress: Progress) -> AbstractContextManager[VolumeAccess]:
        """The service stopped while inside (and started again after, waiting until it is
        healthy, if it ran before), with a helper that has its volumes."""
        ...


# --- asking for one ---------------------------------------------------------------------------
@runtime_checkable
class Namespaced(Protocol):
    """Lives in a namespace that --namespace can move (clusters)."""

    namespace: str


CAPABILITY_NAMES: dict[type, tuple[str, str]] = {
    RunsStack: ("run a development stack (devkit up)", "environments that can"),
    ReportsStatus: ("report status (devkit status)", "environments that can"),
    StreamsLogs: ("stream logs (devkit logs)", "environments that can"),
    ReportsUsage: ("report CPU and memory use", "environments that can"),
    RunsJobs: ("run declared jobs on demand", "environments that can"),
    Executes: ("run commands in services (devkit exec)", "environments that can"),
    SyncsFiles: ("live-sync files (devkit watch)", "environments that can"),
    ForwardsPorts: ("forward ports", "environments that can"),
    Destroys: ("remove a stack (devkit down)", "environments that can"),
    ManagesCluster: ("create or delete its cluster (devkit cluster)", "Kind environments"),
    Releases: (
        "deploy releases (devkit deploy, promote, rollback, releases)",
        "environments that deploy",
    ),
    RunsCanaries: ("run canary releases", "environments that can"),
    DiffsLive: ("compare with what runs (devkit diff --live)", "environments that can"),
    BacksUp: (
        "back up or restore services' data (devkit backup, restore)",
        "environments that can",
    ),
    CopiesVolumes: ("copy a stopped service's volumes", "environments that can"),
    Namespaced: ("live in a namespace (--namespace)", "environments that can"),
    GrantsAccess: ("render a least-privilege deploy account (--access)", "environments that can"),
}


class MissingCapabilityError(UserError):
    """The environment's target cannot do what the command needs (exit 2, nothing changed)."""

    @classmethod
    def of(cls, plan: Plan, capability: type, others: Sequence[str] = ()) -> MissingCapabilityError:
        what, label = CAPABILITY_NAMES.get(capability, (capability.__name__, "environments"))
        details = [f"{label}: {', '.join(others) or '(none)'}"]
        return cls(
            f'environment "{plan.environment}" runs on {plan.target.kind}, which cannot {what}',
            details=[*details, "nothing was changed"],
        )


class ClusterNotChosenError(UserError):
    """An environment on several clusters, given to a command that works on one cluster's
    target without saying which (exit 2, nothing changed). `narrows`: the command takes
    --cluster NAME."""

    def __init__(self, environment: str, clusters: Sequence[str], *, narrows: bool) -> None:
        self.environment, self.clusters = environment, tuple(clusters)
        ask = "name one with --cluster NAME" if narrows else "this command works on one cluster"
        super().__init__(
            f'environment "{environment}" runs on {len(self.clusters)} clusters '
            f"({', '.join(self.clusters)}): {ask}",
            details=[
                "deploy, promote, rollback and releases go through them wave by wave; backup, "
                "restore, exec, logs and status take --cluster NAME",
                "nothing was changed",
            ],
        )


def supports(target: object, capability: type) -> bool:
    """Whether `target` has every member of `capability`.

    Looked up statically: a property (a cluster's records) must not connect just to be seen.
    """
    return all(_has(target, n) for n in members(capability))


def members(capability: type) -> list[str]:
    """The methods, properties and attributes a capability protocol asks for."""
    names = [n for n in vars(capability) if not n.startswith("_")]
    return names + [n for n in getattr(capability, "__annotations__", {}) if n not in names]


def require(target: object, capability: type[T], plan: Plan) -> T:
    """`target` as `capability`, or a clear error naming the environment and what it lacks."""
    if supports(target, capability):
        return target  # type: ignore[return-value]
    raise MissingCapabilityError.of(plan, capability)


def _has(target: object, name: str) -> bool:
    try:
        inspect.getattr_static(target, name)
    except AttributeError:
        return False
    return True
