"""Start the dependencies of a blueprint environment for a test session, and clean them up.

    with start_stack("blueprint.py", env="local") as stack:
        stack.url("postgres")      # postgresql://app:...@127.0.0.1:49153/app
        stack.env("api")           # api's declared environment, as the host reaches it

Decide, then do: the plan, the services to start, their container specs (the Docker target's
own, from devkit.targets.docker.spec) and the host's view of their addresses are data; this
module only carries them out on the engine.
"""

from __future__ import annotations

import contextlib
import os
import secrets as token
import signal
import threading
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from testcontainers.core.network import Network

from devkit.build.engine import connect
from devkit.errors import DevkitError, EngineError, UserError
from devkit.model.blueprint import Blueprint
from devkit.model.service import Service
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan, plan
from devkit.project.load import load_blueprint
from devkit.project.secrets import local_secret_values
from devkit.project.settings import load_settings
from devkit.targets import labels
from devkit.targets.docker.spec import ContainerSpec, container_specs
from devkit.testing import session as sessions
from devkit.testing.addresses import HostView, Published
from devkit.testing.containers import (
    PostgresContainer,
    RabbitMQContainer,
    ServiceContainer,
    container_class,
)
from devkit.testing.readiness import StartCancelled
from devkit.testing.selection import choose_services, declared_services

K = TypeVar("K", bound=ServiceContainer)
_LOCAL_ENGINES = ("http+docker://localhost", "http+docker://localnpipe")


