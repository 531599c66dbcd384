"""spot() and on_demand(): providers, timing, placement, and their errors at the user's line."""

from __future__ import annotations

import pytest

from devkit import Autoscale, Blueprint, Build, Docker, Kubernetes, Resources, Uptime
from devkit.errors import BlueprintError
from devkit.model.profile import PROVIDERS
from devkit.planning.placement import placement
from devkit.planning.planner import plan
from devkit.profiles import on_demand, spot


def test_spot_defaults_cover_every_provider_with_a_grace_inside_the_notice() -> None:
    profile = spot()
    assert profile.providers == PROVIDERS == ("aks", "eks", "gke", "karpenter")
    assert (profile.min_replicas, profile.termination_grace, profile.pre_stop) == (2, 25, 5)
    assert profile.spread and profile.right_size and not profile.fallback


def test_provider_by_name_or_list() -> None:
    assert spot(provider="eks").providers == ("eks",)
    assert spot(provider=["karpenter", "gke", "gke"]).providers == ("gke", "karpenter")
    assert on_demand(provider="all").providers == PROVIDERS


def test_unknown_provider_is_an_error_at_the_users_line() -> None:
    with pytest.raises(BlueprintError) as info:
        spot(provider="digitalocean")  # the line reported
    error = info.value
    assert error.exit_code == 2
    assert (
        'unknown provider "digitalocean"; known providers: aks, eks, gke, karpenter'
        in error.message
    )
    assert error.message.startswith("spot(): provider: unknown provider")
    assert error.location is not None and error.location.file == __file__


def test_grace_longer_than_the_shortest_spot_notice_is_refused() -> None:
    with pytest.raises(
        BlueprintError, match="termination_grace 60 s is longer than the 30 s spot notice of gke"
    ):
        spot(provider=["eks", "gke"], termination_grace=60)
    assert spot(provider="eks", termination_grace=90).termination_grace == 90  # AWS: 2 minutes


def test_pre_stop_must_leave_time_to_stop() -> None:
    with pytest.raises(BlueprintError, match="pre_stop 25 s leaves no time to stop"):
        spot(pre_stop=25)


def test_uptime_is_checked_and_counted() -> None:
    assert Uptime("Mon-Fri", "07:00", stop="19:00").hours_per_week == 60
    assert Uptime("Sat", "10:00", stop="12:30").hours_per_week == 2.5
    assert Uptime("Fri-Mon", "00:00", stop="23:59").day_count == 4
    with pytest.raises(ValueError, match="not a day or day range"):
        Uptime("Weekdays")
    with pytest.raises(ValueError, match="uptime stop 07:00 is not after start 19:00"):
        Uptime("Mon-Fri", "19:00", stop="07:00")
    with pytest.raises(ValueError, match='"25:00" is not a time of day'):
        Uptime("Mon", "25:00")


def test_spot_placement_and_stateful_services_on_demand() -> None:
    stateless = placement(spot(provider="aks"), stateful=False)
    assert stateless.capacity == "spot" and stateless.affinity == "required"
    assert [(r.key, r.operator, r.values) for term in stateless.node_terms for r in term] == [
        ("kubernetes.azure.com/scalesetpriority", "In", ("spot",))
    ]
    assert [(t.key, t.value) for t in stateless.tolerations] == [
        ("kubernetes.azure.com/scalesetpriority", "spot")
    ]
    database = placement(spot(provider="aks"), stateful=True)
    assert database.capacity == "on-demand" and not database.tolerations
    assert database.termination_grace is None
    assert placement(spot(stateful_on_spot=True), stateful=True).capacity == "spot"


def test_fallback_is_for_spot_only() -> None:
    from devkit.model.profile import Profile

    with pytest.raises(ValueError, match="apply to spot profiles only"):
        Profile(capacity="on-demand", fallback=True)


def _app() -> Blueprint:
    app = Blueprint("acme")
    app.service("api", image="api:1", resources=Resources(cpu="200m", memory_limit="256Mi"))
    app.service("db", image="postgres:16", stateful=True)
    return app


def test_explicit_single_replica_on_spot_is_kept_with_a_warning_that_says_why() -> None:
    app = _app()
    app.environment("staging", Kubernetes(), profile=spot(), overrides={"api": {"replicas": 1}})
    planned = plan(app, "staging")
    assert planned.service("api").replicas == 1
    (warning,) = planned.warnings
    assert warning.startswith('service "api" runs 1 replica on spot capacity')
    assert "replicas=1 is set explicitly" in warning
    assert "down each time its node is reclaimed" in warning
    assert "give it replicas=2 or more" in warning


def test_environment_replicas_are_raised_to_the_spot_floor_silently() -> None:
    app = _app()
    app.environment("staging", Kubernetes(), profile=spot(), replicas=1)
    planned = plan(app, "staging")
    assert planned.service("api").replicas == 2
    assert planned.service("db").replicas == 1
    assert planned.warnings == ()


def test_a_spot_floor_of_one_warns_too() -> None:
    app = _app()
    app.environment("staging", Kubernetes(), profile=spot(min_replicas=1))
    assert "the spot profile's min_replicas is 1" in plan(app, "staging").warnings[0]


def test_right_sizing_fills_requests_and_bounds_memory() -> None:
    app = _app()
    app.environment("prod", Kubernetes(), profile=on_demand())
    app.environment("local", Docker())
    api = plan(app, "prod").service("api").resources
    assert api == Resources(cpu="200m", memory="256Mi", memory_limit="256Mi")
    db = plan(app, "prod").service("db").resources
    assert db == Resources(cpu="100m", memory="128Mi", memory_limit="128Mi")
    assert plan(app, "local").service("db").resources is None  # no profile: as declared


def test_reference_without_dependency_warns_on_clusters_only() -> None:
    app = Blueprint("acme")
    db = app.service(
        "db", image="redis:7", ports={"redis": 6379}, url_template="redis://{host}:{port}"
    )
    app.service("api", image="api:1", env={"CACHE": db.url})
    app.environment("local", Docker())
    app.environment("k", Kubernetes())
    assert plan(app, "local").warnings == ()
    (warning,) = plan(app, "k").warnings
    assert 'env.CACHE refers to "db", which it does not depend on' in warning
    assert 'add depends_on=["db"]' in warning


def test_autoscale_without_a_cpu_request_warns() -> None:
    app = Blueprint("acme")
    app.service("api", image="api:1", autoscale=Autoscale(min=1, max=4))
    app.environment("k", Kubernetes())
    app.environment("sized", Kubernetes(), profile=on_demand())
    assert "HorizontalPodAutoscaler cannot compute utilisation" in plan(app, "k").warnings[0]
    assert plan(app, "sized").warnings == ()  # right-sizing gave it a request


def test_plan_with_profile_stays_deterministic() -> None:
    app = _app()
    app.service("web", build=Build("web"), replicas=3)
    app.environment("staging", Kubernetes(), profile=spot(uptime=Uptime()))
    assert plan(app, "staging").to_json() == plan(app, "staging").to_json()
