"""The Swarm target: carry out a stack spec (swarm_spec.py) on a swarm, and watch its rollout.

Apply creates, updates or removes services by their spec hash, keeping the ports the swarm
assigned; `wait` follows the rollout to a verdict (every task of the new spec running and
healthy, or the swarm rolling an update back, tasks failing, the deadline passing), with the
failing task's last log lines. Everything is found by labels; nothing unlabelled is touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from devkit.build.registry import ImageMissingError
from devkit.errors import EngineError
from devkit.model.job import Job
from devkit.planning.planner import Plan
from devkit.targets import labels
from devkit.targets.base import ServiceStatus, ServiceUsage, StackSpec
from devkit.targets.container_stats import ContainerStats
from devkit.targets.docker_exec import exec_attached
from devkit.targets.local_port import accepts
from devkit.targets.log_lines import interleaved
from devkit.targets.outcome import Outcome, Progress
from devkit.targets.supervisor import ImageConfig
from devkit.targets.swarm.records import SwarmRecords
from devkit.targets.swarm.spec import (
    SecretRef,
    StackChanges,
    needs_image_config,
    network_name,
    secret_name,
    stack_changes,
    stack_specs,
)
from devkit.targets.swarm.status import running, swarm_statuses, task_container

_POLL = 0.5
_LOG_TAIL = 20
_UNPLACEABLE = 15.0  # seconds a task may wait for a node before the rollout is called failed
_FAILED_TASKS = 3  # failed tasks of a new spec before its rollout is called failed
_STUCK = {"paused", "rollback_paused"}  # an update the swarm stopped half-way
_SETTLED = {None, "completed", "rollback_completed"}


class NotASwarmError(EngineError):
    """The engine is not a swarm manager."""


@dataclass
class _Watch:
    done: bool = False
    reason: str = ""
    logs: list[str] = field(default_factory=list)
    unplaceable: bool = False  # a task the scheduler finds no node for (resources, constraints)


@dataclass(frozen=True)
class SwarmObserved:
    """What deciding a Swarm stack needs, made or read first."""

    secrets: Mapping[str, SecretRef]
    image_configs: Mapping[str, ImageConfig]


class SwarmTarget:
    """One project's environment on a swarm: its stack, its secrets, its records."""

    env: str
    records: SwarmRecords

    def __init__(self, client: docker.DockerClient, project: str, env: str) -> None:
        self.client, self.project, self.env = client, project, env
        self.records = SwarmRecords(client, project, env)
        self.network = network_name(project, env)
        self._stats = ContainerStats(client)

    # Checks before anything changes

    def check(self) -> None:
        """EngineError unless the engine is a swarm manager."""
        swarm = self.client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise NotASwarmError(
                f'environment "{self.env}" runs on Docker Swarm, and this engine is not a swarm '
                "manager",
                details=[
                    "point DOCKER_HOST at a manager of the swarm, or make this engine one: "
                    "docker swarm init --advertise-addr 127.0.0.1",
                    "nothing was changed",
                ],
            )

    def check_apply(self, stack: Mapping[str, Any]) -> None:
        """Nothing to check: the swarm takes any service spec devkit owns."""

    def provide_secrets(self, values: Mapping[str, str]) -> None:
        """Nothing to hold: a stack spec names its Docker secrets, which keep their values."""

    def check_images(self, images: Mapping[str, str]) -> None:
        """ImageMissingError naming every image its registry does not have."""
        missing = []
        for service, ref in sorted(images.items()):
            try:
                self.client.api.inspect_distribution(ref)
            except (APIError, NotFound) as exc:
                missing.append(f"{service}: {ref} ({_first_line(exc)})")
        if missing:
            raise ImageMissingError(
                f"{len(missing)} image{'s' if len(missing) > 1 else ''} not found in the registry",
                details=[*missing, "nothing was changed"],
            )

    def image_config(self, ref: str) -> ImageConfig:
        """An image's own entrypoint and command (pulled if this engine lacks it)."""
        try:
            image = self.client.images.get(ref)
        except ImageNotFound:
            image = self.client.images.pull(ref)
        config = image.attrs.get("Config") or {}
        return config.get("Entrypoint"), config.get("Cmd")

    # Secrets, network, services

    def ensure_secrets(self, values: Mapping[str, str]) -> dict[str, SecretRef]:
        """A Docker secret per value, created once per value (secrets are immutable)."""
        refs = {}
        for name, value in sorted(values.items()):
            docker_name = secret_name(self.project, self.env, name, value)
            found = [
                s for s in self.client.api.secrets(filters={"name": docker_name})
                if s["Spec"]["Name"] == docker_name
            ]  # fmt: skip
            if found:
                secret_id = found[0]["ID"]
            else:
                created = self.client.api.create_secret(
                    docker_name,
                    value.encode(),
                    labels={
                        **labels.stack_labels(self.project, self.env),
                        labels.SECRET_NAME: name,
                    },
                )
                secret_id = created["ID"]
            refs[name] = SecretRef(name, docker_name, secret_id)
        return refs

    def _ensure_network(self) -> None:
        if not self.client.networks.list(names=[self.network]):
            self.client.networks.create(
                self.network,
                driver="overlay",
                attachable=True,
                labels=labels.stack_labels(self.project, self.env),
            )

    def services(self) -> dict[str, dict[str, Any]]:
        """The stack's services as the swarm reports them, by blueprint service name."""
        found = self.client.api.services(
            filters={"label": labels.stack_filter(self.project, self.env)}
        )
        return {s["Spec"]["Labels"][labels.SERVICE]: s for s in found}

    def observe(
        self, plan: Plan, images: Mapping[str, str], secret_values: Mapping[str, str]
    ) -> SwarmObserved:
        """Create the Docker secrets the stack refers to (new values get new secrets; running
        services keep theirs until they are updated) and read the images' own commands."""
        return SwarmObserved(
            secrets=self.ensure_secrets(secret_values),
            image_configs={n: self.image_config(images[n]) for n in needs_image_config(plan)},
        )

    def prepare(self, plan: Plan, images: Mapping[str, str], observed: object) -> StackSpec:
        """The stack spec of a plan with these images: what a release records and applies."""
        assert isinstance(observed, SwarmObserved)
        return {"services": stack_specs(plan, images, observed.secrets, observed.image_configs)}

    def apply(self, stack: Mapping[str, Any], progress: Progress) -> StackChanges:
        """Create, update and remove services so the swarm runs the stack spec."""
        specs: Mapping[str, Mapping[str, Any]] = stack["services"]
        self._ensure_network()
        existing = self.services()
        actual = {n: s["Spec"]["Labels"].get(labels.SPEC_HASH, "") for n, s in existing.items()}
        changes = stack_changes(specs, actual, list(existing))
        try:
            for name in changes.create:
                progress(name, "creating", "")
                self.client.api.create_service(**_arguments(specs[name]))
            for name in changes.update:
                progress(name, "updating", "")
                current = existing[name]
                spec = _keep_assigned_ports(specs[name], current)
                self.client.api.update_service(
                    current["ID"], current["Version"]["Index"], **_arguments(spec)
                )
            for name in changes.remove:
                progress(name, "removing", "")
                self.client.api.remove_service(existing[name]["ID"])
        except APIError as exc:
            raise EngineError(f"the swarm refused the change: {_first_line(exc)}") from None
        return changes

    def published(self) -> dict[str, dict[int, int]]:
        """service -> {container port: published port}: on every node through the routing
        mesh; without it, the ports of a running task of the service on its node."""
        return self._published(self.services(), {})

    def _published(
        self, services: Mapping[str, Any], tasks: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> dict[str, dict[int, int]]:
        """published() of services already read, with the tasks already read of any of them."""
        ports: dict[str, dict[int, int]] = {}
        for name, info in services.items():
            found = list((info.get("Endpoint") or {}).get("Ports") or [])
            if any(p.get("PublishedPort") for p in found):
                ports[name] = {
                    p["TargetPort"]: p["PublishedPort"] for p in found if p.get("PublishedPort")
                }
            else:
                own = tasks[name] if name in tasks else self._running_tasks(info["ID"])
                ports[name] = _task_ports(own)
        return {name: found for name, found in ports.items() if found}

    def _running_tasks(self, service_id: str) -> list[Mapping[str, Any]]:
        return running(
            self.client.api.tasks(filters={"service": service_id, "desired-state": "running"})
        )

    # What runs

    def status(self) -> list[ServiceStatus]:
        """Each service of the stack with its tasks: state, health (of the containers this
        engine runs), node, failed tasks before them, and the ports devkit prints."""
        services = self.services()
        tasks = {name: self.client.api.tasks(filters={"service": info["ID"]})
                 for name, info in services.items()}  # fmt: skip
        nodes = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"][:12])
                 for n in self.client.api.nodes()}  # fmt: skip
        health = {}
        for task in (t for found in tasks.values() for t in found):
            container = task_container(task)
            if not container or task.get("DesiredState") != "running":
                continue
            try:
                state = self.client.api.inspect_container(container)["State"]
            except (APIError, NotFound):
                continue  # on another node, or gone meanwhile
            health[container] = (state.get("Health") or {}).get("Status", "-")
        ports = self._published(services, tasks)
        return swarm_statuses(services, tasks, nodes, health, ports)

    def usage(self) -> list[ServiceUsage]:
        """CPU and memory per service, summed over its running tasks on this engine's node
        (another node's tasks are not counted: their engine is not this one)."""
        containers = [
            (name, task_container(task))
            for name, info in self.services().items()
            for task in self._running_tasks(info["ID"])
            if task_container(task)
        ]
        return self._stats.usage(containers)

    def logs(
        self, services: set[str] | None, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[tuple[str, str]]:
        """(service, line) pairs from the chosen services' tasks on every node, as they come."""
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "follow": follow}
        if since is not None:
            kwargs["since"] = int(since)
        if tail is not None:
            kwargs["tail"] = tail
        chosen = sorted(
            (name, info["ID"]) for name, info in self.services().items()
            if services is None or name in services
        )  # fmt: skip
        yield from interleaved(
            [(name, partial(self.client.api.service_logs, sid, **kwargs)) for name, sid in chosen]
        )

    def exec(self, service: str, command: list[str], *, interactive: bool) -> int:
        """Run `command` in a running task of the service on this engine's node, attached."""
        info = self.services().get(service)
        if info is None:
            raise EngineError(
                f'service "{service}" is not deployed in {self.project}/{self.env}',
                details=[f"deploy it with `devkit deploy {self.env}`"],
            )
        elsewhere = []
        for task in self._running_tasks(info["ID"]):
            container = task_container(task)
            if not container:
                continue
            try:
                self.client.api.inspect_container(container)
            except NotFound:
                elsewhere.append(task.get("NodeID", "")[:12])
                continue
            exec_attached(container, command, interactive=interactive)
        raise EngineError(
            f'no task of "{service}" runs on this engine\'s node in {self.project}/{self.env}',
            details=[
                f"its running tasks are on node(s) {', '.join(sorted(set(elsewhere)))}: point "
                "DOCKER_HOST at one of them"
                if elsewhere
                else f"`devkit status -e {self.env}` shows its tasks",
            ],
        )

    # Rollout

    def wait(self, stack: Mapping[str, Any], timeout: float, progress: Progress) -> Outcome:
        """Follow the rollout of a stack spec until every service runs healthy, or it fails."""
        began = time.monotonic()
        pending = dict(stack["services"])
        last: dict[str, _Watch] = {}
        unplaced_since: dict[str, float] = {}
        while True:
            for name in list(pending):
                watch = self._rollout(pending[name])
                last[name] = watch
                if not watch.unplaceable:
                    unplaced_since.pop(name, None)
                elif time.monotonic() - unplaced_since.setdefault(name, time.monotonic()) > (
                    _UNPLACEABLE
                ):
                    watch = _Watch(True, watch.reason)
                if watch.done and not watch.reason:
                    progress(name, "healthy", f"{time.monotonic() - began:.1f}s")
                    del pending[name]
                elif watch.done:
                    return Outcome(
                        False, f'service "{name}": {watch.reason}', tuple(watch.logs), _since(began)
                    )
            if not pending:
                return Outcome(True, seconds=_since(began))
            if time.monotonic() - began > timeout:
                name = sorted(pending)[0]
                detail = last[name].reason or "its tasks are not running and healthy"
                return Outcome(
                    False,
                    f'the rollout was not healthy within {timeout:g}s: service "{name}": {detail}',
                    tuple(last[name].logs or self._service_logs(pending[name]["Name"])),
                    _since(began),
                )
            time.sleep(_POLL)

    def _rollout(self, spec: Mapping[str, Any]) -> _Watch:
        info = self.client.api.inspect_service(spec["Name"])
        update = info.get("UpdateStatus") or {}
        state = update.get("State")
        want = spec["Labels"][labels.SPEC_HASH]
        tasks = [
            t for t in self.client.api.tasks(filters={"service": spec["Name"]})
            if (t["Spec"]["ContainerSpec"].get("Labels") or {}).get(labels.SPEC_HASH) == want
        ]  # fmt: skip
        failed = sorted(
            (t for t in tasks if t["Status"]["State"] in ("failed", "rejected")),
            key=lambda t: str(t["Status"].get("Timestamp", "")),
        )
        runs = info["Spec"]["Labels"].get(labels.SPEC_HASH)
        if runs != want:
            # The swarm put the previous spec back (update failure_action), or someone else
            # changed the service since this apply.
            message = update.get("Message") or f"the service now runs spec {runs}"
            return _Watch(True, f"the swarm rolled it back: {message}", self._task_logs(failed))
        if state in _STUCK:
            message = update.get("Message") or f"update {state}"
            return _Watch(True, message, self._task_logs(failed))
        if failed and (failed[-1]["Status"]["State"] == "rejected" or len(failed) >= _FAILED_TASKS):
            task = failed[-1]
            err = task["Status"].get("Err") or task["Status"].get("Message") or "task failed"
            reason = f"its task {task['Status']['State']}: {err}"
            return _Watch(True, reason, self._task_logs(failed))
        replicas = spec["Mode"]["Replicated"]["Replicas"]
        running = [
            t for t in tasks if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        ]
        if len(running) >= replicas and state in _SETTLED:
            return _Watch(True)
        reason = f"{len(running)}/{replicas} tasks running"
        if failed:
            reason += f", {len(failed)} failed: {failed[-1]['Status'].get('Err', '')}"
        unplaced = [
            t for t in tasks if t["Status"]["State"] == "pending" and t["Status"].get("Err")
        ]
        if unplaced:
            return _Watch(False, f"{reason}; {unplaced[-1]['Status']['Err']}", unplaceable=True)
        return _Watch(False, reason, self._task_logs(failed))

    def _task_logs(self, tasks: list[dict[str, Any]]) -> list[str]:
        for task in reversed(tasks):
            container_id = task_container(task)
            if not container_id:
                continue
            try:
                text: bytes = self.client.api.logs(container_id, tail=_LOG_TAIL)
            except (APIError, NotFound):
                continue
            return text.decode(errors="replace").splitlines()[-_LOG_TAIL:]
        return []

    def _service_logs(self, name: str) -> list[str]:
        try:
            chunks = self.client.api.service_logs(name, stdout=True, stderr=True, tail=_LOG_TAIL)
            text = b"".join(chunks).decode(errors="replace")
        except (APIError, NotFound):
            return []
        return text.splitlines()[-_LOG_TAIL:]

    # One-off runs (verify steps, pre-deploy jobs)

    def run_once(
        self, service: str, image: str, command: list[str], env: Mapping[str, str], timeout: float
    ) -> Outcome:
        """Run `command` once in `image` (the service's) on the stack's network; ok on exit 0."""
        ran = self._run(image, command, env, timeout, role="verify")
        return ran if ran.ok else replace(ran, reason=f"verify {ran.reason}")

    def run_job(
        self, job: Job, stack: Mapping[str, Any], image: str, env: Mapping[str, str]
    ) -> Outcome:
        """A pre-deploy job: a one-off container of the service's new image on the stack's
        network (created if this is the first release), with the service's environment."""
        self._ensure_network()
        return self._run(image, list(job.command), env, job.timeout, role="job")

    def _run(
        self, image: str, command: list[str], env: Mapping[str, str], timeout: float, *, role: str
    ) -> Outcome:
        began = time.monotonic()
        try:
            self.client.images.get(image)
        except ImageNotFound:
            self.client.images.pull(image)
        container = self.client.containers.create(
            image,
            command=command,
            environment=dict(env),
            network=self.network,
            labels={**labels.stack_labels(self.project, self.env), labels.ROLE: role},
        )
        try:
            container.start()
            try:
                status = container.wait(timeout=timeout)
                code: int | None = int(status.get("StatusCode", 1))
            except Exception:  # noqa: BLE001 - the engine's read timeout: the run took too long
                code = None
            lines = container.logs(tail=_LOG_TAIL).decode(errors="replace").splitlines()
        finally:
            container.remove(force=True)
        if code == 0:
            return Outcome(True, logs=tuple(lines), seconds=_since(began))
        why = f"exited with {code}" if code is not None else f"did not finish in {timeout:g}s"
        return Outcome(False, why, tuple(lines), _since(began))

    # Taking it down

    def destroy(self, *, volumes: bool, timeout: float = 60.0) -> dict[str, list[str]]:
        """Remove the stack's services, network, secrets and records (volumes if asked)."""
        self.check()
        removed: dict[str, list[str]] = {"services": [], "networks": [], "secrets": []}
        for info in self.services().values():
            self.client.api.remove_service(info["ID"])
            removed["services"].append(info["Spec"]["Name"])
        stack = labels.stack_filter(self.project, self.env)
        deadline = time.monotonic() + timeout
        while self.client.containers.list(all=True, filters={"label": stack}):
            if time.monotonic() > deadline:
                raise EngineError(f"the tasks of {self.env} did not stop within {timeout:g}s")
            time.sleep(_POLL)
        for network in self.client.networks.list(filters={"label": stack}):
            _retry(network.remove, deadline)
            removed["networks"].append(network.name or "")
        for secret in self.client.api.secrets(filters={"label": stack}):
            self.client.api.remove_secret(secret["ID"])
            removed["secrets"].append(secret["Spec"]["Name"])
        removed["records"] = self.records.remove_all()
        if volumes:
            removed["volumes"] = []
            for volume in self.client.volumes.list(filters={"label": stack}):
                _retry(volume.remove, deadline)
                removed["volumes"].append(volume.name or "")
        return removed


