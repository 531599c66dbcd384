"""The Docker target: carry out the changes docker_spec decided, and report what runs.

One network per project+environment, one container per service, named and labelled (see
labels.py), ports published on 127.0.0.1, named volumes, an init process so stop signals work,
start order gated on dependencies being healthy.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

from devkit.build.engine import connect
from devkit.errors import EngineError
from devkit.model.job import Job
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan
from devkit.render.healthcheck import probe_command
from devkit.targets import labels
from devkit.targets.base import BuildLine, ServiceStatus, ServiceUsage, SyncSession, UpResult
from devkit.targets.container_stats import ContainerStats
from devkit.targets.docker.backup import DockerVolumes, exec_dump, exec_load, stopped_with_helper
from devkit.targets.docker.spec import (
    ActualContainer,
    Changes,
    ContainerSpec,
    network_name,
)
from devkit.targets.docker.stack import up_on_docker
from devkit.targets.docker.sync import DockerSyncSession
from devkit.targets.docker.volumes import InitValuesChangedError, init_labels, init_mismatch
from devkit.targets.docker_exec import exec_attached
from devkit.targets.log_lines import interleaved
from devkit.targets.outcome import Outcome, Progress
from devkit.targets.supervisor import ImageConfig

_LOG_TAIL = 20
_POLL = 0.2
_SETTLE = 1.0  # seconds a service without a health check must stay up to count as started


def _host_ports(container: Container) -> dict[str, int]:
    """The host ports a container got, by "8000/tcp"."""
    ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
    return {key: int(bound[0]["HostPort"]) for key, bound in ports.items() if bound}


def _running_for(state: Mapping[str, Any]) -> float:
    """Seconds since the container last started, from the engine's StartedAt."""
    started = str(state.get("StartedAt", ""))
    if not started or started.startswith("0001-"):
        return 0.0
    # The engine gives nanoseconds; Python parses at most microseconds.
    stamp = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", started).replace("Z", "+00:00"))
    return max(0.0, time.time() - stamp.timestamp())


class ServiceFailedError(EngineError):
    """A service exited or never became healthy; carries its last log lines."""


class PortInUseError(EngineError):
    """A declared host port is taken by something else on 127.0.0.1."""


