"""Live sync on the local Docker engine: the service's container, its transfer (the sync agent
over `docker exec`, or the archive API), its restarts as the engine's events report them, and
its health port as published on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from devkit.build.engine import connect
from devkit.planning.planner import Plan
from devkit.targets import labels
from devkit.targets.agent import open_transfer
from devkit.targets.base import BuildLine, Transfer, TransferError
from devkit.targets.docker.spec import container_name
from devkit.targets.outcome import Progress
from devkit.targets.supervisor import EXIT_MARK as SUPERVISOR_EXIT_MARK

PORT_LOOK_EVERY = 0.25
"""How long a published port, once found, is taken as still bound before the container is
inspected again. The health wait after a restart asks every 10 ms; inspecting the container each
time cost an engine round trip per poll (the engine competing with the restarting process for
the CPU). A container that was replaced meanwhile is inspected again within this time."""


class DockerSyncSession:
    """Where each service of one Docker environment runs, for live sync."""

    def __init__(
        self,
        client: docker.DockerClient,
        plan: Plan,
        bring_up: Callable[[str, Progress, BuildLine], None],
    ) -> None:
        self.client, self.plan = client, plan
        self._bring_up = bring_up
        self._transfers: dict[str, tuple[str, Transfer]] = {}
        self._containers: dict[str, Container] = {}
        self._ports: dict[tuple[str, str], tuple[float, int | None]] = {}

    def _container(self, service: str) -> Container:
        return self.client.containers.get(
            container_name(self.plan.project, self.plan.environment, service)
        )

    def transfer(self, service: str) -> Transfer:
        try:
            container = self._container(service)
        except (NotFound, APIError) as exc:
            raise TransferError(str(exc)) from None
        if container.status != "running":
            raise TransferError(f"{container.name} is {container.status}")
        known = self._transfers.get(service)
        if known and known[0] == container.id:
            return known[1]
        transfer = open_transfer(self.client, container)
        self._transfers[service] = (container.id or "", transfer)
        return transfer

    def forget(self, service: str) -> None:
        self._transfers.pop(service, None)
        self._containers.pop(service, None)
        for key in [k for k in self._ports if k[0] == service]:
            del self._ports[key]

    def run(self, service: str, command: list[str]) -> tuple[int, bytes]:
        code, output = self._container(service).exec_run(command)
        return int(code), bytes(output)

    def follow_starts(
        self, services: list[str], started: Callable[[str], None], stop: threading.Event
    ) -> None:
        client = connect()
        flt = {"type": "container", "event": "start",
               "label": labels.stack_filter(self.plan.project, self.plan.environment)}  # fmt: skip
        for event in client.events(decode=True, filters=flt):
            if stop.is_set():
                break
            service = (event.get("Actor", {}).get("Attributes") or {}).get(labels.SERVICE)
            if service in services:
                started(service)

    def answer_port(self, service: str, port_name: str) -> int | None:
        looked = self._ports.get((service, port_name))
        fresh = looked is not None and time.monotonic() - looked[0] < PORT_LOOK_EVERY
        if looked is not None and fresh and looked[1] is not None:
            return looked[1]
        found = self._published(service, port_name)
        self._ports[(service, port_name)] = (time.monotonic(), found)
        return found

    def _published(self, service: str, port_name: str) -> int | None:
        container = self._containers.get(service)
        try:
            if container is None:
                container = self._containers[service] = self._container(service)
            else:
                container.reload()
        except (NotFound, APIError):
            self._containers.pop(service, None)
            return None
        port = self.plan.service(service).ports[port_name]
        bound = (container.attrs["NetworkSettings"]["Ports"] or {}).get(
            f"{port.container}/{port.protocol}"
        )
        return int(bound[0]["HostPort"]) if bound else None

    def process_exited(self, service: str, since: float) -> bool:
        try:
            text = self._container(service).logs(since=since, stdout=False, stderr=True)
        except (APIError, NotFound):
            return True
        return SUPERVISOR_EXIT_MARK in text.decode(errors="replace")

    def output_since(self, service: str, since: float) -> list[str]:
        try:
            text = self._container(service).logs(since=since).decode(errors="replace")
        except (APIError, NotFound):
            text = ""
        return [line for line in text.splitlines() if line.strip()]

    def bring_up(self, service: str, progress: Progress, build_line: BuildLine) -> None:
        self._bring_up(service, progress, build_line)
        self.forget(service)