class SessionSecrets:
    """Secret values for a test session: the local value (environment, .env) when there is one,
    else a random one generated for this session (hex, so it fits in any URL)."""

    def __init__(self, root: Path, environ: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.environ = os.environ if environ is None else environ
        self.values: dict[str, str] = {}
        self.generated: list[str] = []

    def __call__(self, name: str) -> str:
        if name not in self.values:
            try:
                self.values[name] = local_secret_values([name], self.root, self.environ)[name]
            except UserError:
                self.values[name] = token.token_hex(16)
                self.generated.append(name)
        return self.values[name]


@dataclass(frozen=True)
class Database:
    """A database made for one test: its name and URL (as the host reaches it)."""

    service: str
    name: str
    url: str


@dataclass(frozen=True)
class Swept:
    """Leftovers of sessions that ended without cleaning up, removed at start."""

    sessions: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()


@dataclass
class Timing:
    """How long getting the dependencies ready took, in seconds."""

    total: float = 0.0
    services: dict[str, float] = field(default_factory=dict)  # health check passed, after start


def _resolve_blueprint(blueprint: Blueprint | Path | str) -> Blueprint:
    if isinstance(blueprint, Blueprint):
        return blueprint
    return load_blueprint(Path(blueprint))


class Stack:
    """The running dependencies of one test session; see `start_stack`."""

    def __init__(
        self,
        blueprint: Blueprint,
        env: str,
        services: Iterable[str] | None = None,
        *,
        timeout: float = 120.0,
        image_map: ImageMap | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.blueprint = blueprint
        self.root = blueprint.root or Path.cwd()
        self.plan: Plan = plan(blueprint, env)
        self.project = self.plan.project
        self.environment = env
        self.services: tuple[str, ...] = choose_services(self.plan, services)
        self.declared: dict[str, Service] = declared_services(blueprint, env)
        self.timeout = timeout
        self.image_map = image_map or ImageMap(exact={})
        self.secrets = SessionSecrets(self.root, environ)
        self.session = sessions.new_session_id()
        self.owner = sessions.current_owner()
        self.containers: dict[str, ServiceContainer] = {}
        self.published: dict[str, Published] = {}
        self.timing = Timing()
        self.swept = Swept()
        self._network: Network | None = None
        self._client: docker.DockerClient | None = None
        self._stopped = False
        self._cancelled = threading.Event()
        self._previous_sigterm: Any = None

    # --- what tests use -------------------------------------------------------------------
    @property
    def view(self) -> HostView:
        return HostView(self.plan, self.declared, self.published, self.secrets)

    def url(self, service: str) -> str:
        """The service's connection URL, reaching it from the host (secrets filled in)."""
        return self.view.url(service)

    def env(self, service: str) -> dict[str, str]:
        """The environment variables `service` is declared with, resolved for the host: run the
        service's code in the test process (or as a subprocess) with these."""
        return self.view.env(service)

    def host(self, service: str) -> str:
        return self._published(service).host

    def port(self, service: str, name: str | None = None) -> int:
        """The host port of the service's named port (or of its only port)."""
        ports = self._published(service).ports
        if name is None:
            if len(ports) != 1:
                raise UserError(
                    f'devkit.testing: service "{service}" has {len(ports)} ports; name one of: '
                    f"{', '.join(sorted(ports))}"
                )
            return next(iter(ports.values()))
        if name not in ports:
            raise UserError(
                f'devkit.testing: service "{service}" has no port "{name}"',
                details=[f"ports: {', '.join(sorted(ports)) or '(none)'}"],
            )
        return ports[name]

    def container(self, service: str) -> ServiceContainer:
        """The running container of a service (testcontainers' DockerContainer API and more)."""
        if service not in self.containers:
            raise UserError(
                f'devkit.testing: service "{service}" is not running in this session',
                details=[f"running: {', '.join(self.services)}"],
            )
        return self.containers[service]

    def of_kind(self, kind: type[K], service: str | None = None) -> K:
        """The container of the given kind: the named one, or the only one of that kind."""
        if service is not None:
            found = self.container(service)
            if not isinstance(found, kind):
                raise UserError(
                    f'devkit.testing: service "{service}" is not a {kind.__name__} '
                    f"(its image: {self.plan.service(service).image})"
                )
            return found
        matching = [c for c in self.containers.values() if isinstance(c, kind)]
        if len(matching) != 1:
            names = ", ".join(c.service for c in matching) or "none"
            raise UserError(
                f"devkit.testing: {kind.__name__}: expected exactly one such service in this "
                f"session, found {names}; name the one you mean"
            )
        return matching[0]

    @contextlib.contextmanager
    def fresh_database(self, service: str | None = None) -> Iterator[Database]:
        """A new, empty PostgreSQL database for one test, dropped afterwards."""
        postgres = self.of_kind(PostgresContainer, service)
        name = f"test_{uuid.uuid4().hex[:12]}"
        postgres.create_database(name)
        try:
            url = urllib.parse.urlsplit(self.url(postgres.service))._replace(path=f"/{name}")
            yield Database(postgres.service, name, url.geturl())
        finally:
            postgres.drop_database(name)

    @contextlib.contextmanager
    def fresh_vhost(self, service: str | None = None) -> Iterator[str]:
        """A new RabbitMQ virtual host for one test; yields its AMQP URL; deleted afterwards."""
        rabbitmq = self.of_kind(RabbitMQContainer, service)
        name = f"test-{uuid.uuid4().hex[:12]}"
        rabbitmq.create_vhost(name)
        try:
            url = urllib.parse.urlsplit(self.url(rabbitmq.service))._replace(path=f"/{name}")
            yield url.geturl()
        finally:
            rabbitmq.delete_vhost(name)

    def summary(self) -> str:
        each = ", ".join(
            f"{name} {self.timing.services.get(name, 0):.1f}s" for name in self.services
        )
        return (
            f"{self.project} ({self.environment}): {len(self.services)} dependencies ready in "
            f"{self.timing.total:.1f}s ({each}); session {self.session}"
        )

    def _published(self, service: str) -> Published:
        self.container(service)
        return self.published[service]

    # --- start and stop -------------------------------------------------------------------
    def start(self) -> Stack:
        began = time.monotonic()
        needed = {n for name in self.services for n in self.plan.service(name).secrets}
        values = {name: self.secrets(name) for name in sorted(needed)}
        client = self._client = connect()
        try:
            self.swept = sweep_stale(client, self.owner.host)
            images = {name: self._ensure_image(client, name) for name in self.services}
            if client.api.base_url not in _LOCAL_ENGINES:
                raise EngineError(
                    f"devkit.testing: the Docker engine at {client.api.base_url} is not on this "
                    "machine; test sessions publish their ports on 127.0.0.1 and need a local "
                    "engine (unset DOCKER_HOST, or point it at a local socket)"
                )
            _ensure_reaper()
            self._catch_sigterm()
            self._network = self._make_network()
            specs = container_specs(self.plan, images, {}, values, set(self.services))
            for spec in specs:
                self.containers[spec.service] = self._container(spec)
            self._start_all(specs)
            for name, container in self.containers.items():
                ports = {
                    port_name: container.host_port(port.container, port.protocol)
                    for port_name, port in self.plan.service(name).ports.items()
                }
                self.published[name] = Published("127.0.0.1", ports)
                self.timing.services[name] = container.ready_seconds
        except BaseException:
            self.stop()
            raise
        self.timing.total = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Remove the session's containers and network (idempotent; errors are reported, not
        raised, so one leftover never hides the test results)."""
        if self._stopped:
            return
        self._stopped = True
        problems: list[str] = []
        for container in reversed(list(self.containers.values())):
            try:
                container.stop(force=True, delete_volume=True)
            except NotFound:
                pass
            except DockerException as exc:
                problems.append(f"container {container.spec.name}: {exc}")
        if self._network is not None:  # set once created
            try:
                self._network.remove()
            except NotFound:
                pass
            except DockerException as exc:
                problems.append(f"network {self._network.name}: {exc}")
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._remove_leftovers(self._client)
            self._client.close()
        self._restore_sigterm()
        for problem in problems:
            warnings.warn(
                f"devkit.testing: could not remove {problem}", RuntimeWarning, stacklevel=2
            )

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _labels(self) -> dict[str, str]:
        return sessions.session_labels(self.project, self.session, self.owner, self.environment)

    def _name(self, suffix: str = "") -> str:
        base = f"{self.project}-test-{self.session}"
        return f"{base}-{suffix}" if suffix else base

    def _ensure_image(self, client: docker.DockerClient, service: str) -> str:
        declared = self.plan.service(service).image or ""
        ref = self.image_map.resolve(declared)
        try:
            client.images.get(ref)
            return ref
        except ImageNotFound:
            pass
        try:
            client.images.pull(ref)
        except APIError as exc:
            mapped = f" (mapped from {declared})" if ref != declared else ""
            raise EngineError(
                f'devkit.testing: service "{service}": image {ref}{mapped} is not on the engine '
                "and cannot be pulled",
                details=[
                    (exc.explanation or str(exc))[:300],
                    "map it to an image you have with the image map ([tool.devkit.image_map] "
                    "or DEVKIT_IMAGE_MAP, see docs/settings.md)",
                ],
            ) from None
        return ref

    def _make_network(self) -> Network:
        network = Network(docker_network_kw={"labels": self._labels(), "driver": "bridge"})
        network.name = self._name()
        return network.create()

    def _container(self, spec: ContainerSpec) -> ServiceContainer:
        service = self.plan.service(spec.service)
        spec = replace(
            spec,
            name=self._name(spec.service),
            labels={**self._labels(), labels.SERVICE: spec.service},
            network=self._name(),
            volumes={},
        )
        tmpfs = {volume.path: _tmpfs_size(volume.size) for volume in service.volumes.values()}
        cls = container_class(service.image)
        assert self._network is not None
        return cls(
            spec,
            network=self._network,
            tmpfs=tmpfs,
            labels=spec.labels,
            timeout=self.timeout,
            cancelled=self._cancelled,
        )

    def _start_all(self, specs: list[ContainerSpec]) -> None:
        """Start every container as soon as its dependencies in the session are ready; on the
        first failure (or an interrupt) stop waiting for the others."""
        futures: dict[str, Future[None]] = {}

        def bring(spec: ContainerSpec) -> None:
            for dep in spec.depends_on:
                if dep in futures:
                    futures[dep].result()  # a failed dependency fails this one: not started
            if self._cancelled.is_set():
                raise StartCancelled(spec.service)
            try:
                self.containers[spec.service].start()
            except DockerException as exc:
                raise EngineError(
                    f'devkit.testing: service "{spec.service}": the engine refused to start its '
                    f"container ({spec.image})",
                    details=[str(exc)[:400]],
                ) from None

        with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="devkit-start") as pool:
            for spec in specs:  # dependencies first, so their futures exist
                futures[spec.service] = pool.submit(bring, spec)
            try:
                wait(futures.values(), return_when=FIRST_EXCEPTION)
            finally:
                if not all(f.done() and f.exception() is None for f in futures.values()):
                    self._cancelled.set()
        errors = [f.exception() for f in futures.values() if f.exception() is not None]
        real = [e for e in errors if not isinstance(e, StartCancelled)]
        if real:
            first = real[0]
            if isinstance(first, DevkitError):
                raise first
            raise EngineError(
                f"devkit.testing: starting the session's services failed: {first}"
            ) from first
        if errors:
            raise EngineError("devkit.testing: starting the session's services was cancelled")

    def _remove_leftovers(self, client: docker.DockerClient) -> None:
        """Anything labelled with this session that a failed start left behind."""
        flt = {"label": f"{sessions.SESSION}={self.session}"}
        for container in client.containers.list(all=True, filters=flt):
            container.remove(force=True, v=True)
        for network in client.networks.list(filters=flt):
            network.remove()

    def _catch_sigterm(self) -> None:
        """SIGTERM (a cancelled CI job) becomes KeyboardInterrupt, so cleanup runs."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None and (
            threading.current_thread() is threading.main_thread()
        ):
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None


