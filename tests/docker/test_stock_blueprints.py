"""The stock blueprints' health checks and connection URLs work against real servers.

The postgres and redis tests plan a blueprint, start the planned image (through the test image
map) on the real engine with the planned environment, run the planned health check inside the
container, and connect from the host with the URL another service would get. The rabbitmq,
minio and nginx tests start their blueprint as a test session does (devkit.testing: the planned
container, ready when its health check passes) and use it through its URL.
"""

from __future__ import annotations

import io
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import docker
import pika
import psycopg
import pytest
import redis as redis_client
from docker.models.containers import Container
from minio import Minio

from blueprints import minio, nginx, postgres, rabbitmq, redis, web_service
from devkit import Blueprint, Docker, Secret, plan
from devkit.planning.planner import EnvValue, PlannedService
from devkit.testing import start_stack
from tests.docker.conftest import LOCAL_IMAGES, SESSION, TEST_LABEL

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
            labels={TEST_LABEL: SESSION},
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


# --- rabbitmq, minio, nginx: started as a test session starts them, checked through their URLs


def test_rabbitmq_url_publishes_and_consumes_a_message() -> None:
    app = Blueprint("mq")
    app.use(rabbitmq(user="shop", password=Secret("MQ_PASSWORD")))
    app.environment("local", Docker())
    with start_stack(app, timeout=120) as stack:
        url = stack.url("rabbitmq")
        assert url.startswith("amqp://shop:") and url.endswith("/%2F")
        assert roundtrip(url) == b"order 42"
        with stack.fresh_vhost() as isolated:
            assert isolated.rsplit("/", 1)[1].startswith("test-")
            assert roundtrip(isolated) == b"order 42"


def roundtrip(url: str) -> bytes:
    params = pika.URLParameters(url)
    params.socket_timeout = 10
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare(queue="orders")
        channel.basic_publish(exchange="", routing_key="orders", body=b"order 42")
        for _ in range(50):
            _, _, body = channel.basic_get(queue="orders", auto_ack=True)
            if body is not None:
                return body
            time.sleep(0.1)
        return b""
    finally:
        connection.close()


def test_minio_url_stores_and_returns_an_object() -> None:
    app = Blueprint("s3")
    app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
    app.environment("local", Docker())
    with start_stack(app, timeout=120) as stack:
        url = urllib.parse.urlsplit(stack.url("minio"))
        assert url.scheme == "http" and url.hostname == "127.0.0.1"
        client = Minio(
            url.netloc, access_key="shop", secret_key=stack.secrets("S3_PASSWORD"), secure=False
        )
        client.make_bucket("invoices")
        client.put_object("invoices", "2026/42.txt", io.BytesIO(b"total: 12.50"), length=12)
        reply = client.get_object("invoices", "2026/42.txt")
        try:
            assert reply.read() == b"total: 12.50"
        finally:
            reply.close()
            reply.release_conn()
        assert [o.object_name for o in client.list_objects("invoices", recursive=True)] == [
            "2026/42.txt"
        ]


def test_nginx_proxies_to_its_upstream_and_serves_a_static_site() -> None:
    app = Blueprint("edge")
    api = app.use(
        web_service(
            "api",
            image="python:3.11-slim",
            command=["python3", "-c", ECHO_HEADERS],
            health="/",
        )
    )
    app.use(nginx(proxy=api))
    app.use(nginx(name="site"))
    app.environment("local", Docker())
    with start_stack(app, timeout=120) as stack:
        assert stack.services == ("api", "nginx", "site")
        with urllib.request.urlopen(stack.url("nginx") + "/orders?id=7", timeout=10) as reply:
            assert reply.headers["Server"].startswith("nginx/")
            seen = json.loads(reply.read())
        assert seen["path"] == "/orders?id=7"
        assert seen["x-forwarded-proto"] == "http"
        assert seen["x-forwarded-for"]  # the client as nginx saw it
        with urllib.request.urlopen(stack.url("site") + "/", timeout=10) as reply:
            assert b"<html" in reply.read()
        with urllib.request.urlopen(stack.url("site") + "/nginx-health", timeout=10) as reply:
            assert reply.read() == b"ok\n"


ECHO_HEADERS = """
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Echo).serve_forever()
"""


def test_nginx_runs_non_root_on_a_read_only_root_filesystem(
    docker_client: docker.DockerClient,
) -> None:
    """What hardened pods impose: a uid that is not root, nothing writable but /tmp."""
    app = Blueprint("edge")
    app.use(nginx())
    app.environment("local", Docker())
    planned = plan(app, "local").service("nginx")
    container = docker_client.containers.run(
        LOCAL_IMAGES[planned.image or ""],
        command=list(planned.command or ()),
        environment={name: value(v) for name, v in planned.env.items()},
        user="33:33",  # www-data in the Debian-based substitute
        read_only=True,
        tmpfs={"/tmp": ""},
        ports={"8080/tcp": ("127.0.0.1", None)},
        labels={TEST_LABEL: SESSION},
        detach=True,
    )
    try:
        container.reload()
        port = container.ports["8080/tcp"][0]["HostPort"]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/nginx-health", timeout=5
                ) as r:
                    assert r.read() == b"ok\n"
                    break
            except OSError:
                container.reload()
                if container.status == "exited" or time.monotonic() > deadline:
                    pytest.fail(container.logs().decode(errors="replace"))
                time.sleep(0.2)
        assert container.exec_run(["id", "-u"]).output.strip() == b"33"
    finally:
        container.remove(force=True)
