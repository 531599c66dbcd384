"""`--format compose`: the environment as a Docker Compose file."""

from __future__ import annotations

import yaml

from blueprints import redis
from devkit import Docker, Http, Secret
from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.render import compose, compose_yaml
from devkit.render.healthcheck import healthcheck


def test_shop_local_as_compose(shop: Blueprint) -> None:
    document = compose(plan(shop, "local"), context_root="../shop")
    assert document["name"] == "shop-local"
    services = document["services"]
    assert list(services) == ["postgres", "redis", "api", "worker"]
    api = services["api"]
    assert api["build"] == {"context": "../shop/services/api", "dockerfile": "Dockerfile"}
    assert api["environment"]["DATABASE_URL"] == (
        "postgresql://shop:${SHOP_DB_PASSWORD:?set SHOP_DB_PASSWORD in the environment or .env}"
        "@postgres:5432/shop"
    )
    assert api["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert api["ports"] == [{"target": 8000, "host_ip": "127.0.0.1", "protocol": "tcp"}]
    check = api["healthcheck"]
    assert check["test"][0] == "CMD-SHELL"
    assert "http://127.0.0.1:8000/healthz" in check["test"][1]
    assert (check["interval"], check["retries"]) == ("2s", 3)
    postgres = services["postgres"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert postgres["read_only"] is True
    assert postgres["cap_drop"] == ["ALL"]
    assert postgres["security_opt"] == ["no-new-privileges:true"]
    assert postgres["tmpfs"] == ["/var/run/postgresql", "/tmp"]
    assert postgres["user"] == "999:999"
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert postgres["deploy"]["resources"] == {
        "limits": {"memory": 512 * 2**20},
        "reservations": {"cpus": "0.25", "memory": 256 * 2**20},
    }
    assert postgres["labels"]["dev.devkit.service"] == "postgres"
    assert document["volumes"] == {"postgres-data": {"labels": {"dev.devkit.project": "shop"}}}


def test_compose_replicas_and_grace_follow_the_plan(shop: Blueprint) -> None:
    services = compose(plan(shop, "staging"))["services"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["api"]["stop_grace_period"] == "25s"
    assert "replicas" not in services["postgres"]["deploy"]


def test_given_image_replaces_the_build(shop: Blueprint) -> None:
    api = compose(plan(shop, "prod"), {"api": "ghcr.io/acme/api:1.4"})["services"]["api"]
    assert api["image"] == "ghcr.io/acme/api:1.4"
    assert "build" not in api


def test_compose_text_is_deterministic_yaml(shop: Blueprint) -> None:
    first, second = compose_yaml(plan(shop, "local")), compose_yaml(plan(shop, "local"))
    assert first == second
    assert first.startswith("# Rendered by devkit from shop environment local.")
    assert yaml.safe_load(first) == compose(plan(shop, "local"))


def test_http_health_check_is_the_one_devkit_up_runs_with_dollars_escaped(shop: Blueprint) -> None:
    planned = plan(shop, "local")
    api = compose(planned)["services"]["api"]
    probe = healthcheck(planned.service("api").health, planned.service("api"))
    assert probe is not None
    # compose turns "$$" back into "$": the container runs exactly devkit's probe
    assert [arg.replace("$$", "$") for arg in api["healthcheck"]["test"]] == probe["Test"]
    assert '"$$code"' in api["healthcheck"]["test"][1]  # the bash fallback's own variable
    assert "${" not in api["healthcheck"]["test"][1].replace("$$", "")


def test_dependents_wait_for_http_checked_services_to_be_healthy() -> None:
    app = Blueprint("edge")
    web = app.service("web", image="web:1", ports={"http": 8000}, health=Http("/", port="http"))
    app.service("proxy", image="proxy:1", depends_on=[web])
    app.service("tail", image="tail:1", depends_on=["proxy"])
    app.environment("local", Docker())
    services = compose(plan(app, "local"))["services"]
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert services["tail"]["depends_on"] == {"proxy": {"condition": "service_started"}}


def test_redis_password_check_reads_the_container_variable_not_the_shell() -> None:
    app = Blueprint("cache")
    app.use(redis(password=Secret("CACHE_PASSWORD")))
    app.environment("local", Docker())
    test = compose(plan(app, "local"))["services"]["redis"]["healthcheck"]["test"]
    assert test[0] == "CMD" and '"$$REDIS_PASSWORD"' in test[-1]
