"""The stock blueprints' health checks and connection URLs work against real servers.

Each test plans a blueprint, starts the planned image (through the test image map) on the real
engine with the planned environment, runs the planned health check inside the container, and
connects from the host with the URL another service would get.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import docker
import psycopg
import pytest
import redis as redis_client
from docker.models.containers import Container

from blueprints import postgres, redis
from devkit import Blueprint, Docker, Secret, plan
from devkit.planner import EnvValue, PlannedService
from tests.docker.conftest import LOCAL_IMAGES, TEST_LABEL

pytestmark = pytest.mark.docker
SECRETS = {"SHOP_DB_PASSWORD": "test-only-password", "CACHE_PASSWORD": "another-test-password"}


def value(env: str | EnvValue) -> str:
    """An env value with secrets filled in, as a target composes it at run time."""
    if isinstance(env, str):
        return env
    return "".join(p if isinstance(p, str) else SECRETS[p.secret] for p in env.parts)


@pytest.fixture
def start(
    docker_client: docker.DockerClient,
) -> Iterator[Callable[[PlannedService], tuple[Container, int]]]:
    started: list[Container] = []

    def run(service: PlannedService) -> tuple[Container, int]:
        port = next(iter(service.ports.values())).container
        container = docker_client.containers.run(
            LOCAL_IMAGES[service.image or ""],
            command=list(service.command) if service.command else None,
            environment={name: value(v) for name, v in service.env.items()},
            ports={f"{port}/tcp": ("127.0.0.1", None)},
            labels={TEST_LABEL: "stock"},
            detach=True,
        )
        started.append(container)
        container.reload()
        host_port = int(container.ports[f"{port}/tcp"][0]["HostPort"])
        return container, host_port

    yield run
    for container in started:
        container.remove(force=True, v=True)


def wait_healthy(container: Container, service: PlannedService, seconds: float = 60) -> float:
    """Run the planned health command until it passes; return how long that took."""
    assert service.health is not None and service.health.kind == "command"
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        code, _ = container.exec_run(list(service.health.command))
        if code == 0:
            return time.monotonic() - began
        time.sleep(0.25)
    logs = container.logs(tail=20).decode(errors="replace")
    pytest.fail(f"{service.name} never passed its health check:\n{logs}")


def test_postgres_health_check_and_url_reach_a_real_server(start) -> None:
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
    app.service("api", image="api:1", env={"DATABASE_URL": db.url})
    app.environment("local", Docker())
    planned = plan(app, "local")
    container, port = start(planned.service("postgres"))

    wait_healthy(container, planned.service("postgres"))

    url = value(planned.service("api").env["DATABASE_URL"])
    assert url == "postgresql://shop:test-only-password@postgres:5432/shop"
    with psycopg.connect(
        url.replace("@postgres:5432", f"@127.0.0.1:{port}"), connect_timeout=10
    ) as conn:
        conn.execute("CREATE TABLE t (v int)")
        conn.execute("INSERT INTO t VALUES (42)")
        assert conn.execute("SELECT v FROM t").fetchone() == (42,)


def test_redis_with_password_refuses_anonymous_clients(start) -> None:
    app = Blueprint("shop")
    cache = app.use(redis(password=Secret("CACHE_PASSWORD")))
    app.service("api", image="api:1", env={"REDIS_URL": cache.url})
    app.environment("local", Docker())
    planned = plan(app, "local")
    container, port = start(planned.service("redis"))

    wait_healthy(container, planned.service("redis"))

    url = value(planned.service("api").env["REDIS_URL"]).replace(
        "@redis:6379", f"@127.0.0.1:{port}"
    )
    client = redis_client.Redis.from_url(url, socket_timeout=5)
    assert client.ping()
    assert client.incr("hits") == 1
    anonymous = redis_client.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    with pytest.raises(redis_client.exceptions.AuthenticationError):
        anonymous.ping()