def _ensure_reaper() -> None:
    """Start testcontainers' reaper (Ryuk) now, when it is enabled, so that a missing reaper
    image is reported as what it is, not as a failure of the first service."""
    from testcontainers.core.config import testcontainers_config  # noqa: PLC0415
    from testcontainers.core.container import Reaper  # noqa: PLC0415

    if testcontainers_config.ryuk_disabled:
        return
    try:
        Reaper.get_instance()
    except Exception as exc:  # noqa: BLE001 - whatever stops the reaper, the fix is the same
        raise EngineError(
            f"devkit.testing: testcontainers' reaper (image {testcontainers_config.ryuk_image}) "
            "could not start",
            details=[
                str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
                "where that image cannot be had, set TESTCONTAINERS_RYUK_DISABLED=true: devkit "
                "removes a session's containers at its end, and those of interrupted sessions "
                "when the next one starts",
            ],
        ) from None


def _tmpfs_size(size: str) -> str:
    """A Kubernetes quantity as tmpfs mount options (1Gi -> size=1g, 512Mi -> size=512m)."""
    for suffix, unit in (("Ki", "k"), ("Mi", "m"), ("Gi", "g"), ("Ti", "t")):
        if size.endswith(suffix):
            return f"size={size[: -len(suffix)]}{unit}"
    return f"size={size}"


