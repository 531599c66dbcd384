"""Canary and A/B releases on the kind testbed, with real traffic through the real gateway
(Traefik, port-forwarded to 127.0.0.1 as in test_gateway.py): `devkit deploy` shifts the weights
of the web app's HTTPRoute step by step while this test sends requests and counts the version
that answered each (by its X-Version header); a release killed mid-step is found and resolved by
the next command from the cluster and the release record.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from tests.k8s.canary_project import (
    Project,
    aborted_by_a_check,
    canary_project,
    deployments,
    load,
    ok,
    releases,
    serves,
    share,
    watched,
)
from tests.k8s.conftest import ClusterPrometheus, Forward, K8sTestbed, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]


@pytest.fixture
def project(testbed: K8sTestbed, tmp_path: Path) -> Iterator[Project]:
    with canary_project(testbed, tmp_path) as made:
        yield made


def test_a_good_release_goes_10_50_100_with_each_steps_share_within_5_points(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))  # v1: nothing to stand beside, out at once
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version("v2")
    with load(traefik.web, project.host) as running:
        run = watched(project, "deploy", "staging")
    assert run.code == 0, run.stderr
    marks = [run.when(f"step {n}/3") for n in (1, 2, 3)] + [run.when("promoting")]
    measured: list[tuple[int, int, float]] = []  # weight, requests, share of v2
    for (start, end), weight in zip(pairwise(marks), (10, 50, 100), strict=True):
        hits = running.between(start + 1.0, end)  # Traefik applies a weight in 0.4-0.7 s
        measured.append((weight, len(hits), round(share(hits, "v2"), 2)))
        assert len(hits) >= 400, f"{weight}%: only {len(hits)} requests"
        assert abs(share(hits, "v2") - weight) <= 5, f"{weight}%: {share(hits, 'v2'):.1f}% v2"
        assert all(h.status == 200 for h in hits)
    after = running.between(run.lines[-1][0] + 1.0, time.monotonic())
    assert all(h.version == "v2" for h in after)
    failed = [h for h in running.hits if h.status != 200]
    assert not failed, f"{len(failed)} of {len(running.hits)} requests failed, first {failed[0]}"
    print(f"canary shares: {measured}")
    assert "web-canary" not in deployments(testbed, project.namespace)
    newest = releases(project)[0]
    assert newest["status"] == "healthy"
    canary = newest["canary"]
    assert isinstance(canary, dict)
    assert [(s["weight"], s["status"]) for s in canary["steps"]] == [
        (10, "passed"), (50, "passed"), (100, "passed"),
    ]  # fmt: skip
    text = ok(project.devkit("releases", "staging")).stdout
    assert "canary of web beside #1" in text and "step 2: 50% passed" in text


def test_the_ab_header_reaches_only_the_canary_while_everyone_else_stays_on_stable(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version("v2")
    project.env.update({"TEST_AB": "1", "TEST_STEPS": "0:manual"})
    paused = ok(project.devkit("deploy", "staging", "--json"))
    document = json.loads(paused.stdout)
    assert document["status"] == "paused" and document["ok"] is True
    # Traefik applies the route 0.4-0.7 s after it is written, at most one configuration per 2 s
    wait_for(
        "the A/B rule", lambda: serves(traefik.web, project.host, "v2", {"x-canary": "yes"}), 10
    )
    with (
        load(traefik.web, project.host, **{"x-canary": "yes"}) as chosen,
        load(traefik.web, project.host) as everyone,
    ):
        time.sleep(4)
    assert len(chosen.hits) >= 100 and len(everyone.hits) >= 100
    assert {h.version for h in chosen.hits} == {"v2"}
    assert {h.version for h in everyone.hits} == {"v1"}
    refused = project.devkit("deploy", "staging")
    assert refused.code == 3, refused.stderr
    assert "is paused" in refused.stderr and "--continue" in refused.stderr
    ok(project.devkit("deploy", "staging", "--continue"))
    wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
    assert "web-canary" not in deployments(testbed, project.namespace)
    assert releases(project)[0]["status"] == "healthy"

    # paused again, then rolled back with --abort: v2 keeps serving, v3 is gone
    project.version("v3")
    assert (
        json.loads(ok(project.devkit("deploy", "staging", "--json")).stdout)["status"] == "paused"
    )
    assert "web-canary" in deployments(testbed, project.namespace)
    aborted = ok(project.devkit("deploy", "staging", "--abort"))
    assert "rolled-back" in aborted.stderr
    assert "web-canary" not in deployments(testbed, project.namespace)
    newest = releases(project)[0]
    assert newest["status"] == "rolled-back" and "aborted with --abort at 0%" in str(
        newest["reason"]
    )
    assert serves(traefik.web, project.host, "v2")


def test_on_a_cluster_list_continue_finds_the_cluster_of_the_paused_canary_abort_takes_cluster(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    """The wave path of --continue/--abort, on the one cluster with a gateway and Prometheus
    (the environment's one Cluster): found without --cluster, and aborted with it."""
    ok(project.devkit("deploy", "regions"))  # v1: out at once
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)

    project.version("v2")
    project.env["TEST_STEPS"] = "50:manual,100:0"
    paused = ok(project.devkit("deploy", "regions"))
    assert "eu: paused release #2" in paused.stderr
    assert "regions: the canary in eu is paused: devkit deploy regions --continue" in paused.stderr
    assert "web-canary" in deployments(testbed, project.namespace)

    resumed = ok(project.devkit("deploy", "regions", "--continue", "--json"))
    assert "wave 1/1: cluster eu" in resumed.stderr
    assert "continuing its canary at step 2" in resumed.stderr
    doc = json.loads(resumed.stdout)
    assert [(w["cluster"], w["status"], w["release"]) for w in doc["waves"]] == [
        ("eu", "healthy", 2)
    ]
    wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
    assert "web-canary" not in deployments(testbed, project.namespace)

    nothing = project.devkit("deploy", "regions", "--continue")
    assert nothing.code == 3, nothing.stderr
    assert "no paused or interrupted canary to continue in any of its clusters (eu)" in (
        nothing.stderr
    )

    project.version("v3")
    ok(project.devkit("deploy", "regions"))
    aborted = ok(project.devkit("deploy", "regions", "--abort", "--cluster", "eu", "--json"))
    assert [(w["cluster"], w["status"]) for w in json.loads(aborted.stdout)["waves"]] == [
        ("eu", "aborted")
    ]
    assert "web-canary" not in deployments(testbed, project.namespace)
    assert serves(traefik.web, project.host, "v2")
    history = json.loads(ok(project.devkit("releases", "regions", "--json")).stdout)
    (eu,) = history["clusters"]
    assert [(r["number"], r["status"]) for r in eu["releases"]][:2] == [
        (3, "rolled-back"),
        (2, "healthy"),
    ]


