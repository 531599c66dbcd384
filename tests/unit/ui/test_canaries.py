"""The canary panel's data, shaped from the release record the canary engine writes (and
`deploy --continue` reads): the steps done, current and pending, the traffic weight now, each
check's latest value against its threshold, and the decision with its time."""

from __future__ import annotations

from devkit import Canary, Latency, Step, SuccessRate
from devkit.records.release import CanaryRecord, CheckResult, Release, Status, StepResult
from devkit.ui.canaries import canary_state

CANARY = Canary(
    service="web",
    steps=[Step(10, pause=30), Step(50, pause="manual"), Step(100, pause=30)],
    checks=[SuccessRate(min=0.95, window=10), Latency(max=0.25, percentile=90, window=10)],
    failures=1,
    prometheus="devkit-monitoring/prometheus:9090",
)


def release(
    number: int, status: Status, canary: CanaryRecord | None, *, finished: str | None = None,
    reason: str = "",
) -> Release:  # fmt: skip
    return Release(
        number=number, project="cn", environment="staging", images={}, plan_hash="h",
        created="2026-11-30T18:00:00Z", by="ci", origin="deploy", status=status,
        canary=canary, finished=finished, reason=reason,
    )  # fmt: skip


def ok(name: str, value: float, bound: str, at: str) -> CheckResult:
    return CheckResult(name=name, value=value, passed=True, bound=bound, at=at)


def test_a_running_canary_shows_its_steps_weight_and_the_latest_value_of_each_check() -> None:
    record = CanaryRecord(
        service="web", stable=1,
        steps=(
            StepResult(weight=10, started="2026-11-30T18:00:05Z", status="passed",
                       finished="2026-11-30T18:00:35Z",
                       checks=(ok("success-rate", 0.97, ">= 0.95", "2026-11-30T18:00:20Z"),
                               CheckResult(name="latency-p90", value=None, passed=None,
                                           bound="<= 0.25s", at="2026-11-30T18:00:20Z"))),
            StepResult(weight=50, started="2026-11-30T18:00:36Z",
                       checks=(CheckResult(name="success-rate", value=0.91, passed=False,
                                           bound=">= 0.95", at="2026-11-30T18:00:46Z"),)),
        ),
        failed_checks=1,
    )  # fmt: skip
    state = canary_state(
        "staging", CANARY, [release(1, "healthy", None), release(2, "deploying", record)]
    )
    assert state is not None
    assert (state["release"], state["stable"], state["service"]) == (2, 1, "web")
    assert state["phase"] == "running" and state["in_progress"] and state["decision"] is None
    assert state["weight"] == 50 and state["current"] == 1
    assert [(s["weight"], s["state"], s["pause"]) for s in state["steps"]] == [
        (10, "done", 30.0), (50, "current", "manual"), (100, "pending", 30.0),
    ]  # fmt: skip
    assert [s["evaluations"] for s in state["steps"]] == [2, 1, 0]
    rate, latency = state["checks"]
    assert rate == {
        "name": "success-rate", "describe": "success rate >= 0.95 over 10s", "bound": ">= 0.95",
        "value": 0.91, "passed": False, "at": "2026-11-30T18:00:46Z", "step": 1, "failed": 1,
        "verdict": "fail", "min": 0.95, "max": None,
        # every evaluation, for the plot of its values against the threshold
        "history": [{"step": 0, "value": 0.97, "passed": True},
                    {"step": 1, "value": 0.91, "passed": False}],
    }  # fmt: skip
    assert (latency["value"], latency["verdict"], latency["bound"]) == (None, "waiting", "<= 0.25s")
    assert (latency["min"], latency["max"]) == (None, 0.25)
    assert latency["history"] == [{"step": 0, "value": None, "passed": None}]
    assert (state["failed_checks"], state["failures_allowed"]) == (1, 1)
    assert state["serving"] is None
    assert state["commands"] is None  # only a paused canary offers continue and abort


def test_a_paused_canary_offers_the_exact_continue_and_abort_commands() -> None:
    record = CanaryRecord(
        service="web", stable=3,
        steps=(StepResult(weight=10, started="t", status="passed"),
               StepResult(weight=50, started="t", status="paused")),
    )  # fmt: skip
    paused = release(4, "paused", record, finished="2026-11-30T18:05:00Z",
                     reason="paused at step 2 (50%)")  # fmt: skip
    state = canary_state("staging", CANARY, [release(3, "healthy", None), paused])
    assert state is not None
    assert state["phase"] == "paused" and state["in_progress"] and state["weight"] == 50
    assert [s["state"] for s in state["steps"]] == ["done", "paused", "pending"]
    assert state["current"] == 1
    assert state["decision"] == {
        "what": "paused", "at": "2026-11-30T18:05:00Z", "reason": "paused at step 2 (50%)",
    }  # fmt: skip
    assert state["commands"] == {
        "continue": ["deploy", "staging", "--continue"],
        "abort": ["deploy", "staging", "--abort"],
    }