def sweep_stale(client: docker.DockerClient, host: str) -> Swept:
    """Remove the containers and networks of this host's test sessions whose process is gone."""
    found: dict[str, str] = {}
    for item in client.api.containers(all=True, filters={"label": sessions.SESSION}):
        item_labels = item.get("Labels") or {}
        found.setdefault(item_labels[sessions.SESSION], item_labels.get(sessions.OWNER, ""))
    for net in client.api.networks(filters={"label": sessions.SESSION}):
        net_labels = net.get("Labels") or {}
        found.setdefault(net_labels[sessions.SESSION], net_labels.get(sessions.OWNER, ""))
    stale = sessions.stale_sessions(found, host=host)
    removed: list[str] = []
    for session in sorted(stale):
        flt = {"label": f"{sessions.SESSION}={session}"}
        for container in client.containers.list(all=True, filters=flt):
            with contextlib.suppress(NotFound):
                container.remove(force=True, v=True)
                removed.append(container.name or "")
        for network in client.networks.list(filters=flt):
            with contextlib.suppress(NotFound):
                network.remove()
    return Swept(tuple(sorted(stale)), tuple(removed))


def start_stack(
    blueprint: Blueprint | Path | str,
    env: str | None = None,
    services: Iterable[str] | None = None,
    *,
    timeout: float = 120.0,
    environ: Mapping[str, str] | None = None,
) -> Stack:
    """Start the dependencies of `env` (default: `local`, or `default_env` in [tool.devkit]) of
    a blueprint (a Blueprint, or the path of a blueprint.py), all of them or what `services`
    need, healthy; use the result as a context manager to remove them afterwards.

    Images go through the image map ([tool.devkit.image_map] beside the blueprint,
    DEVKIT_IMAGE_MAP). Raises UserError for bad input, DependencyFailedError (with the service's
    logs) when a dependency does not become healthy within `timeout` seconds.
    """
    resolved = _resolve_blueprint(blueprint)
    settings = load_settings(cwd=resolved.root or Path.cwd(), environ=environ)
    stack = Stack(
        resolved,
        env or settings.default_env,
        services,
        timeout=timeout,
        image_map=settings.image_map,
        environ=environ,
    )
    return stack.start()