def test_a_canary_killed_mid_step_is_resumed_with_continue_or_rolled_back_by_the_next_deploy(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)

    # killed at its second step: --continue resumes there
    project.version("v2")
    project.env["TEST_STEPS"] = "20:3,60:60,100:3"
    killed = watched(project, "deploy", "staging", kill_at="step 2/3")
    assert killed.code == -signal.SIGKILL
    assert "web-canary" in deployments(testbed, project.namespace)
    assert releases(project)[0]["status"] == "deploying"
    project.env["TEST_STEPS"] = "20:3,60:3,100:3"
    resumed = ok(project.devkit("deploy", "staging", "--continue"))
    assert "continuing its canary at step 2" in resumed.stderr
    assert "step 1/3" not in resumed.stderr
    wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
    second = releases(project)[0]
    assert second["number"] == 2 and second["status"] == "healthy"

    # killed again: the next plain deploy rolls it back (recorded interrupted), then deploys
    project.version("v3")
    project.env["TEST_STEPS"] = "20:3,60:60,100:3"
    killed = watched(project, "deploy", "staging", kill_at="step 2/3")
    assert killed.code == -signal.SIGKILL
    wait_for(
        "the stable or the canary to answer",
        lambda: serves(traefik.web, project.host, "v3") or serves(traefik.web, project.host, "v2"),
        10,
    )
    project.env["TEST_STEPS"] = "100:0"
    project.version("v4")
    after = ok(project.devkit("deploy", "staging"))
    assert "release #3: its canary is unfinished; rolling back to #2" in after.stderr
    history = {r["number"]: r for r in releases(project)}
    assert history[3]["status"] == "interrupted"
    assert "its canary was interrupted at 60%" in str(history[3]["reason"])
    assert history[4]["status"] == "healthy"
    wait_for("v4 for everyone", lambda: serves(traefik.web, project.host, "v4"), 10)
    assert "web-canary" not in deployments(testbed, project.namespace)


def test_a_bad_release_is_aborted_at_its_first_step_by_the_success_rate(
    project: Project, traefik: Forward, testbed: K8sTestbed, prometheus: ClusterPrometheus
) -> None:
    run, running, took_effect = aborted_by_a_check(project, traefik, testbed, "v2-bad", "success")
    assert "step 1 (10%): success-rate" in run.stderr and "FAILED" in run.stderr
    assert "step 2/3" not in run.stderr
    after = running.between(took_effect, time.monotonic())
    assert len(after) >= 100
    assert [h for h in after if h.status == 500] == []
    assert {h.version for h in after} == {"v1"}
    errors = [h for h in running.hits if h.status == 500]
    assert errors, "the bad version answered no 500 before the abort"
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "CanaryAbortedError" and error["exit_code"] == 1
    (failing,) = error["failing"]
    assert failing["name"] == "success-rate" and failing["value"] < 0.95
    newest = releases(project)[0]
    assert newest["status"] == "failed" and "success-rate" in str(newest["reason"])
    text = ok(project.devkit("releases", "staging")).stdout
    assert "step 1: 10% failed" in text and "success-rate (>= 0.95):" in text
    decided = run.when("aborting the canary")
    print(
        f"abort: took effect {took_effect - decided:.2f}s after devkit decided; success rate "
        f"{failing['value']:.3f}; {len(after)} requests after it, all v1, no 500"
    )


def test_a_latency_regression_is_aborted_by_the_latency_check(
    project: Project, traefik: Forward, testbed: K8sTestbed, prometheus: ClusterPrometheus
) -> None:
    run, running, took_effect = aborted_by_a_check(project, traefik, testbed, "v2-slow", "latency")
    assert "latency-p90" in run.stderr and "FAILED" in run.stderr
    (failing,) = json.loads(run.stdout)["error"]["failing"]
    assert failing["name"] == "latency-p90" and failing["value"] > 0.25
    after = running.between(took_effect, time.monotonic())
    assert len(after) >= 100 and {h.version for h in after} == {"v1"}
    assert releases(project)[0]["status"] == "failed"
    decided = run.when("aborting the canary")
    print(
        f"latency abort: p90 {failing['value']:.3f}s; took effect {took_effect - decided:.2f}s "
        "after devkit decided"
    )
