"""The canary declaration: steps, checks, A/B match and hooks, checked where they are written."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from devkit import (
    Blueprint,
    BlueprintError,
    Canary,
    Cookie,
    Header,
    Hook,
    Kubernetes,
    Latency,
    Port,
    Query,
    Step,
    SuccessRate,
    Swarm,
    plan,
)


def _app(**canary: object) -> Blueprint:
    app = Blueprint("shop")
    app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
    app.service("db", image="postgres:15", stateful=True, ports={"pg": 5432})
    fields = {"service": "api", "steps": [10, 50, 100], **canary}
    app.environment("prod", Kubernetes(gateway="edge/public"), canary=Canary(**fields))
    return app


def test_steps_given_as_weights_pause_a_minute_each() -> None:
    canary = Canary(service="api", steps=[10, 50, 100])
    assert canary.steps == (Step(10), Step(50), Step(100))
    assert [s.pause for s in canary.steps] == [60.0, 60.0, 60.0]
    assert canary.describe_steps() == ["1. 10% for 60s", "2. 50% for 60s", "3. 100% for 60s"]


def test_a_manual_pause_waits_for_continue() -> None:
    step = Step(50, pause="manual")
    assert step.manual and step.describe() == "50% until --continue"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([50, 50], "steps[1]: weight 50 does not increase on the step before (50)"),
        ([10, 60, 30], "steps[2]: weight 30 does not increase on the step before (60)"),
        ([10, 101], "less than or equal to 100"),
        ([-1, 10], "greater than or equal to 0"),
        ([], "at least 1 item"),
        ([0], "every step sends 0% to the canary"),
    ],
)
def test_weights_go_up_within_0_and_100(steps: list[int], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Canary(service="api", steps=steps)


def test_a_zero_weight_is_an_ab_test_when_a_match_sends_requests() -> None:
    canary = Canary(
        service="api", steps=[Step(0, pause="manual")], match=Header(name="x-ab", value="b")
    )
    assert canary.steps[0].weight == 0


def test_an_unattended_canary_cannot_pause_until_continue() -> None:
    with pytest.raises(ValidationError, match="no one can continue it"):
        Canary(service="api", unattended=True, steps=[Step(10, pause="manual"), 100])
    assert Canary(service="api", unattended=True, steps=[Step(10, pause=30), 100])


def test_checks_need_a_prometheus_and_unique_names() -> None:
    with pytest.raises(ValidationError, match="checks are evaluated against Prometheus"):
        Canary(service="api", steps=[10], checks=[SuccessRate()])
    with pytest.raises(ValidationError, match="given twice: success-rate"):
        Canary(service="api", steps=[10], checks=[SuccessRate(), SuccessRate(min=0.5)],
               prometheus="http://127.0.0.1:9090")  # fmt: skip


def test_a_query_needs_a_bound_and_consistent_bounds() -> None:
    with pytest.raises(ValidationError, match="needs min= or max="):
        Query(name="q", query="up")
    with pytest.raises(ValidationError, match="min 2 is above max 1"):
        Query(name="q", query="up", min=2, max=1)
    assert Query(name="q", query="up", min=1).describe() == "q >= 1"


def test_prometheus_is_a_url_or_an_in_cluster_service() -> None:
    canary = Canary(service="api", steps=[10], checks=Latency(max=0.5),
                    prometheus="monitoring/prometheus:9090")  # fmt: skip
    assert canary.prometheus is not None and canary.prometheus.where == (
        "monitoring", "prometheus", 9090,
    )  # fmt: skip
    with pytest.raises(ValidationError, match='give "NAMESPACE/NAME:PORT"'):
        Canary(service="api", steps=[10], checks=Latency(max=0.5), prometheus="prometheus")


def test_a_check_kind_typo_names_the_field() -> None:
    with pytest.raises(ValidationError, match="latency"):
        Canary.model_validate({"service": "api", "steps": [10], "checks": [{"kind": "latncy"}]})


def test_ab_matches_refuse_what_http_cannot_carry() -> None:
    with pytest.raises(ValidationError, match="not an HTTP header name"):
        Header(name="x canary", value="1")
    with pytest.raises(ValidationError, match="not a cookie value"):
        Cookie(name="ab", value="a b")
    assert Cookie(name="ab", value="b").describe() == "cookie ab=b"


def test_a_hook_command_is_a_list() -> None:
    with pytest.raises(ValidationError, match="give the command as a list"):
        Hook("k6 run load.js")


def test_the_plan_carries_the_canary_outside_its_hash() -> None:
    with_canary = plan(_app(checks=[SuccessRate()], prometheus="http://127.0.0.1:9090"), "prod")
    assert with_canary.canary is not None and with_canary.canary.service == "api"
    plain = Blueprint("shop")
    plain.service("api", image="api:1", ports={"http": Port(8000, public=True)})
    plain.service("db", image="postgres:15", stateful=True, ports={"pg": 5432})
    plain.environment("prod", Kubernetes(gateway="edge/public"))
    assert plan(plain, "prod").hash == with_canary.hash
    assert "canary" in with_canary.model_dump(mode="json")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda app: app.environment("s", Swarm(), canary=Canary(service="api", steps=[10])),
         "runs on a route's weights, and swarm has no routes"),
        (lambda app: app.environment("s", Kubernetes(gateway="e/p"),
                                     canary=Canary(service="web", steps=[10])),
         'service "web" is not defined'),
        (lambda app: app.environment("s", Kubernetes(gateway="e/p"),
                                     canary=Canary(service="db", steps=[10])),
         'service "db" keeps state'),
        (lambda app: app.environment("s", Kubernetes(), canary=Canary(service="api", steps=[10])),
         'service "api" is served by an Ingress, not a Gateway'),
        (lambda app: app.environment("s", Kubernetes(gateway="e/p"),
                                     canary=Canary(service="api", steps=[10],
                                                   hooks=Hook(["true"], service="load"))),
         'a hook runs in service "load", which is not defined'),
    ],
)  # fmt: skip
def test_a_canary_the_environment_cannot_run_is_refused_at_its_line(
    build: object, message: str
) -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
    app.service("db", image="postgres:15", stateful=True, ports={"pg": 5432})
    build(app)  # type: ignore[operator]
    with pytest.raises(BlueprintError) as caught:
        plan(app, "s")
    assert message in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.file.endswith("test_canary_model.py")
