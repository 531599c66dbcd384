"""The decisions of an environment on several clusters: its waves, the images and copies each
wave runs, what a failure undoes, and the run in order (with plain functions standing in for
what each wave does to its cluster)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from devkit import (
    Blueprint,
    BlueprintError,
    Cluster,
    EngineError,
    Kubernetes,
    RefusedError,
    Tenant,
    UserError,
    plan,
)
from devkit.delivery.waves import (
    Wave,
    WaveFailedError,
    WaveResult,
    after_failure_of,
    images_home,
    paused_wave,
    rollout_before,
    run_waves,
    to_undo,
    wave_images,
    waves,
)
from devkit.records.release import CanaryRecord, Release
from devkit.targets.base import ClusterNotChosenError
from devkit.targets.registry import open_target

DIGEST = "sha256:" + "3" * 64


def blueprint(**target: Any) -> Blueprint:
    app = Blueprint("shop")
    app.service("api", image="shop-api:1")
    app.environment("staging", Kubernetes(context="kind-one", registry="reg-a:5000"))
    app.environment(
        "prod",
        Kubernetes(
            clusters=[
                Cluster("eu", context="kind-one", registry="reg-a:5000"),
                Cluster("us", context="kind-two", registry="reg-b:5000",
                        registry_from_host="127.0.0.1:5003", image_pull_secrets=("pull",)),
            ],
            **target,
        ),
    )  # fmt: skip
    return app


def test_waves_follow_the_declared_order_each_on_its_own_cluster_and_registry() -> None:
    found = waves(plan(blueprint(), "prod"))
    assert [w.cluster for w in found] == ["eu", "us"]
    eu, us = (w.plan.target for w in found)
    assert (eu.context, eu.registry, eu.clusters) == ("kind-one", "reg-a:5000", ())
    assert (us.context, us.registry, us.registry_from_host) == (
        "kind-two",
        "reg-b:5000",
        "127.0.0.1:5003",
    )
    assert us.image_pull_secrets == ("pull",)
    # one environment, one namespace in every cluster
    assert {w.plan.namespace for w in found} == {"shop-prod"}


def test_a_wave_plan_is_hashed_as_that_cluster_alone_and_stays_the_same() -> None:
    first = waves(plan(blueprint(), "prod"))
    again = waves(plan(blueprint(), "prod"))
    assert [w.plan.hash for w in first] == [w.plan.hash for w in again]
    assert first[0].plan.hash != first[1].plan.hash  # another context and registry
    assert first[0].plan.hash != plan(blueprint(), "prod").hash


def test_an_environment_on_one_cluster_has_no_waves() -> None:
    assert waves(plan(blueprint(), "staging")) == ()


def test_cluster_narrows_to_one_wave_and_names_the_clusters_when_unknown() -> None:
    prod = plan(blueprint(), "prod")
    assert [w.cluster for w in waves(prod, "us")] == ["us"]
    with pytest.raises(UserError, match='no cluster "asia"') as unknown:
        waves(prod, "asia")
    assert "its clusters: eu, us" in unknown.value.details
    assert unknown.value.exit_code == 2
    with pytest.raises(UserError, match="runs on one cluster"):
        waves(plan(blueprint(), "staging"), "eu")


def test_a_command_that_works_on_one_target_refuses_an_environment_on_several() -> None:
    # e.g. `down -e prod` or `diff prod --live`: never the kubeconfig's current context
    prod = plan(blueprint(), "prod")
    refused = pytest.raises(ClusterNotChosenError, match=r'"prod" runs on 2 clusters \(eu, us\)')
    with refused as e, open_target(prod):
        pass
    assert e.value.clusters == ("eu", "us") and e.value.exit_code == 2
    eu = waves(plan(blueprint(), "prod"))[0]
    with open_target(eu.plan) as target:  # a wave's own target opens (connects on first use)
        assert target is not None


def test_clusters_are_named_once_and_carry_their_own_context_and_registry() -> None:
    with pytest.raises(ValidationError, match="given twice: eu"):
        Kubernetes(clusters=[Cluster("eu"), Cluster("eu")])
    with pytest.raises(ValidationError, match="set context, registry on each Cluster"):
        Kubernetes(context="x", registry="r", clusters=[Cluster("eu")])
    with pytest.raises(ValidationError, match='cluster "eu": registry_from_host'):
        Cluster("eu", registry_from_host="127.0.0.1:5003")
    with pytest.raises(ValidationError):
        Kubernetes(clusters=[Cluster("eu")], after_failure="maybe")  # type: ignore[arg-type]


def test_tenants_of_an_environment_on_several_clusters_are_refused_at_its_declaration() -> None:
    app = Blueprint("saas")
    app.service("api", image="api:1")
    clusters = Kubernetes(clusters=[Cluster("eu", context="one"), Cluster("us", context="two")])
    with pytest.raises(BlueprintError, match="tenants of an environment on several clusters") as e:
        app.environment("prod", clusters, tenants=[Tenant("acme")])
    assert "an environment per cluster" in str(e.value) and e.value.exit_code == 2


def test_images_given_by_digest_are_copied_from_the_cluster_whose_registry_holds_them() -> None:
    # `deploy prod --cluster us --images eu.json` (a drill: eu's release, into us): from eu's
    eu, us = waves(plan(blueprint(), "prod"))
    in_us = {"api": f"reg-b:5000/shop-api@{DIGEST}"}
    in_eu = {"api": f"reg-a:5000/shop-api@{DIGEST}"}
    assert images_home((eu, us), in_eu) == eu
    assert images_home((eu, us), in_us) == us
    elsewhere = {"api": f"reg-a:5000/shop-api@{DIGEST}", "db": f"reg-c/pg@{DIGEST}"}
    assert images_home((eu, us), elsewhere) is None  # no one cluster's registry holds them all
    assert images_home((eu, us), {}) is None


def test_each_wave_runs_copies_in_its_own_registry_by_the_same_digest() -> None:
    eu, us = waves(plan(blueprint(), "prod"))
    images = {"api": f"reg-a:5000/shop-api@{DIGEST}"}
    assert wave_images(images, "reg-a:5000", eu) == (images, {})
    runs, copies = wave_images(images, "reg-a:5000", us)
    assert runs == {"api": f"reg-b:5000/shop-api@{DIGEST}"}
    assert copies == {"api": (images["api"], runs["api"])}
    # pushed to us's registry already (`build prod --push --cluster us`): nothing to copy
    assert wave_images(runs, "reg-a:5000", us) == (runs, {})


def test_after_a_failure_the_done_clusters_keep_the_release_unless_told_to_roll_back() -> None:
    done = [
        WaveResult("eu", "healthy", 4),
        WaveResult("mid", "nothing-to-do", 2),
        WaveResult("us", "healthy", 7),
    ]
    assert to_undo(done, "keep") == ()
    # newest first; a cluster this run did not change keeps what it ran before
    assert to_undo(done, "rollback") == ("us", "eu")
    assert after_failure_of(plan(blueprint(), "prod")) == "keep"
    assert after_failure_of(plan(blueprint(after_failure="rollback"), "prod")) == "rollback"


def _run(fail_at: str | None, after_failure: Any, error: Exception | None = None) -> Any:
    planned = waves(plan(blueprint(), "prod"))
    calls: list[str] = []

    def act(wave: Wave) -> WaveResult:
        calls.append(f"deploy {wave.cluster}")
        if wave.cluster == fail_at:
            raise error or EngineError("verify failed: exit 1")
        return WaveResult(wave.cluster, "healthy", 3, 1.5)

    def undo(wave: Wave) -> WaveResult:
        calls.append(f"roll back {wave.cluster}")
        return WaveResult(wave.cluster, "rolled-back", 4)

    said: list[str] = []
    try:
        results: Any = run_waves("prod", planned, act, undo, after_failure=after_failure,
                                 say=said.append)  # fmt: skip
    except WaveFailedError as exc:
        results = exc
    return calls, results, said


def test_waves_run_one_after_another_in_order() -> None:
    calls, results, said = _run(None, "keep")
    assert calls == ["deploy eu", "deploy us"]
    assert [(r.cluster, r.status) for r in results] == [("eu", "healthy"), ("us", "healthy")]
    assert said[0] == "wave 1/2: cluster eu" and said[2] == "wave 2/2: cluster us"


def test_a_failed_first_wave_stops_before_the_second_starts() -> None:
    calls, failed, _ = _run("eu", "rollback")
    assert calls == ["deploy eu"]  # nothing done before it: nothing to roll back
    assert [(r.cluster, r.status) for r in failed.results] == [
        ("eu", "failed"),
        ("us", "not-started"),
    ]
    assert failed.message == "wave 1 of 2 (eu) of prod failed: verify failed: exit 1"


def test_a_failed_second_wave_leaves_the_first_with_the_new_release_when_it_keeps() -> None:
    calls, failed, _ = _run("us", "keep")
    assert calls == ["deploy eu", "deploy us"]
    assert [(r.cluster, r.status) for r in failed.results] == [
        ("eu", "healthy"),
        ("us", "failed"),
    ]
    assert failed.exit_code == 1
    assert failed.to_dict()["waves"][0] == {
        "cluster": "eu", "status": "healthy", "release": 3, "seconds": 1.5, "reason": "",
        "copies": {},
    }  # fmt: skip


def test_a_failed_second_wave_rolls_the_first_back_too_when_the_environment_says_so() -> None:
    calls, failed, said = _run("us", "rollback")
    assert calls == ["deploy eu", "deploy us", "roll back eu"]
    assert [(r.cluster, r.status, r.release) for r in failed.results] == [
        ("eu", "rolled-back", 4),
        ("us", "failed", None),
    ]
    assert "cluster eu: rolling back too (after_failure='rollback')" in said


def test_a_refused_wave_keeps_its_exit_code() -> None:
    _, failed, _ = _run("us", "keep", RefusedError('environment "prod" is locked'))
    assert failed.exit_code == 3
    assert failed.to_dict()["exit_code"] == 3


def test_a_paused_canary_in_a_wave_holds_the_waves_after_it() -> None:
    planned = waves(plan(blueprint(), "prod"))
    calls: list[str] = []

    def act(wave: Wave) -> WaveResult:
        calls.append(f"deploy {wave.cluster}")
        return WaveResult(wave.cluster, "paused", 3, 1.5)

    said: list[str] = []
    results = run_waves("prod", planned, act, act, after_failure="keep", say=said.append)
    assert calls == ["deploy eu"]
    assert [(r.cluster, r.status) for r in results] == [("eu", "paused"), ("us", "not-started")]
    assert said[-1] == "the clusters after eu wait until its canary is continued or aborted"


def _record(number: int, status: Any, digest: str, registry: str, canary: bool = False) -> Release:
    return Release(
        number=number, project="shop", environment="prod", plan_hash="h", created="2026-12-01",
        by="ci", origin="deploy", status=status, images={"api": f"{registry}/api@{digest}"},
        canary=CanaryRecord(service="api", stable=number - 1) if canary else None,
    )  # fmt: skip


NEW, OLD = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_continue_finds_the_one_cluster_whose_canary_is_paused() -> None:
    eu, us = waves(plan(blueprint(), "prod"))
    held = [(eu, [_record(4, "healthy", NEW, "reg-a:5000")]),
            (us, [_record(2, "healthy", OLD, "reg-b:5000"),
                  _record(3, "paused", NEW, "reg-b:5000", canary=True)])]  # fmt: skip
    assert paused_wave(held, "prod") == 1
    # eu runs the paused release's digests (from its own registry): done by the same rollout
    assert rollout_before(held[:1], held[1][1][1], "reg-b:5000") == (
        (eu, WaveResult("eu", "healthy", 4)),
    )
    # a cluster that runs something else since is not part of it
    other = [(eu, [_record(5, "healthy", OLD, "reg-a:5000")])]
    assert rollout_before(other, held[1][1][1], "reg-b:5000") == ()


def test_continue_with_no_paused_canary_anywhere_is_refused_and_with_two_asks_for_cluster() -> None:
    eu, us = waves(plan(blueprint(), "prod"))
    calm = [(eu, [_record(4, "healthy", NEW, "reg-a:5000")]), (us, [])]
    with pytest.raises(RefusedError) as refused:
        paused_wave(calm, "prod")
    assert refused.value.exit_code == 3
    assert "no paused or interrupted canary to continue in any of its clusters (eu, us)" in (
        refused.value.message
    )
    both = [(w, [_record(3, "deploying", NEW, "reg", canary=True)]) for w in (eu, us)]
    with pytest.raises(UserError) as asked:
        paused_wave(both, "prod")
    assert asked.value.exit_code == 2
    assert "unfinished canary in 2 clusters (eu, us): choose one with --cluster NAME" in (
        asked.value.message
    )


def test_a_continued_rollout_that_fails_later_undoes_the_waves_an_earlier_command_did() -> None:
    eu, us = waves(plan(blueprint(), "prod"))
    calls: list[str] = []

    def act(wave: Wave) -> WaveResult:
        calls.append(f"continue {wave.cluster}")
        raise EngineError("canary aborted: success rate 0.66 < 0.95")

    def undo(wave: Wave) -> WaveResult:
        calls.append(f"roll back {wave.cluster}")
        return WaveResult(wave.cluster, "rolled-back", 5)

    said: list[str] = []
    with pytest.raises(WaveFailedError) as failed:
        run_waves(
            "prod", [us], act, undo, after_failure="rollback", say=said.append,
            before=[(eu, WaveResult("eu", "healthy", 4))],
        )  # fmt: skip
    assert calls == ["continue us", "roll back eu"]
    assert said[0] == "wave 2/2: cluster us"
    assert [(r.cluster, r.status, r.release) for r in failed.value.results] == [
        ("eu", "rolled-back", 5),
        ("us", "failed", None),
    ]
    assert failed.value.message.startswith("wave 2 of 2 (us) of prod failed: canary aborted")