def _arguments(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A ServiceSpec as docker-py's create_service/update_service keyword arguments."""
    return {
        "name": spec["Name"],
        "labels": spec["Labels"],
        "task_template": spec["TaskTemplate"],
        "mode": spec["Mode"],
        "update_config": spec["UpdateConfig"],
        "rollback_config": spec["RollbackConfig"],
        "endpoint_spec": spec["EndpointSpec"],
    }


def _keep_assigned_ports(spec: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with the ports the swarm assigned before, so an update keeps its URLs."""
    assigned = {
        (p["TargetPort"], p.get("Protocol", "tcp")): p["PublishedPort"]
        for p in (current.get("Endpoint") or {}).get("Ports") or []
        if p.get("PublishedPort")
    }
    ports = []
    for port in spec["EndpointSpec"]["Ports"]:
        key = (port["TargetPort"], port["Protocol"])
        keep = "PublishedPort" not in port and key in assigned
        ports.append({**port, "PublishedPort": assigned[key]} if keep else port)
    return {**spec, "EndpointSpec": {**spec["EndpointSpec"], "Ports": ports}}


def _task_ports(tasks: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """{container port: node port} of the first running task whose TCP ports all accept a
    connection on 127.0.0.1, or else of the first running task.

    A task lists each port once per address family, and the two differ when the engine had
    to retry binding one (the IPv6 entry keeps the port the IPv4 bind failed on, which
    nothing serves on 127.0.0.1): the one that accepts is taken, else the first listed."""
    fallback: dict[int, int] = {}
    for task in running(tasks):
        listed: dict[tuple[int, str], list[int]] = {}
        for port in (task["Status"].get("PortStatus") or {}).get("Ports") or []:
            if port.get("PublishedPort"):
                key = (port["TargetPort"], port.get("Protocol", "tcp"))
                listed.setdefault(key, []).append(port["PublishedPort"])
        chosen: dict[int, int] = {}
        answers = True
        for (target, protocol), candidates in listed.items():
            accepting = candidates
            if protocol == "tcp":
                accepting = [c for c in candidates if accepts(c)]
                answers = answers and bool(accepting)
            chosen[target] = (accepting or candidates)[0]
        if answers:
            return chosen
        fallback = fallback or chosen
    return fallback


def _retry(action: Callable[[], Any], deadline: float) -> None:
    """Run an action until the engine stops saying the object is in use."""
    while True:
        try:
            action()
            return
        except NotFound:
            return
        except APIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_POLL)


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).splitlines()[0][:300]


def _since(began: float) -> float:
    return round(time.monotonic() - began, 2)