class DockerTarget:
    """One project's environment on one Docker engine: up, status, logs, exec, live sync,
    down."""

    env: str

    def __init__(self, client: docker.DockerClient, project: str, env: str) -> None:
        self.client = client
        self.project = project
        self.env = env
        self._stats = ContainerStats(client)

    # --- up ----------------------------------------------------------------------------------
    def up(
        self,
        plan: Plan,
        root: Path,
        *,
        image_map: ImageMap,
        names: Sequence[str],
        progress: Progress,
        build_line: BuildLine,
        timeout: float,
    ) -> UpResult:
        """Bring the plan's services (or the named ones and their dependencies) up, healthy."""
        return up_on_docker(
            self, plan, root, image_map=image_map, names=names, progress=progress,
            build_line=build_line, timeout=timeout,
        )  # fmt: skip

    def image_config(self, ref: str) -> ImageConfig:
        """An image's own (Entrypoint, Cmd)."""
        config = self.client.images.get(ref).attrs.get("Config") or {}
        return config.get("Entrypoint"), config.get("Cmd")

    # --- exec, live sync ---------------------------------------------------------------------
    def exec(self, service: str, command: list[str], *, interactive: bool) -> int:
        """Run `command` in the service's running container, attached to this terminal."""
        running = {row.service: row.container for row in self.status() if row.state == "running"}
        if service not in running:
            raise EngineError(
                f'service "{service}" is not running in {self.project}/{self.env}',
                details=[f"start it with `devkit up -e {self.env}`"],
            )
        exec_attached(running[service], command, interactive=interactive)

    def sync_session(
        self,
        plan: Plan,
        root: Path,
        image_map: ImageMap,
        forwards: Mapping[tuple[str, str], int],
    ) -> SyncSession:
        """Live sync into this environment's containers (ports are published, not forwarded)."""

        def bring_up(service: str, progress: Progress, build_line: BuildLine) -> None:
            client = connect()
            try:
                DockerTarget(client, self.project, self.env).up(
                    plan, root, image_map=image_map, names=[service], progress=progress,
                    build_line=build_line, timeout=120.0,
                )  # fmt: skip
            finally:
                client.close()

        return DockerSyncSession(connect(), plan, bring_up)

    # --- backups ---------------------------------------------------------------------------
    def _service_container(self, service: str) -> Container:
        for container in self.containers():
            found = container.labels
            if found.get(labels.SERVICE) == service and labels.ROLE not in found:
                return container
        raise EngineError(
            f'service "{service}" has no container in {self.project}/{self.env}',
            details=[f"start it with `devkit up -e {self.env}`; nothing was changed"],
        )

    def _running(self, service: str) -> Container:
        container = self._service_container(service)
        if container.status != "running":
            raise EngineError(
                f'service "{service}" is not running in {self.project}/{self.env}',
                details=[f"start it with `devkit up -e {self.env} {service}`"],
            )
        return container

    def running(self, service: str) -> bool:
        try:
            return bool(self._service_container(service).status == "running")
        except EngineError:
            return False

    def dump(self, service: str, command: Sequence[str]) -> Iterator[bytes]:
        container = self._running(service)
        return exec_dump(self.client, container.id or "", command, f'service "{service}"')

    def load(self, service: str, command: Sequence[str], chunks: Iterable[bytes]) -> None:
        container = self._running(service)
        exec_load(self.client, container.id or "", command, chunks, f'service "{service}"')

    @contextmanager
    def reach(self, service: str, port: int) -> Iterator[int]:
        """The host port the service's container port is published on (127.0.0.1)."""
        published = _host_ports(self._running(service)).get(f"{port}/tcp")
        if published is None:
            raise EngineError(f'service "{service}": port {port} is not published on 127.0.0.1')
        yield published

    def stopped(self, service: str, progress: Progress) -> AbstractContextManager[DockerVolumes]:
        return stopped_with_helper(
            self.client, self._service_container(service), (self.project, self.env),
            progress=progress, wait_ready=self._wait_started,
        )  # fmt: skip

    def _wait_started(self, container: Container, timeout: float = 120.0) -> None:
        """Until the restarted container is healthy (or has run a moment, without a check)."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            container.reload()
            state = container.attrs.get("State", {})
            if state.get("Status") in ("exited", "dead"):
                raise ServiceFailedError(
                    f'service "{container.labels.get(labels.SERVICE)}" exited with code '
                    f"{state.get('ExitCode')} when started again",
                    details=self._tail(container),
                )
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy" or (health is None and _running_for(state) >= _SETTLE):
                return
            check = container.attrs.get("Config", {}).get("Healthcheck") or {}
            if health and check.get("Test") and state.get("Status") == "running":
                # Docker checks only every interval; probing now is as good an answer
                code, _ = container.exec_run(probe_command(check))
                if code == 0:
                    return
            time.sleep(_POLL)
        raise ServiceFailedError(
            f'service "{container.labels.get(labels.SERVICE)}" did not become healthy within '
            f"{timeout:g}s after it was started again",
            details=self._tail(container),
        )

    # --- what runs -------------------------------------------------------------------------
    def containers(self) -> list[Container]:
        # a container removed between the list and its inspect is no longer the stack's
        found = self.client.containers.list(
            all=True,
            filters={"label": labels.stack_filter(self.project, self.env)},
            ignore_removed=True,
        )
        return sorted(found, key=lambda c: c.name or "")

    def actual(self) -> list[ActualContainer]:
        """The stack's containers from one list call (no per-container inspect)."""
        found = self.client.api.containers(
            all=True, filters={"label": labels.stack_filter(self.project, self.env)}
        )
        return sorted(
            (
                ActualContainer(
                    id=c["Id"],
                    name=c["Names"][0].lstrip("/"),
                    service=c["Labels"].get(labels.SERVICE, ""),
                    spec_hash=c["Labels"].get(labels.SPEC_HASH, ""),
                    state=c["State"],
                )
                for c in found
            ),
            key=lambda c: c.name,
        )

    def status(self) -> list[ServiceStatus]:
        rows = []
        for container in self.containers():
            attrs = container.attrs
            state = attrs.get("State", {})
            health = state.get("Health", {}).get("Status", "-") if state.get("Health") else "-"
            ports = {
                port: f"{b[0]['HostIp']}:{b[0]['HostPort']}"
                for port, b in (attrs.get("NetworkSettings", {}).get("Ports") or {}).items()
                if b
            }
            rows.append(
                ServiceStatus(
                    service=container.labels.get(labels.SERVICE, ""),
                    container=container.name or "",
                    state=state.get("Status", container.status),
                    health=health,
                    ports=ports,
                    image=attrs.get("Config", {}).get("Image", ""),
                )
            )
        return rows

    def usage(self) -> list[ServiceUsage]:
        """CPU and memory of each running service, from one stats reading per container (the
        CPU since this target's previous reading: None the first time)."""
        running = [(c.service, c.id) for c in self.actual() if c.state == "running"]
        return self._stats.usage(running)

    def run_declared_job(self, job: Job, output: Callable[[str], None]) -> Outcome:
        """Run the job's command in the service's running container (as `devkit exec` does:
        its synced code, its environment), its output line by line; ok on exit 0 within
        `job.timeout`. A run past the timeout is reported failed; the engine has no way to stop
        an exec, so the command may go on in the container."""
        began = time.monotonic()
        running = {c.service: c for c in self.actual() if c.state == "running"}
        if job.service not in running:
            raise EngineError(
                f'job "{job.name}": service "{job.service}" is not running in '
                f"{self.project}/{self.env}",
                details=[f"start it with `devkit up -e {self.env}`"],
            )
        exec_id = self.client.api.exec_create(running[job.service].id, list(job.command))["Id"]
        lines: queue.Queue[str | BaseException | None] = queue.Queue()

        def pump() -> None:
            buffer = b""
            try:
                for chunk in self.client.api.exec_start(exec_id, stream=True):
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        lines.put(line.decode(errors="replace"))
                if buffer:
                    lines.put(buffer.decode(errors="replace"))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting thread
                lines.put(exc)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        kept: list[str] = []
        deadline = began + job.timeout
        while True:
            try:
                item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                why = f"did not finish in {job.timeout:g}s (it may still run in the container)"
                return Outcome(False, why, tuple(kept[-_LOG_TAIL:]), _since(began))
            if item is None:
                break
            if isinstance(item, BaseException):
                return Outcome(False, f"lost its output: {item}", tuple(kept[-_LOG_TAIL:]),
                               _since(began))  # fmt: skip
            kept.append(item)
            output(item)
        code = self.client.api.exec_inspect(exec_id).get("ExitCode")
        logs = tuple(kept[-_LOG_TAIL:])
        if code == 0:
            return Outcome(True, "exited 0", logs, _since(began))
        return Outcome(False, f"exited with {code}", logs, _since(began))

    # --- images ----------------------------------------------------------------------------
    def ensure_image(self, ref: str, progress: Progress, service: str) -> str:
        """The id of image `ref`, pulled if the engine does not have it."""
        try:
            return self.client.images.get(ref).id or ""
        except ImageNotFound:
            pass
        progress(service, "pull", ref)
        try:
            return self.client.images.pull(ref).id or ""
        except APIError as exc:
            raise EngineError(
                f'service "{service}": image {ref} is not on the engine and cannot be pulled',
                details=[
                    (exc.explanation or str(exc))[:300],
                    "map it to an image you have with the image map "
                    "([tool.devkit.image_map] or DEVKIT_IMAGE_MAP, see docs/settings.md)",
                ],
            ) from None

    # --- apply -----------------------------------------------------------------------------
    def apply(
        self,
        specs: list[ContainerSpec],
        changes: Changes,
        actual: list[ActualContainer],
        *,
        progress: Progress,
        timeout: float = 120.0,
    ) -> None:
        """Carry out `changes` (decided against `actual`): remove, replace, create, start; each
        service only after its dependencies are healthy. Raises ServiceFailedError, leaving the
        stack inspectable."""
        by_service = {spec.service: spec for spec in specs}
        existing = {c.service: c for c in actual}
        self._check_host_ports(specs, changes, existing)
        self._check_volume_init(specs)
        self._ensure_network()
        for gone in changes.remove:
            progress(gone.service, "remove", gone.name)
            self.client.containers.get(gone.id).remove(force=True, v=True)
        healthy: set[str] = set()
        pending = [spec.service for spec in specs]
        waiting: dict[str, float] = {}
        while pending or waiting:
            ready = [
                service for service in pending
                if all(d in healthy or d not in by_service for d in by_service[service].depends_on)
            ]  # fmt: skip
            if ready:
                # Independent services are created and started at the same time.
                with ThreadPoolExecutor(max_workers=min(len(ready), 4)) as pool:
                    list(pool.map(
                        lambda s: self._bring(by_service[s], changes, existing.get(s), progress),
                        ready,
                    ))  # fmt: skip
                for service in ready:
                    pending.remove(service)
                    waiting[service] = time.monotonic()
            for service, began in list(waiting.items()):
                if self._is_ready(by_service[service], began, timeout):
                    del waiting[service]
                    healthy.add(service)
                    progress(service, "healthy", f"{time.monotonic() - began:.1f}s")
            if waiting:
                time.sleep(_POLL)

    def _bring(
        self,
        spec: ContainerSpec,
        changes: Changes,
        current: ActualContainer | None,
        progress: Progress,
    ) -> None:
        if spec.service in changes.keep and current is not None:
            container = self.client.containers.get(current.id)
            if container.status != "running":
                progress(spec.service, "start", "")
                container.start()
            else:
                progress(spec.service, "keep", "")
            return
        assigned: dict[str, int] = {}
        if current is not None:
            progress(spec.service, "replace", "")
            old = self.client.containers.get(current.id)
            assigned = _host_ports(old)
            old.remove(force=True, v=True)
        else:
            progress(spec.service, "create", "")
        self._create(spec, assigned).start()

    def _create(self, spec: ContainerSpec, assigned: Mapping[str, int] | None = None) -> Container:
        """Create the container; ports without a declared host port keep `assigned` ones (the
        replaced container's), so a replaced service stays where the user's browser points."""
        api = self.client.api
        for volume in spec.volumes:
            self._ensure_volume(volume, spec.service, init_labels(spec, volume))
        bindings = {}
        for p in spec.ports:
            key = f"{p.container}/{p.protocol}"
            host = p.host if p.host is not None else (assigned or {}).get(key)
            bindings[key] = ("127.0.0.1", host)
        hardening = spec.security
        host_config = api.create_host_config(
            port_bindings=bindings,
            binds={name: {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()},
            init=True,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.mem_limit,
            cap_drop=list(hardening.cap_drop),
            cap_add=list(hardening.cap_add) or None,
            security_opt=list(hardening.security_opt),
            read_only=hardening.read_only,
            tmpfs=dict(hardening.tmpfs) or None,
        )
        try:
            created = api.create_container(
                image=spec.image,
                entrypoint=list(spec.entrypoint) if spec.entrypoint else None,
                command=list(spec.command) if spec.command else None,
                name=spec.name,
                user=hardening.user or "",
                volumes=list(hardening.synced) or None,  # anonymous: the image's files, copied
                environment=spec.env,
                labels={**spec.labels, labels.SPEC_HASH: spec.spec_hash},
                ports=[(p.container, p.protocol) for p in spec.ports],
                healthcheck=spec.healthcheck,
                host_config=host_config,
                networking_config=api.create_networking_config(
                    {spec.network: api.create_endpoint_config(aliases=[spec.service])}
                ),
            )
        except APIError as exc:
            raise EngineError(
                f'service "{spec.service}": the engine refused to create its container',
                details=[(exc.explanation or str(exc))[:300]],
            ) from None
        if hardening.volume_owner and spec.volumes:
            self._own_volumes(spec, created["Id"])
        return self.client.containers.get(created["Id"])

    def _own_volumes(self, spec: ContainerSpec, container_id: str) -> None:
        """Make the service's uid own its volumes' roots, as fsGroup does for a pod's claims.

        After the container is created (the engine has copied the image's files into a new
        volume, and with them the owner of the image's directory), a one-off container of the
        same image, with only CAP_CHOWN, changes the owner of each volume's root directory."""
        try:
            self.client.containers.run(
                spec.image,
                entrypoint=["chown", spec.security.volume_owner or "", *spec.volumes.values()],
                command=[],
                user="0",
                volumes_from=[container_id],
                cap_drop=["ALL"],
                cap_add=["CHOWN"],
                security_opt=list(spec.security.security_opt),
                network_disabled=True,
                labels=labels.stack_labels(self.project, self.env),
                remove=True,
            )
        except (APIError, docker.errors.ContainerError) as exc:
            raise EngineError(
                f'service "{spec.service}": could not give its volumes to user '
                f"{spec.security.volume_owner}",
                details=[
                    str(exc)[:300],
                    "the image needs a chown command for that (devkit runs it as root with "
                    "only CAP_CHOWN, once per new container)",
                ],
            ) from None

    def _ensure_network(self) -> None:
        name = network_name(self.project, self.env)
        if not self.client.networks.list(names=[name]):
            self.client.networks.create(
                name, driver="bridge", labels=labels.stack_labels(self.project, self.env)
            )

    def _ensure_volume(
        self, name: str, service: str, init: Mapping[str, str] | None = None
    ) -> None:
        try:
            self.client.volumes.get(name)
        except NotFound:
            self.client.volumes.create(
                name,
                labels={
                    **labels.stack_labels(self.project, self.env), labels.SERVICE: service,
                    **(init or {}),
                },
            )  # fmt: skip

    def _check_volume_init(self, specs: list[ContainerSpec]) -> None:
        """Refuse, before changing anything, init-time values a volume's data was not made with."""
        for spec in specs:
            for volume in spec.volume_init:
                try:
                    found = self.client.volumes.get(volume).attrs.get("Labels") or {}
                except NotFound:
                    continue
                mismatch = init_mismatch(spec, volume, found)
                if mismatch is not None:
                    raise InitValuesChangedError(mismatch, self.env)

    def _check_host_ports(
        self, specs: list[ContainerSpec], changes: Changes, existing: Mapping[str, ActualContainer]
    ) -> None:
        """Refuse, before changing anything, a declared host port that something else holds."""
        for spec in specs:
            if spec.service in changes.keep and existing.get(spec.service, None) is not None:
                current = existing[spec.service]
                if current.state == "running":
                    continue
            for port in spec.ports:
                if port.host is None or self._held_by_us(port.host, existing):
                    continue
                kind = socket.SOCK_STREAM if port.protocol == "tcp" else socket.SOCK_DGRAM
                with socket.socket(socket.AF_INET, kind) as probe:
                    try:
                        probe.bind(("127.0.0.1", port.host))
                    except OSError:
                        raise PortInUseError(
                            f'service "{spec.service}": host port {port.host}/{port.protocol} is '
                            "already in use on 127.0.0.1",
                            details=[
                                "stop what holds it, or publish another port "
                                "(Port(..., host=N)) or none (an assigned one)",
                                "nothing was changed",
                            ],
                        ) from None

    def _held_by_us(self, host_port: int, existing: Mapping[str, ActualContainer]) -> bool:
        for current in existing.values():
            container = self.client.containers.get(current.id)
            for bindings in (
                container.attrs.get("HostConfig", {}).get("PortBindings") or {}
            ).values():
                if any(str(b.get("HostPort")) == str(host_port) for b in bindings or []):
                    return True
        return False

    def _is_ready(self, spec: ContainerSpec, began: float, timeout: float) -> bool:
        """True once the container is healthy (or running, without a health check)."""
        container = self.client.containers.get(spec.name)
        state = container.attrs.get("State", {})
        if state.get("Status") in ("exited", "dead"):
            raise ServiceFailedError(
                f'service "{spec.service}" exited with code {state.get("ExitCode")} while starting',
                details=self._tail(container),
            )
        if spec.healthcheck is None:
            return state.get("Status") == "running" and _running_for(state) >= _SETTLE
        if state.get("Health", {}).get("Status") == "healthy":
            return True
        # Docker checks only every interval; probing now gates dependents sooner.
        code, _ = container.exec_run(probe_command(spec.healthcheck))
        if code == 0:
            return True
        if time.monotonic() - began > timeout:
            last = state.get("Health", {}).get("Log") or []
            output = (last[-1].get("Output", "") if last else "").strip().splitlines()[-3:]
            raise ServiceFailedError(
                f'service "{spec.service}" did not become healthy within {timeout:g}s',
                details=[
                    *(f"health check said: {line}" for line in output),
                    *self._tail(container),
                    f"the stack is left as it is: inspect it with `devkit status` and "
                    f"`devkit logs {spec.service}`, remove it with `devkit down`",
                ],
            )
        return False

    def _tail(self, container: Container) -> list[str]:
        text = container.logs(tail=_LOG_TAIL).decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        return (
            ["last log lines:", *(f"  {line}" for line in lines)] if lines else ["(no log output)"]
        )

    # --- logs, stop, destroy -------------------------------------------------------------
    def logs(
        self, services: set[str] | None, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        """(service, line) pairs from the chosen services' containers, interleaved as they come."""
        chosen = [
            c for c in self.containers()
            if services is None or c.labels.get(labels.SERVICE) in services
        ]  # fmt: skip
        kwargs: dict[str, Any] = {"stream": True, "follow": follow}
        if since is not None:
            kwargs["since"] = int(since)
        if tail is not None:
            kwargs["tail"] = tail
        yield from interleaved(
            [(c.labels.get(labels.SERVICE, ""), partial(c.logs, **kwargs)) for c in chosen]
        )

    def stop(self, timeout: int = 10) -> list[str]:
        """Stop every container of the stack (kept for the next `up`); returns their services."""
        running = [c for c in self.containers() if c.status == "running"]
        if running:  # at once: each may take its whole stop timeout
            with ThreadPoolExecutor(max_workers=min(8, len(running))) as pool:
                list(pool.map(lambda c: c.stop(timeout=timeout), running))
        return [c.labels.get(labels.SERVICE, "") for c in running]

    def destroy(self, *, volumes: bool) -> dict[str, list[str]]:
        """Remove the stack's containers and network, and its named volumes when asked."""
        removed: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
        for container in self.containers():
            try:
                container.remove(force=True, v=True)
            except NotFound:
                continue  # removed meanwhile (another `down`)
            except APIError as exc:
                if exc.status_code != 409:  # 409: its removal is already in progress
                    raise
            removed["containers"].append(container.name or "")
        flt = {"label": labels.stack_filter(self.project, self.env)}
        for network in self.client.networks.list(filters=flt):
            network.remove()
            removed["networks"].append(network.name or "")
        if volumes:
            for volume in self.client.volumes.list(filters=flt):
                volume.remove(force=True)
                removed["volumes"].append(volume.name or "")
        return removed


def _since(began: float) -> float:
    return round(time.monotonic() - began, 2)
