"""devkit's pytest plugin, used as an application repo uses it: pytest sessions of their own
(pytester) against real containers, started from a blueprint through the image map."""

from __future__ import annotations

import textwrap
import uuid

import docker
import pytest

pytestmark = pytest.mark.docker

BLUEPRINT = """
from blueprints import postgres, redis, web_service
from devkit import Blueprint, Build, Docker, Secret

app = Blueprint("{name}")
db = app.use(postgres(version="16", database="orders", user="orders",
                      password=Secret("ORDERS_DB_PASSWORD")))
cache = app.use(redis(version="7"))
api = app.use(web_service("api", build=Build("api"), depends_on=[db, cache],
                          env={{"DATABASE_URL": db.url, "REDIS_URL": cache.url}}))
app.group("backend", [api])
app.environment("local", Docker())
"""

TESTS = """
import psycopg
import redis

def test_api_env_reaches_the_real_postgres_and_redis(devkit_stack):
    env = devkit_stack.env("api")
    assert env["DATABASE_URL"].startswith("postgresql://orders:")
    assert "@127.0.0.1:" in env["DATABASE_URL"] and env["REDIS_URL"].startswith("redis://127.0.0.1:")
    with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
        assert conn.execute("select current_database()").fetchone() == ("orders",)
    assert redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).ping()
    assert env["PORT"] == "8000"

def test_containers_are_labelled_with_the_session(devkit_stack):
    found = devkit_stack.container("postgres").get_wrapped_container().labels
    assert found["dev.devkit.project"] == "{name}"
    assert found["dev.devkit.service"] == "postgres"
    assert found["dev.devkit.test-session"] == devkit_stack.session
    assert "dev.devkit.env" not in found

def _use(url):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("create table t (v int)")  # fails if another test's table were here
        conn.execute("insert into t values (1)")
        return conn.execute("select current_database()").fetchone()[0]

def test_fresh_database_one(devkit_database):
    assert _use(devkit_database.url) == devkit_database.name != "orders"

def test_fresh_database_two(devkit_database):
    assert _use(devkit_database.url) == devkit_database.name != "orders"
"""


def project(pytester: pytest.Pytester, blueprint: str = BLUEPRINT, **extra: str) -> str:
    name = f"plug-{uuid.uuid4().hex[:6]}"
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ndevkit_blueprint = "blueprint.py"\n'
        'devkit_timeout = "90"\naddopts = "-p no:cacheprovider"\n'
    )
    pytester.makefile(".py", blueprint=textwrap.dedent(blueprint).format(name=name))
    (pytester.path / "api").mkdir()
    (pytester.path / "api" / "Dockerfile").write_text("FROM python:3.11-slim\n")
    for filename, text in extra.items():
        (pytester.path / f"{filename}.py").write_text(textwrap.dedent(text).format(name=name))
    return name


def containers_of(client: docker.DockerClient, name: str) -> list[str]:
    found = client.containers.list(all=True, filters={"label": f"dev.devkit.project={name}"})
    return [c.name or "" for c in found]


def test_session_fixture_serves_the_blueprints_dependencies_then_removes_them(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    name = project(pytester, test_orders=TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            f"devkit: {name} (local): 2 dependencies ready in *s (postgres *s, redis *s); session *",
            "devkit: secrets generated for this session: ORDERS_DB_PASSWORD",
        ]
    )
    assert containers_of(docker_client, name) == []
    assert docker_client.networks.list(filters={"label": f"dev.devkit.project={name}"}) == []


def test_a_chosen_subset_starts_alone_and_takes_the_local_secret_value(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    name = project(
        pytester,
        test_subset="""
            import psycopg

            def test_only_postgres_runs(devkit_stack):
                assert devkit_stack.services == ("postgres",)
                url = devkit_stack.url("postgres")
                assert url.startswith("postgresql://orders:from-dotenv@127.0.0.1:")
                with psycopg.connect(url, connect_timeout=5) as conn:
                    assert conn.execute("select 1").fetchone() == (1,)
        """,
    )
    (pytester.path / ".env").write_text("ORDERS_DB_PASSWORD=from-dotenv\n")
    result = pytester.runpytest("--devkit-services=postgres")
    result.assert_outcomes(passed=1)
    assert "secrets generated" not in result.stdout.str()
    assert containers_of(docker_client, name) == []


FAILING = """
from devkit import Blueprint, Command, Docker

app = Blueprint("{name}")
app.service("flaky", image="python:3.11-slim",
            command=["sh", "-c", "echo starting the flux capacitor; echo flux.conf is missing >&2; sleep 600"],
            health=Command("test", "-e", "/tmp/flux.conf", interval=0.5, retries=1))
app.service("crashy", image="python:3.11-slim",
            command=["sh", "-c", "echo cannot bind port 5432 >&2; exit 3"])
app.environment("local", Docker())
"""


def test_a_failing_health_check_fails_the_session_fixture_with_the_dependencys_logs(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    name = project(
        pytester,
        FAILING,
        test_flaky="""
            def test_one(devkit_stack):
                pass

            def test_two(devkit_stack):
                pass
        """,
    )
    result = pytester.runpytest("--devkit-services=flaky", "--devkit-timeout=3")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    # Count in the error reports, not the short summary (which CI=true leaves untruncated).
    reports = out.split("short test summary info")[0]
    assert (
        reports.count('service "flaky" (devkit-local/python:3.11-bookworm) did not pass its') == 2
    )
    result.stdout.fnmatch_lines(
        [
            "*health check: test -e /tmp/flux.conf*",
            "*last 2 log lines:*",
            "*| starting the flux capacitor*",
            "*| flux.conf is missing*",
        ]
    )
    assert "Traceback" not in out  # one paragraph the user can act on, no devkit internals
    assert containers_of(docker_client, name) == []


def test_a_dependency_that_exits_fails_at_once_with_its_logs(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    name = project(pytester, FAILING, test_crashy="def test_one(devkit_stack):\n    pass\n")
    result = pytester.runpytest("--devkit-services=crashy", "--devkit-timeout=60")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            '*service "crashy" (devkit-local/python:3.11-bookworm) exited with code 3 while starting*',
            "*| cannot bind port 5432*",
        ]
    )
    assert containers_of(docker_client, name) == []


def test_an_image_that_cannot_be_had_is_named_with_the_image_map_hint(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    missing = f"127.0.0.1:5000/devkit-test/missing-{uuid.uuid4().hex[:6]}:1"
    name = project(
        pytester,
        f"""
        from devkit import Blueprint, Docker
        app = Blueprint("{{name}}")
        app.service("ghost", image="{missing}")
        app.environment("local", Docker())
        """,
        test_ghost="def test_one(devkit_stack):\n    pass\n",
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f'*service "ghost": image {missing} is not on the engine and cannot be pulled*',
            "*map it to an image you have with the image map*",
        ]
    )
    assert containers_of(docker_client, name) == []
