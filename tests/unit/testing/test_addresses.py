"""The host's view of a session: references resolve to 127.0.0.1 and published ports."""

from __future__ import annotations

import pytest

from blueprints import postgres, rabbitmq, redis, web_service
from devkit import Blueprint, Build, Docker, Secret, UserError, plan
from devkit.testing.addresses import HostView, Published
from devkit.testing.selection import declared_services

SECRETS = {"DB_PASSWORD": "pw", "MQ_PASSWORD": "mq", "API_TOKEN": "tok"}


def view(published: dict[str, Published] | None = None) -> HostView:
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", user="shop", password=Secret("DB_PASSWORD")))
    cache = app.use(redis())
    mq = app.use(rabbitmq(password=Secret("MQ_PASSWORD")))
    worker = app.service("worker", build=Build("worker"), ports={"metrics": 9100})
    app.use(
        web_service(
            "api",
            build=Build("api"),
            env={
                "DATABASE_URL": db.url, "REDIS_HOST": cache.host, "REDIS_PORT": cache.port(),
                "AMQP_URL": mq.url, "API_TOKEN": Secret("API_TOKEN"), "DEBUG": True,
                "WORKER_METRICS": worker.port("metrics"),
            },
        )
    )  # fmt: skip
    app.environment("local", Docker())
    if published is None:
        published = {
            "postgres": Published("127.0.0.1", {"postgres": 49001}),
            "redis": Published("127.0.0.1", {"redis": 49002}),
            "rabbitmq": Published("127.0.0.1", {"amqp": 49003}),
        }
    return HostView(plan(app, "local"), declared_services(app, "local"), published, SECRETS.get)  # type: ignore[arg-type]


def test_urls_reach_the_published_ports_with_secrets_filled_in() -> None:
    assert view().url("postgres") == "postgresql://shop:pw@127.0.0.1:49001/shop"
    assert view().url("redis") == "redis://127.0.0.1:49002/0"
    assert view().url("rabbitmq") == "amqp://app:mq@127.0.0.1:49003/%2F"


def test_a_services_env_is_resolved_for_the_host() -> None:
    published = view(
        {
            "postgres": Published("127.0.0.1", {"postgres": 49001}),
            "redis": Published("127.0.0.1", {"redis": 49002}),
            "rabbitmq": Published("127.0.0.1", {"amqp": 49003}),
            "worker": Published("127.0.0.1", {"metrics": 49004}),
        }
    )
    assert published.env("api") == {
        "AMQP_URL": "amqp://app:mq@127.0.0.1:49003/%2F",
        "API_TOKEN": "tok",
        "DATABASE_URL": "postgresql://shop:pw@127.0.0.1:49001/shop",
        "DEBUG": "true",
        "PORT": "8000",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "49002",
        "WORKER_METRICS": "49004",
    }


def test_a_reference_to_a_service_the_session_does_not_run_is_named() -> None:
    with pytest.raises(UserError) as caught:
        view().env("api")
    assert caught.value.message == (
        'devkit.testing: service "api": env.WORKER_METRICS refers to "worker", which this test '
        "session does not run"
    )
    assert "running: postgres, rabbitmq, redis" in caught.value.details


def test_unknown_service_and_service_without_url_are_refused() -> None:
    with pytest.raises(UserError, match='shop has no service "nope"'):
        view().env("nope")
    with pytest.raises(UserError, match='service "worker" has no url'):
        view().url("worker")
