from __future__ import annotations

import json

import pytest

from blueprints import postgres, redis
from devkit import (
    Autoscale,
    Blueprint,
    Build,
    Docker,
    Kind,
    Kubernetes,
    Port,
    Restart,
    Secret,
    Sync,
)
from devkit.errors import BlueprintError, UnknownEnvironmentError
from devkit.planning.planner import EnvValue, SecretPart, plan, show_env
from devkit.profiles import on_demand, spot


def shop() -> Blueprint:
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
    cache = app.use(redis())
    api = app.service(
        "api",
        build=Build("services/api"),
        ports={"http": Port(8000, host=8080)},
        env={"DATABASE_URL": db.url, "REDIS_URL": cache.url, "DB_HOST": db.host,
             "DB_PORT": db.port(), "DEBUG": False},
        depends_on=[db, cache],
        sync=[Sync("services/api/app", "/srv/app", then=Restart())],
    )  # fmt: skip
    app.service("worker", build=Build("services/worker"), depends_on=[db, cache, api])
    app.environment("local", Docker())
    app.environment("dev", Kind("shop-dev"))
    app.environment("staging", Kubernetes(context="staging"), profile=spot(), replicas=3)
    app.environment(
        "prod", Kubernetes(context="prod", namespace="shop"), profile=on_demand(),
        overrides={api: {"autoscale": Autoscale(min=3, max=30, cpu=70)}},
    )  # fmt: skip
    return app


def test_two_plans_of_the_same_blueprint_are_byte_identical() -> None:
    first, second = plan(shop(), "prod"), plan(shop(), "prod")
    assert first.to_json() == second.to_json()
    assert first.hash == second.hash


def test_plan_hash_changes_with_any_service_field() -> None:
    base = shop()
    changed = shop()
    changed.environment("other", Docker())
    assert plan(base, "prod").hash == plan(changed, "prod").hash  # other environments don't count
    app = shop()
    app.service("extra", image="busybox:1")
    assert plan(app, "prod").hash != plan(base, "prod").hash


def test_spec_hash_is_per_service() -> None:
    a, b = plan(shop(), "local"), plan(shop(), "dev")
    assert a.service("postgres").spec_hash == b.service("postgres").spec_hash
    # A profile places and sizes every service, so each one's spec changes with it.
    staging = plan(shop(), "staging")
    assert a.service("postgres").spec_hash != staging.service("postgres").spec_hash
    assert a.service("api").spec_hash != staging.service("api").spec_hash  # sync, replicas differ


def test_plan_json_round_trips() -> None:
    p = plan(shop(), "staging")
    assert json.loads(p.to_json())["hash"] == p.hash
    assert type(p).model_validate_json(p.to_json()) == p


def test_services_come_dependencies_first_with_ties_by_name() -> None:
    assert [s.name for s in plan(shop(), "local").services] == [
        "postgres",
        "redis",
        "api",
        "worker",
    ]


def test_references_resolve_to_in_network_addresses_with_secrets_kept_as_references() -> None:
    api = plan(shop(), "local").service("api")
    assert api.env["REDIS_URL"] == "redis://redis:6379/0"
    assert api.env["DB_HOST"] == "postgres"
    assert api.env["DB_PORT"] == "5432"
    assert api.env["DEBUG"] == "false"
    url = api.env["DATABASE_URL"]
    assert url == EnvValue(
        parts=("postgresql://shop:", SecretPart(secret="SHOP_DB_PASSWORD"), "@postgres:5432/shop")
    )
    assert show_env(url) == "postgresql://shop:****@postgres:5432/shop"
    assert api.secrets == ("SHOP_DB_PASSWORD",)


def test_no_secret_value_ever_reaches_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "s3cr3t-value")
    assert "s3cr3t-value" not in plan(shop(), "prod").to_json()


def test_environment_replicas_apply_to_stateless_services_only() -> None:
    p = plan(shop(), "staging")
    assert p.service("api").replicas == 3
    assert p.service("worker").replicas == 3
    assert p.service("postgres").replicas == 1
    assert p.service("redis").replicas == 1


def test_spot_profile_raises_replicas_of_stateless_services_to_its_floor() -> None:
    app = shop()
    app.environment("cheap", Kubernetes(context="c"), profile=spot(min_replicas=2))
    p = plan(app, "cheap")
    assert p.service("api").replicas == 2
    assert p.service("postgres").replicas == 1
    assert p.profile is not None and p.profile.capacity == "spot"


def test_overrides_apply_per_environment() -> None:
    prod = plan(shop(), "prod").service("api")
    assert prod.autoscale == Autoscale(min=3, max=30, cpu=70)
    assert prod.replicas == 3
    assert plan(shop(), "local").service("api").autoscale is None


def test_live_sync_only_on_local_targets_and_shown_as_a_relaxation() -> None:
    local = plan(shop(), "local").service("api")
    dev = plan(shop(), "dev").service("api")
    prod = plan(shop(), "prod").service("api")
    assert local.sync and dev.sync and not prod.sync
    assert local.security.writable_for_sync == ("/srv/app",)
    assert prod.security.writable_for_sync == ()
    assert plan(shop(), "local").service("postgres").security.writable_paths == (
        "/var/lib/postgresql/data",
    )


def test_namespace_defaults_to_project_and_environment() -> None:
    assert plan(shop(), "staging").namespace == "shop-staging"
    assert plan(shop(), "prod").namespace == "shop"
    assert plan(shop(), "dev").namespace == "shop-dev"
    assert plan(shop(), "local").namespace is None


def test_unknown_environment_lists_the_defined_ones() -> None:
    with pytest.raises(UnknownEnvironmentError) as info:
        plan(shop(), "qa")
    assert info.value.exit_code == 2
    assert "defined environments: local, dev, staging, prod" in info.value.render()


def test_override_that_breaks_a_reference_is_reported_for_the_environment() -> None:
    app = shop()
    app.environment("broken", Docker(), overrides={"postgres": {"ports": {"pg": 5432}}})
    plan(app, "local")
    with pytest.raises(
        BlueprintError, match=r'env\.DB_PORT refers to port "postgres" of service "postgres"'
    ):
        plan(app, "broken")


def test_override_adding_a_cycle_is_caught_in_that_environment() -> None:
    app = shop()
    app.environment("cyclic", Docker(), overrides={"postgres": {"depends_on": ["worker"]}})
    plan(app, "local")
    with pytest.raises(BlueprintError, match="dependency cycle: api -> postgres -> worker -> api"):
        plan(app, "cyclic")


def test_group_members_must_exist() -> None:
    app = shop()
    app.group("backend", ["api", "workers"])
    with pytest.raises(BlueprintError, match='group "backend" names service "workers"'):
        plan(app, "local")


def test_groups_are_in_the_plan() -> None:
    app = shop()
    app.group("backend", ["api", "worker"])
    assert plan(app, "local").groups == {"backend": ("api", "worker")}


def test_autoscale_min_is_raised_to_the_profile_floor() -> None:
    app = Blueprint("x")
    app.service("api", image="a", autoscale=Autoscale(min=1, max=5))
    app.environment("spot", Kubernetes(), profile=spot(min_replicas=2))
    planned = plan(app, "spot").service("api")
    assert planned.autoscale is not None and planned.autoscale.min == 2
    assert planned.replicas == 2
