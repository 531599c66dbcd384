"""A Kubernetes environment as a whole target: the release side (target.py) plus the dev loop
(up, status, logs, exec, live sync, port-forwards); a Kind environment also creates and
deletes its cluster."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from kubernetes.stream import stream

from devkit.errors import EngineError, UserError
from devkit.model.job import Job
from devkit.model.targets import Kind
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan
from devkit.project.cache import cache_dir
from devkit.targets.base import (
    BuildLine,
    ForwardSet,
    NoMetricsError,
    ServiceStatus,
    ServiceUsage,
    SyncSession,
    UpResult,
)
from devkit.targets.kubernetes import kind
from devkit.targets.kubernetes.api import KubeApi, KubeError, connect_context
from devkit.targets.kubernetes.backup import (
    PodVolumes,
    exec_dump,
    exec_load,
    stopped_with_helper,
)
from devkit.targets.kubernetes.logs import pod_logs
from devkit.targets.kubernetes.port_forward import PortForwarder, free_port, ready_pod
from devkit.targets.kubernetes.spec import INSTANCE, ROLE
from devkit.targets.kubernetes.stack import start_forwards, up_on_cluster
from devkit.targets.kubernetes.status import service_statuses, service_usage
from devkit.targets.kubernetes.sync import KubeSyncSession
from devkit.targets.kubernetes.target import KubernetesTarget, _since
from devkit.targets.outcome import Outcome, Progress

METRICS_API = "metrics.k8s.io/v1beta1"
_TAIL = 20  # output lines a job's outcome keeps


class ClusterTarget(KubernetesTarget):
    """An environment's namespace on a cluster, for deploys and for the dev loop."""

    def __init__(
        self, plan: Plan, *, context: str | None, force_conflicts: bool = False,
        forwards: Callable[[], Mapping[str, str]] = dict,
    ) -> None:  # fmt: skip
        super().__init__(
            lambda: KubeApi(connect_context(context)), plan, force_conflicts=force_conflicts
        )
        self.context = context
        self._known_forwards = forwards

    # --- the dev loop -------------------------------------------------------------------------
    def _kind_cluster(self) -> str | None:
        return None

    def up(
        self, plan: Plan, root: Path, *, image_map: ImageMap, names: Sequence[str],
        progress: Progress, build_line: BuildLine, timeout: float,
    ) -> UpResult:  # fmt: skip
        return up_on_cluster(
            self, plan, root, image_map=image_map, names=names, kind_cluster=self._kind_cluster(),
            progress=progress, build_line=build_line, timeout=timeout,
        )  # fmt: skip

    def stop(self) -> list[str]:
        """Nothing stops: the stack keeps running on the cluster until `devkit down`."""
        return []

    def forward_ports(self, plan: Plan, progress: Progress) -> ForwardSet:
        return start_forwards(self, plan, cache_dir(), progress)

    def sync_session(
        self, plan: Plan, root: Path, image_map: ImageMap, forwards: Mapping[tuple[str, str], int]
    ) -> SyncSession:
        def bring_up(service: str, progress: Progress, build_line: BuildLine) -> None:
            self.up(plan, root, image_map=image_map, names=[service], progress=progress,
                    build_line=build_line, timeout=180.0)  # fmt: skip

        return KubeSyncSession(self, forwards, bring_up)

    def _service_pods(self) -> list[dict[str, Any]]:
        return [
            p for p in self.kube.list("v1", "Pod", self.namespace, f"{INSTANCE}={self.instance}")
            if ROLE not in (p["metadata"].get("labels") or {})
        ]  # fmt: skip

    def status(self) -> list[ServiceStatus]:
        pods = self._service_pods()
        try:
            nodes: dict[str, Any] | None = {
                n["metadata"]["name"]: n for n in self.kube.list("v1", "Node", None)
            }
        except KubeError as exc:
            if not exc.denied:
                raise
            nodes = None  # a deploy account has no cluster-scoped rights: capacity unknown
        return service_statuses(
            [s.name for s in self.plan.services], pods, nodes, self._known_forwards()
        )

    def usage(self) -> list[ServiceUsage]:
        """CPU and memory per service from the cluster's metrics API (metrics.k8s.io, served by
        metrics-server), summed over the service's pods; NoMetricsError where it is not served
        or this account may not read it."""
        if not self.kube.serves(METRICS_API, "PodMetrics"):
            raise NoMetricsError(
                f"the cluster serves no metrics API ({METRICS_API})",
                details=["metrics-server serves it; devkit reads it when it is there"],
            )
        try:
            metrics = self.kube.list(METRICS_API, "PodMetrics", self.namespace,
                                     f"{INSTANCE}={self.instance}")  # fmt: skip
        except KubeError as exc:
            if not exc.denied:
                raise
            raise NoMetricsError(
                f"this account may not list PodMetrics ({METRICS_API}) in {self.namespace}",
                details=[
                    "the cluster's `view` role includes them (metrics-server's "
                    "system:aggregated-metrics-reader)"
                ],
            ) from None
        return service_usage([s.name for s in self.plan.services], self._service_pods(), metrics)

    def logs(
        self, services: set[str] | None, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        """(service, line) from the chosen services' pods; following, pods that replace them
        later are followed too."""
        return pod_logs(self.core, self.namespace, self._service_pods, services,
                        follow=follow, since=since, tail=tail)  # fmt: skip

    # --- backups: commands in a ready pod ------------------------------------------------------
    def running(self, service: str) -> bool:
        return ready_pod(self.kube, self.namespace, self.instance, service) is not None

    def dump(self, service: str, command: Sequence[str]) -> Iterator[bytes]:
        pod = self._ready_pod(service)
        return exec_dump(self.kube, self.namespace, pod, command, f'service "{service}" ({pod})')

    def load(self, service: str, command: Sequence[str], chunks: Iterable[bytes]) -> None:
        pod = self._ready_pod(service)
        exec_load(self.kube, self.namespace, pod, command, chunks,
                  what=f'service "{service}" ({pod})')  # fmt: skip

    @contextmanager
    def reach(self, service: str, port: int) -> Iterator[int]:
        """A port-forward from 127.0.0.1 to the service's ready pods, while inside."""
        forwarder = PortForwarder(self.kube, self.namespace, self.instance, lambda *_: None)
        try:
            yield forwarder.start(service, "backup", port, free_port()).local_port
        finally:
            forwarder.stop()

    def stopped(self, service: str, progress: Progress) -> AbstractContextManager[PodVolumes]:
        """Its StatefulSet scaled to 0 while inside, a helper pod with its claims."""
        return stopped_with_helper(self.kube, self.namespace, self.instance, service, progress)

    def _ready_pod(self, service: str) -> str:
        pod = ready_pod(self.kube, self.namespace, self.instance, service)
        if pod is None:
            raise EngineError(
                f'service "{service}" has no ready pod in namespace {self.namespace}',
                details=[f"start it with `devkit up -e {self.env}`; `devkit status -e {self.env}`"
                         " shows its pods"],
            )  # fmt: skip
        return pod

    def _exec_stream(self, pod: str, command: list[str]) -> Any:
        return stream(
            self.kube.stream_core().connect_get_namespaced_pod_exec, pod, self.namespace,
            command=command, stdin=False, stdout=True, stderr=True, tty=False,
            _preload_content=False,
        )  # fmt: skip

    def run_declared_job(self, job: Job, output: Callable[[str], None]) -> Outcome:
        """Run the job's command in a ready pod of its service (as `devkit exec` does: the code
        as synced, the pod's environment), its output line by line; ok on exit 0 within
        `job.timeout`. Past the timeout the exec's connection is closed and the run reported
        failed (the command may go on in the pod)."""
        began = time.monotonic()
        ws = self._exec_stream(self._ready_pod(job.service), list(job.command))
        kept: list[str] = []
        pending = {"out": "", "err": ""}

        def take(which: str, text: str, final: bool = False) -> None:
            pending[which] += text
            *lines, pending[which] = pending[which].split("\n")
            if final and pending[which]:
                lines.append(pending[which])
                pending[which] = ""
            for line in lines:
                kept.append(line)
                output(line)

        try:
            while ws.is_open():
                if time.monotonic() - began > job.timeout:
                    why = f"did not finish in {job.timeout:g}s (it may still run in the pod)"
                    return Outcome(False, why, tuple(kept[-_TAIL:]), _since(began))
                ws.update(timeout=0.5)
                _hand_on(ws, partial(take, "out"), partial(take, "err"))
            _hand_on(ws, partial(take, "out"), partial(take, "err"))
            take("out", "", final=True)
            take("err", "", final=True)
            code = ws.returncode
        finally:
            ws.close()
        logs = tuple(kept[-_TAIL:])
        if code == 0:
            return Outcome(True, "exited 0", logs, _since(began))
        return Outcome(False, f"exited with {code}", logs, _since(began))

    def exec(self, service: str, command: list[str], *, interactive: bool) -> int:
        """Run `command` in a ready pod of the service; its output here, its exit code back."""
        pod = self._ready_pod(service)
        kubectl = shutil.which("kubectl")
        if interactive and kubectl is not None:
            context = ["--context", self.context] if self.context else []
            sys.stdout.flush()
            os.execv(kubectl, ["kubectl", *context, "exec", "-it", "-n", self.namespace, pod,  # noqa: S606
                               "--", *command])  # fmt: skip
        ws = self._exec_stream(pod, command)
        while ws.is_open():
            ws.update(timeout=1)
            _hand_on(ws, _write_to(sys.stdout), _write_to(sys.stderr))
        _hand_on(ws, _write_to(sys.stdout), _write_to(sys.stderr))
        code = ws.returncode
        return int(code) if code is not None else 1


def _hand_on(ws: Any, out: Callable[[str], None], err: Callable[[str], None]) -> None:
    """Pass on what an exec stream's output channels hold. Once more after the stream closed:
    reading one channel can take in the other's last output together with the close."""
    if ws.peek_stdout():
        out(ws.read_stdout())
    if ws.peek_stderr():
        err(ws.read_stderr())


def _write_to(sink: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        sink.write(text)
        sink.flush()

    return write


class KindTarget(ClusterTarget):
    """A Kind environment: a kind cluster on this machine, which devkit creates and deletes;
    images are loaded into its nodes unless it declares a registry."""

    def __init__(
        self, plan: Plan, declared: Kind, *, context: str | None, force_conflicts: bool = False,
        forwards: Callable[[], Mapping[str, str]] = dict,
    ) -> None:  # fmt: skip
        super().__init__(
            plan, context=context or f"kind-{declared.cluster}", force_conflicts=force_conflicts,
            forwards=forwards,
        )  # fmt: skip
        self.declared = declared

    def _kind_cluster(self) -> str | None:
        return self.declared.cluster

    def cluster_up(self, root: Path, say: Callable[[str], None]) -> bool:
        declared = self.declared
        config = root / declared.config if declared.config else None
        if config is not None and not config.is_file():
            raise UserError(
                f"kind config {config} does not exist (Kind(config=...) in blueprint.py)"
            )
        created = declared.cluster not in kind.clusters()
        if created:
            say(f"creating kind cluster {declared.cluster}…")
            kind.create(declared.cluster, node_image=declared.node_image, config=config)
        KubeApi(connect_context(f"kind-{declared.cluster}")).close()  # it answers
        return created

    def cluster_down(self, say: Callable[[str], None]) -> bool:
        existed = self.declared.cluster in kind.clusters()
        if existed:
            kind.delete(self.declared.cluster)
        return existed
