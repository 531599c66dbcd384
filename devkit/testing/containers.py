"""One testcontainers container per service of a test session, with helpers per kind of service.

`ServiceContainer` starts what the Docker target would start for the service (image through the
image map, entrypoint and command, environment with secrets composed in, health check, resource
limits, init), published on 127.0.0.1 only, on the session's network under the service's name,
labelled, with its volumes on tmpfs (test data is thrown away; tmpfs is fast). The kinds add what
tests of that kind of service need: a fresh database per test for PostgreSQL, a flush for Redis,
a fresh virtual host for RabbitMQ.
"""

from __future__ import annotations

import shlex
import threading
from typing import Any, ClassVar, cast

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from devkit.errors import EngineError
from devkit.planning.images import normalize
from devkit.targets.docker.spec import ContainerSpec
from devkit.testing.readiness import HealthCheckPasses


class ServiceContainer(DockerContainer):
    """A service of a blueprint, started for a test session (testcontainers-style)."""

    kinds: ClassVar[tuple[str, ...]] = ()
    """Image repositories (as written in blueprints) this class is for."""

    def __init__(
        self,
        spec: ContainerSpec,
        *,
        network: Network,
        tmpfs: dict[str, str],
        labels: dict[str, str],
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> None:
        super().__init__(spec.image, env=dict(spec.env))
        self.spec = spec
        self.service = spec.service
        self.readiness = HealthCheckPasses(
            spec.service, spec.image, spec.healthcheck, timeout, cancelled
        )
        if spec.command:
            self.with_command(list(spec.command))
        self.with_name(spec.name)
        self.with_network(network)
        self.with_network_aliases(spec.service)
        for path, size in tmpfs.items():
            self.with_tmpfs_mount(path, size)
        ports = cast("dict[str, Any]", self.ports)
        for port in spec.ports:
            ports[f"{port.container}/{port.protocol}"] = ("127.0.0.1", None)
        self.with_kwargs(
            entrypoint=list(spec.entrypoint) if spec.entrypoint else None,
            labels=labels,
            healthcheck=spec.healthcheck,
            init=True,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.mem_limit,
        )
        self.waiting_for(self.readiness)

    @property
    def ready_seconds(self) -> float:
        """How long the health check took to pass after the container started."""
        return self.readiness.seconds

    def host_port(self, container_port: int, protocol: str = "tcp") -> int:
        """The port on 127.0.0.1 that the container port is published on."""
        bindings = self.get_wrapped_container().attrs["NetworkSettings"]["Ports"]
        found = bindings.get(f"{container_port}/{protocol}") or []
        if not found:
            self.get_wrapped_container().reload()
            bindings = self.get_wrapped_container().attrs["NetworkSettings"]["Ports"]
            found = bindings.get(f"{container_port}/{protocol}") or []
        if not found:
            raise EngineError(f'service "{self.service}": port {container_port} is not published')
        return int(found[0]["HostPort"])

    def run(self, *command: str) -> str:
        """Run a command in the container; its output, or EngineError with it when it fails."""
        code, output = self.get_wrapped_container().exec_run(list(command))
        text = output.decode(errors="replace") if output else ""
        if code != 0:
            raise EngineError(
                f'service "{self.service}": `{shlex.join(command)[:120]}` failed (exit {code})',
                details=text.strip().splitlines()[-10:],
            )
        return text

    def logs(self) -> str:
        """Everything the container logged so far (stdout and stderr)."""
        return cast("bytes", self.get_wrapped_container().logs()).decode(errors="replace")


class PostgresContainer(ServiceContainer):
    """PostgreSQL: fresh databases for test isolation (through psql in the container)."""

    kinds = ("postgres",)

    @property
    def user(self) -> str:
        return self.spec.env.get("POSTGRES_USER") or "postgres"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self.run(
            "psql", "-v", "ON_ERROR_STOP=1", "-q", "-At", "-U", self.user, "-d", database,
            "-c", sql,
        )  # fmt: skip

    def create_database(self, name: str, template: str = "template0") -> None:
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisContainer(ServiceContainer):
    """Redis: empty every database between tests."""

    kinds = ("redis",)

    def flush(self) -> None:
        auth = (
            ' -a "$REDIS_PASSWORD" --no-auth-warning' if "REDIS_PASSWORD" in self.spec.env else ""
        )
        self.run("sh", "-c", f"redis-cli{auth} FLUSHALL")


class RabbitMQContainer(ServiceContainer):
    """RabbitMQ: a fresh virtual host, usable by the blueprint's user."""

    kinds = ("rabbitmq",)

    def create_vhost(self, name: str) -> None:
        user = self.spec.env.get("RABBITMQ_DEFAULT_USER") or "guest"
        self.run("rabbitmqctl", "-q", "add_vhost", name)
        self.run("rabbitmqctl", "-q", "set_permissions", "-p", name, user, ".*", ".*", ".*")

    def delete_vhost(self, name: str) -> None:
        self.run("rabbitmqctl", "-q", "delete_vhost", name)


KINDS: tuple[type[ServiceContainer], ...] = (PostgresContainer, RedisContainer, RabbitMQContainer)


def container_class(declared_image: str | None) -> type[ServiceContainer]:
    """The class for a service, by the repository of the image its blueprint declares."""
    if declared_image is None:
        return ServiceContainer
    repository = normalize(declared_image).split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    for kind in KINDS:
        if repository in kind.kinds:
            return kind
    return ServiceContainer
