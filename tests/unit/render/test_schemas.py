"""Every rendered object validates against the official Kubernetes schemas (kubernetes-validate)."""

from __future__ import annotations

import copy

import pytest

from devkit import (
    Autoscale,
    Command,
    Http,
    Ingress,
    Kind,
    Kubernetes,
    Port,
    Resources,
    Secret,
    Tcp,
    Uptime,
    Volume,
    schemas,
)
from devkit.errors import KubeVersionError, SchemaError
from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.profiles import on_demand, spot
from devkit.render import render
from tests.unit.render.conftest import SHOP_ENVS, find

VERSIONS = ("1.25", "1.29", "1.30", "1.33", schemas.available_versions()[-1])


def test_schemas_ship_offline_for_a_range_of_versions() -> None:
    available = schemas.available_versions()
    assert available[0] == "1.25"
    assert {"1.30", "1.33"} <= set(available)
    assert list(available) == sorted(available, key=lambda v: tuple(map(int, v.split("."))))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("env", SHOP_ENVS)
def test_every_shop_object_is_valid(shop: Blueprint, env: str, version: str) -> None:
    manifest = render(plan(shop, env), kube_version=version)
    for obj in manifest.objects:
        assert schemas.problems(obj, schemas.resolve(version)) == [], obj["kind"]
    schemas.validate(manifest.objects, schemas.resolve(version))


def test_versions_are_accepted_in_the_usual_spellings() -> None:
    assert str(schemas.resolve("v1.30")) == "1.30"
    assert str(schemas.resolve("1.30.7")) == "1.30"


@pytest.mark.parametrize("version", ["1.24", "1.99", "2.0"])
def test_a_version_without_schemas_lists_the_available_ones(version: str) -> None:
    with pytest.raises(KubeVersionError) as info:
        schemas.resolve(version)
    assert info.value.exit_code == 2
    text = info.value.render()
    assert f'no Kubernetes schema for version "{version}"' in text
    assert "available versions: 1.25, 1.26," in text


def test_an_invalid_object_is_reported_with_its_field_path(shop: Blueprint) -> None:
    objects = [copy.deepcopy(o) for o in render(plan(shop, "prod")).objects]
    api = find(objects, "Deployment", "api")
    broken = copy.deepcopy(api)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    broken["spec"]["replica"] = 2
    assert schemas.problems(broken, schemas.resolve("1.33")) == [
        "spec: Additional properties are not allowed ('replica' was unexpected)",
        "spec.template.spec.containers[0].ports[0].containerPort: '80' is not of type 'integer'",
    ]
    with pytest.raises(SchemaError, match="2 rendered field") as info:
        schemas.validate([broken], schemas.resolve("1.33"))
    assert info.value.exit_code == 1
    assert "Deployment/api: spec: Additional properties" in info.value.render()


def test_the_compiled_validator_and_the_reporting_one_agree_on_valid_and_broken_objects(
    shop: Blueprint,
) -> None:
    """The compiled validator decides; python-jsonschema words the problems. Both must judge
    alike, or a broken object would pass (or a valid one fail with no message)."""
    version = schemas.resolve("1.33")
    objects = [copy.deepcopy(o) for o in render(plan(shop, "prod")).objects]
    api = find(objects, "Deployment", "api")
    broken = []
    for mutate in (
        lambda o: o["spec"].update(replica=2),  # an unknown field
        lambda o: o["spec"].update(replicas="2"),  # a wrong type
        lambda o: o["spec"]["template"]["spec"]["containers"][0].pop("name"),  # a required field
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image=7),
        lambda o: o["metadata"]["labels"].update(bad=3),  # inside a referenced definition
    ):
        changed = copy.deepcopy(api)
        mutate(changed)
        broken.append(changed)
    for obj in [*objects, *broken]:
        compiled = schemas._compiled(version, obj["kind"], obj["apiVersion"]).is_valid(obj)
        reporting = schemas._validator(version, obj["kind"], obj["apiVersion"])
        assert compiled == (not list(reporting.iter_errors(obj))), (obj["kind"], obj)
    assert all(schemas.problems(obj, version) for obj in broken)


def test_sleep_pre_stop_is_unknown_before_1_29_which_is_why_it_is_not_rendered_there(
    shop: Blueprint,
) -> None:
    api = find(render(plan(shop, "staging"), kube_version="1.30").objects, "Deployment", "api")
    problems = schemas.problems(api, schemas.resolve("1.28"))
    assert any("'sleep' was unexpected" in p for p in problems)


def kitchen_sink() -> Blueprint:
    """Every kind of object and option the renderer has, in one blueprint."""
    app = Blueprint("sink")
    db = app.service(
        "db",
        image="postgres:16",
        ports={"pg": 5432},
        env={"PASSWORD": Secret("DB_PASSWORD")},
        stateful=True,
        run_as_user=999,
        scratch=["/var/run/postgresql"],
        volumes={"data": Volume("/data", size="5Gi"), "wal": "/wal"},
        health=Command("pg_isready"),
        url_template="postgresql://u:{env.PASSWORD}@{host}:{port}/x",
        autoscale=Autoscale(min=1, max=3),
        resources=Resources(cpu="1", memory="1Gi"),
    )
    app.service("queue", image="nats:2", stateful=True, command=["nats-server", "-js"])
    app.service(
        "web",
        image="ghcr.io/acme/web@sha256:" + "1" * 64,
        ports={
            "http": Port(8080, public=True),
            "admin": Port(9000, public=True),
            "dns": Port(5353, protocol="udp"),
        },
        env={"DB": db.url, "MODE": "prod"},
        depends_on=[db],
        health=Http("/ready", port="http", start_period=20),
        service_account_token=True,
        resources=Resources(cpu_limit="2", memory_limit="1Gi"),
    )
    app.service(
        "tcp",
        image="redis:7",
        ports={"redis": 6379},
        health=Tcp("redis"),
        read_only_root_filesystem=False,
        depends_on=["web"],
    )
    ingress = Ingress(class_name="haproxy", namespace="haproxy", domain="sink.example.com")
    app.environment(
        "dev",
        Kind("sink", ingress=ingress),
        profile=spot(fallback=True, uptime=Uptime("Mon-Fri", "08:00", stop="18:00")),
    )
    app.environment(
        "prod",
        Kubernetes(namespace="sink", ingress=ingress),
        profile=on_demand(provider="gke", termination_grace=60, pre_stop=10),
        replicas=3,
    )
    app.environment("spot-all", Kubernetes(ingress=ingress), profile=spot(stateful_on_spot=True))
    return app  # fmt: skip


@pytest.mark.parametrize("version", ["1.25", "1.30", schemas.available_versions()[-1]])
@pytest.mark.parametrize("env", ["dev", "prod", "spot-all"])
def test_every_option_renders_valid_objects(env: str, version: str) -> None:
    manifest = render(plan(kitchen_sink(), env), kube_version=version)
    kinds = {o["kind"] for o in manifest.objects}
    assert kinds == {
        "Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment", "StatefulSet",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Ingress",
    }  # fmt: skip
    schemas.validate(manifest.objects, schemas.resolve(version))
