"""Which services a test session starts: image services and what named ones depend on."""

from __future__ import annotations

import pytest

from blueprints import postgres, redis, web_service
from devkit import Blueprint, Build, Docker, UserError, plan
from devkit.testing.selection import choose_services, declared_services


def shop() -> Blueprint:
    app = Blueprint("shop")
    db = app.use(postgres())
    cache = app.use(redis())
    app.use(redis(name="sessions"))
    api = app.use(
        web_service("api", build=Build("api"), env={"DATABASE_URL": db.url}, depends_on=[db, cache])
    )
    app.service("worker", build=Build("worker"), depends_on=[db])
    app.group("backend", [api])
    app.environment("local", Docker())
    app.environment("ci", Docker(), overrides={api: {"env": {"DATABASE_URL": "sqlite://"}}})
    return app


def test_by_default_every_image_service_starts_in_dependency_order() -> None:
    assert choose_services(plan(shop(), "local"), None) == ("postgres", "redis", "sessions")


def test_naming_a_built_service_starts_what_it_depends_on() -> None:
    assert choose_services(plan(shop(), "local"), ["api"]) == ("postgres", "redis")
    assert choose_services(plan(shop(), "local"), ["worker"]) == ("postgres",)


def test_groups_and_image_services_can_be_named() -> None:
    assert choose_services(plan(shop(), "local"), ["backend", "sessions"]) == (
        "postgres", "redis", "sessions",
    )  # fmt: skip


def test_an_unknown_name_is_refused_with_what_exists() -> None:
    with pytest.raises(UserError) as caught:
        choose_services(plan(shop(), "local"), ["postgress"])
    assert '"postgress" is neither a service nor a group of shop' in caught.value.message
    assert "services: api, postgres, redis, sessions, worker" in caught.value.details
    assert "groups: backend" in caught.value.details


def test_nothing_to_start_says_why() -> None:
    app = Blueprint("solo")
    app.service("api", build=Build("api"))
    app.environment("local", Docker())
    with pytest.raises(UserError, match="nothing to start") as caught:
        choose_services(plan(app, "local"), ["api"])
    assert "built from source, so never started by the test session: api" in caught.value.details


def test_declared_services_apply_the_environments_overrides() -> None:
    assert declared_services(shop(), "ci")["api"].env["DATABASE_URL"] == "sqlite://"
    assert declared_services(shop(), "local")["api"].env["DATABASE_URL"].service == "postgres"
