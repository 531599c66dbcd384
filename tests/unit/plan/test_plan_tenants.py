"""Tenants: a plan per tenant (its namespace, overrides and tier), their quota objects, and the
errors a user meets declaring them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devkit.errors import BlueprintError, UnknownTenantError
from devkit.model import TIERS, Blueprint, Docker, Kubernetes, Port, Tenant, Tier
from devkit.planning.planner import plan
from devkit.render import render
from devkit.render.labels import instance


def _saas(*tenants: Tenant) -> Blueprint:
    app = Blueprint("saas")
    db = app.service("db", image="postgres:15", ports={"pg": Port(5432)}, stateful=True)
    app.service(
        "api", image="acme/api:1", ports={"http": Port(8000)}, depends_on=[db],
        env={"THEME": "plain"},
    )  # fmt: skip
    app.environment("prod", Kubernetes(), replicas=2, tenants=tenants)
    return app


def test_a_tenant_runs_the_environment_in_its_own_namespace_with_its_own_settings() -> None:
    app = _saas(
        Tenant("acme", tier="standard", replicas=3, overrides={"api": {"env": {"THEME": "blue"}}}),
        Tenant("globex"),
    )
    base = plan(app, "prod")
    assert base.tenants == ("acme", "globex") and base.tenant is None
    acme = plan(app, "prod", "acme")
    assert (acme.namespace, acme.tenant, acme.tier) == ("saas-prod-acme", "acme", TIERS["standard"])
    assert acme.service("api").replicas == 3
    assert acme.service("api").env["THEME"] == "blue"
    globex = plan(app, "prod", "globex")
    assert globex.namespace == "saas-prod-globex" and globex.tier == TIERS["small"]
    assert globex.service("api").replicas == 2  # the environment's
    assert globex.service("api").env["THEME"] == "plain"
    assert len({base.hash, acme.hash, globex.hash}) == 3
    assert instance(acme) == "saas-prod-acme"  # selectors never match another tenant's pods


def test_a_plan_without_tenants_keeps_its_form_and_hash() -> None:
    app = _saas()
    dumped = plan(app, "prod").model_dump(mode="json")
    assert "tenant" not in dumped and "tier" not in dumped


def test_a_tenant_gets_a_quota_and_limit_range_from_its_tier() -> None:
    tier = Tier(name="tiny", cpu="1", memory="1Gi", pods=5, container_cpu="500m",
                container_memory="256Mi")  # fmt: skip
    objects = render(plan(_saas(Tenant("acme", tier=tier)), "prod", "acme")).objects
    kinds = [o["kind"] for o in objects]
    assert kinds[:3] == ["Namespace", "ResourceQuota", "LimitRange"]  # before any pod
    quota, limits = objects[1], objects[2]
    assert quota["metadata"]["namespace"] == "saas-prod-acme"
    assert quota["spec"]["hard"] == {
        "requests.cpu": "1", "limits.cpu": "1", "requests.memory": "1Gi",
        "limits.memory": "1Gi", "pods": "5",
    }  # fmt: skip
    assert limits["spec"]["limits"] == [
        {
            "type": "Container",
            "default": {"cpu": "100m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
            "max": {"cpu": "500m", "memory": "256Mi"},
        }
    ]
    untenanted = [o["kind"] for o in render(plan(_saas(), "prod")).objects]
    assert "ResourceQuota" not in untenanted


def test_tenant_errors_name_what_exists() -> None:
    app = _saas(Tenant("acme"))
    with pytest.raises(UnknownTenantError) as raised:
        plan(app, "prod", "initech")
    assert raised.value.message == 'environment "prod" has no tenant "initech"'
    assert raised.value.details == ("its tenants: acme",)

    with pytest.raises(ValidationError, match='"huge" is not a tier: give one of small, standard'):
        Tenant("acme", tier="huge")
    with pytest.raises(ValidationError, match=r"container_cpu \(4\) is more than cpu \(2\)"):
        Tier(name="odd", cpu="2", memory="1Gi", pods=1, container_cpu="4",
             container_memory="1Gi")  # fmt: skip
    with pytest.raises(ValidationError, match='"replicass" cannot be overridden'):
        Tenant("acme", overrides={"api": {"replicass": 2}})
    with pytest.raises(BlueprintError, match="tenant names must be unique; given twice: acme"):
        _saas(Tenant("acme"), Tenant("acme"))

    local = Blueprint("saas")
    local.service("api", image="acme/api:1")
    local.environment("local", Docker(), tenants=[Tenant("acme")])
    with pytest.raises(BlueprintError, match="tenants need a cluster target"):
        plan(local, "local", "acme")

    with pytest.raises(BlueprintError, match='tenant "acme": overrides service "web"'):
        plan(_saas(Tenant("acme", overrides={"web": {"replicas": 2}})), "prod", "acme")