def test_a_decided_canary_shows_promoted_or_aborted_with_when_and_no_traffic_left_on_it() -> None:
    passed = CanaryRecord(  # its second step paused, then was continued
        service="web", stable=1,
        steps=tuple(StepResult(weight=w, started="t", status=s)
                    for w, s in ((10, "passed"), (50, "paused"), (100, "passed"))),
    )  # fmt: skip
    failed = CanaryRecord(
        service="web", stable=2,
        steps=(StepResult(weight=10, started="t", status="failed"),), failed_checks=2,
    )  # fmt: skip
    history = [
        release(1, "healthy", None),
        release(2, "healthy", passed, finished="2026-11-30T18:10:00Z"),
    ]
    promoted = canary_state("staging", CANARY, history)
    assert promoted is not None
    assert promoted["phase"] == "promoted" and not promoted["in_progress"]
    assert promoted["weight"] == 0 and promoted["current"] is None
    assert promoted["serving"] == 2  # the new version is the stable one now
    assert promoted["decision"] == {"what": "promoted", "at": "2026-11-30T18:10:00Z", "reason": ""}
    assert [s["state"] for s in promoted["steps"]] == ["done", "done", "done"]
    assert [s["continued"] for s in promoted["steps"]] == [False, True, False]

    why = "canary aborted: step 1 (10%): success-rate 0.6 (>= 0.95) FAILED; rolled back to #2"
    history.append(release(3, "failed", failed, finished="2026-11-30T18:20:00Z", reason=why))
    history.append(release(4, "healthy", None))  # a later release without a canary
    aborted = canary_state("staging", CANARY, history)
    assert aborted is not None
    assert (aborted["release"], aborted["phase"], aborted["weight"]) == (3, "aborted", 0)
    assert aborted["serving"] == 2  # the stable release it ran beside
    assert aborted["decision"] == {"what": "aborted", "at": "2026-11-30T18:20:00Z", "reason": why}
    assert [s["state"] for s in aborted["steps"]] == ["failed", "pending", "pending"]


def test_an_unfinished_canary_is_shown_before_a_newer_decided_one_and_none_without_any() -> None:
    assert canary_state("staging", CANARY, [release(1, "healthy", None)]) is None
    record = CanaryRecord(service="web", stable=1)
    starting = canary_state("staging", CANARY, [release(1, "healthy", None),
                                                release(2, "deploying", record)])  # fmt: skip
    assert starting is not None
    assert starting["weight"] == 0 and starting["current"] is None
    assert [s["state"] for s in starting["steps"]] == ["pending"] * 3
    assert [c["verdict"] for c in starting["checks"]] == ["waiting", "waiting"]


def test_steps_recorded_beyond_todays_declaration_are_shown_as_recorded() -> None:
    record = CanaryRecord(
        service="web", stable=1,
        steps=tuple(StepResult(weight=w, started="t", status="passed") for w in (5, 20, 60, 80)),
    )  # fmt: skip
    state = canary_state("staging", CANARY, [release(2, "healthy", record, finished="x")])
    assert state is not None
    assert [(s["weight"], s["pause"]) for s in state["steps"]] == [
        (5, 30.0), (20, "manual"), (60, 30.0), (80, None),
    ]  # fmt: skip


def test_an_environment_with_a_canary_offers_continue_and_abort_among_the_pages_commands() -> None:
    from devkit import Blueprint, Gateway, Kubernetes, Port, Route
    from devkit.delivery.cost import default_sheet
    from devkit.ui.environments import describe

    app = Blueprint("shop")
    app.service("web", image="shop/web:2",
                ports={"http": Port(8000, routes=Route(hosts="shop.example.com"))})  # fmt: skip
    app.environment("staging", Kubernetes(context="kind", gateway=Gateway(name="public", namespace="edge")),
                    canary=CANARY)  # fmt: skip
    app.environment(
        "prod", Kubernetes(context="prod", gateway=Gateway(name="public", namespace="edge"))
    )
    staging, prod = describe(app, default_sheet())
    assert staging["canary"] == {
        "service": "web", "steps": ["10% for 30s", "50% until --continue", "100% for 30s"],
    }  # fmt: skip
    assert staging["commands"]["continue"] == ["deploy", "staging", "--continue"]
    assert staging["commands"]["abort"] == ["deploy", "staging", "--abort"]
    assert "canary" not in prod and "continue" not in prod["commands"]


def test_a_check_recorded_but_no_longer_declared_is_shown_as_recorded() -> None:
    record = CanaryRecord(
        service="web", stable=1,
        steps=(StepResult(weight=10, started="t", status="failed",
                          checks=(CheckResult(name="queue-depth", value=140.0, passed=False,
                                              bound=">= 1 and <= 100", at="t2"),)),),
    )  # fmt: skip
    state = canary_state("staging", CANARY, [release(2, "failed", record, finished="t3")])
    assert state is not None
    assert [c["name"] for c in state["checks"]] == ["success-rate", "latency-p90", "queue-depth"]
    queue = state["checks"][2]
    assert (queue["describe"], queue["min"], queue["max"]) == ("queue-depth", 1.0, 100.0)
    assert (queue["value"], queue["verdict"], queue["failed"]) == (140.0, "fail", 1)
