"""`--format compose`: the environment as a Docker Compose file."""

from __future__ import annotations

import yaml

from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.render import compose, compose_yaml


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
    assert "healthcheck" not in api  # an HTTP check is devkit's, from outside the container
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
