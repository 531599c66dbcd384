"""The canary's checks and decisions, on plain values and on answers recorded from Debian's
prometheus 2.42 (devkit-local/prometheus:2.42, its /api/v1/query; in prometheus/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit import Canary, Latency, Query, Step, SuccessRate
from devkit.delivery import canary as engine
from devkit.delivery.checks import CheckQueryError, Subject, describe, judge, promql, value_of
from devkit.records.release import CanaryRecord, CheckResult, Release, StepResult

RECORDED = Path(__file__).parent / "prometheus"
SUBJECT = Subject(
    namespace="shop-prod", service="api", canary="api-canary",
    backend=".*-svc-shop-prod-api-canary-[0-9]+@kubernetesgateway",
)  # fmt: skip


def answer(name: str) -> str:
    return (RECORDED / f"{name}.json").read_text()


def test_success_rate_asks_the_share_of_the_canarys_requests_without_a_5xx() -> None:
    query = promql(SuccessRate(min=0.99, window=30), SUBJECT)
    b = SUBJECT.backend
    good = (
        f'rate(traefik_service_requests_total{{service=~"{b}",code!~"5.."}}[30s]) or '
        f'rate(traefik_service_requests_total{{exported_service=~"{b}",code!~"5.."}}[30s])'
    )
    total = (
        f'rate(traefik_service_requests_total{{service=~"{b}"}}[30s]) or '
        f'rate(traefik_service_requests_total{{exported_service=~"{b}"}}[30s])'
    )
    assert query == f"sum({good}) / sum({total})"


def test_latency_asks_the_percentile_of_the_canarys_duration_histogram() -> None:
    query = promql(Latency(max=0.3, percentile=95, window=20), SUBJECT)
    metric = "traefik_service_request_duration_seconds_bucket"
    assert query == (
        f'histogram_quantile(0.95, sum by (le) (rate({metric}{{service=~"{SUBJECT.backend}"}}'
        f'[20s]) or rate({metric}{{exported_service=~"{SUBJECT.backend}"}}[20s])))'
    )


def test_a_query_names_the_namespace_service_and_canary_by_placeholders() -> None:
    check = Query(
        name="errors", query='sum(rate(errors{ns="$namespace",app="$canary"}[1m]))', max=1
    )
    assert promql(check, SUBJECT) == 'sum(rate(errors{ns="shop-prod",app="api-canary"}[1m]))'


@pytest.mark.parametrize(
    ("recorded", "value"),
    [
        ("success_rate", 1.0),
        ("latency_p99", 0.099),
        ("scalar", 1.0),
        ("no_data", None),
        ("nan", None),
    ],
)
def test_prometheus_answers_read_as_one_number_or_no_data(
    recorded: str, value: float | None
) -> None:
    assert value_of(answer(recorded), "q") == value


def test_a_query_of_several_series_is_refused_with_how_to_aggregate() -> None:
    with pytest.raises(CheckQueryError) as caught:
        value_of(answer("series"), "prometheus_http_requests_total")
    assert "returned 2 series; a check needs one number" in caught.value.message
    assert any("sum(...)" in line for line in caught.value.details)


def test_a_query_prometheus_refuses_says_why() -> None:
    with pytest.raises(CheckQueryError, match="parse error: unclosed left parenthesis"):
        value_of(answer("bad_query"), "sum(rate(up[30s]")


def test_verdicts_by_bound_and_no_data_is_not_judged() -> None:
    rate = SuccessRate(min=0.99)
    assert judge(rate, 0.995, "t").passed is True
    assert judge(rate, 0.9, "t").passed is False
    assert judge(rate, None, "t").passed is None
    slow = judge(Latency(max=0.25), 0.7, "t")
    assert slow.passed is False and describe(slow) == "latency-p99 0.7 (<= 0.25s) FAILED"
    band = Query(name="q", query="x", min=1, max=2)
    assert [judge(band, v, "t").passed for v in (0.5, 1.5, 3)] == [False, True, False]
    assert describe(judge(rate, None, "t")) == "success-rate: no data yet"


def test_checks_are_evaluated_every_interval_and_at_the_end_of_the_pause() -> None:
    assert engine.evaluation_times(30, 10) == [10, 20, 30]
    assert engine.evaluation_times(25, 10) == [10, 20, 25]
    assert engine.evaluation_times(5, 10) == [5]
    assert engine.evaluation_times(0, 10) == []


def test_failed_evaluations_abort_beyond_the_budget_and_unjudged_checks_are_named() -> None:
    canary = Canary(service="api", steps=[10, 100], checks=[SuccessRate(), Latency(max=1)],
                    failures=1, prometheus="http://127.0.0.1:9090")  # fmt: skip
    record = CanaryRecord(service="api", stable=1, failed_checks=1)
    assert not engine.over_budget(canary, record)
    assert engine.over_budget(canary, record.model_copy(update={"failed_checks": 2}))
    seen = [CheckResult(name="success-rate", value=1.0, passed=True),
            CheckResult(name="latency-p99", value=None, passed=None)]  # fmt: skip
    assert engine.unjudged(canary, seen) == ["latency-p99"]


def _release(number: int, status: str, canary: CanaryRecord | None = None) -> Release:
    return Release(
        number=number, project="shop", environment="prod", images={}, plan_hash="h",
        created="2026-11-30T10:00:00Z", by="ci", origin="deploy", status=status,
        canary=canary,
    )  # fmt: skip


def test_continue_resumes_after_the_last_completed_step() -> None:
    record = CanaryRecord(
        service="api", stable=1,
        steps=(StepResult(weight=10, started="t", status="passed"),
               StepResult(weight=50, started="t", status="running")),
    )  # fmt: skip
    assert record.completed == 1 and record.weight == 50
    paused = record.model_copy(
        update={"steps": (record.steps[0], record.steps[1].model_copy(update={"status": "paused"}))}
    )
    assert paused.completed == 2
    history = [
        _release(1, "healthy"),
        _release(2, "failed", record),
        _release(3, "deploying", record),
    ]
    chosen, stable = engine.resumable(history, "prod")
    assert (chosen.number, stable.number) == (3, 1)
    assert engine.unfinished_canary(history[:2]) is None


def test_the_lock_lasts_as_long_as_the_canary_may() -> None:
    canary = Canary(service="api", steps=[Step(10, pause=600), Step(50, pause="manual"), 100])
    assert engine.lock_seconds(canary, 300) == 600 + 60 + 3 * 10 + 600 + 600
