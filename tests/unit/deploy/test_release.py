from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from blueprints import redis
from devkit import Blueprint, RefusedError, Swarm, plan
from devkit.delivery.deploy import promotion
from devkit.planning.images import relocate
from devkit.records.release import (
    Release,
    current,
    next_number,
    promotable,
    rollback_target,
    runs_already,
)

IMAGES = {"api": "reg/api@sha256:" + "1" * 64, "redis": "reg/redis@sha256:" + "2" * 64}


def release(number: int, status: Any = "healthy", env: str = "staging", **fields: Any) -> Release:
    base: dict[str, Any] = {
        "number": number, "project": "shop", "environment": env, "images": IMAGES,
        "plan_hash": "h1", "created": "2026-11-29T00:00:00Z", "by": "ci", "origin": "deploy",
        "status": status, "spec": {"services": {}},
    }  # fmt: skip
    return Release(**{**base, **fields})


def test_the_current_release_is_the_newest_healthy_one() -> None:
    history = [release(1), release(2), release(3, "rolled-back")]
    assert current(history) == history[1]
    assert next_number(history) == 4 and next_number([]) == 1


def test_promotion_takes_only_a_healthy_last_release() -> None:
    with pytest.raises(RefusedError, match="never been deployed") as never:
        promotable([], "staging")
    assert never.value.exit_code == 3
    with pytest.raises(RefusedError, match=r"\(#2\) is rolled-back: boom"):
        promotable([release(1), release(2, "rolled-back", reason="boom")], "staging")
    with pytest.raises(RefusedError, match="is deploying"):
        promotable([release(1), release(2, "deploying")], "staging")
    assert promotable([release(1), release(2)], "staging").number == 2


def test_the_destination_runs_it_already_only_with_the_same_images_and_plan() -> None:
    prod = [release(1, env="prod")]
    assert runs_already(prod, IMAGES, "h1") == prod[0]
    assert runs_already(prod, {**IMAGES, "api": "other"}, "h1") is None
    assert runs_already(prod, IMAGES, "h2") is None
    # A later failed attempt means the last promotion did not land: do it again.
    assert runs_already([*prod, release(2, "failed", env="prod")], IMAGES, "h1") is None


def test_rollback_restores_the_healthy_release_before_the_current_one() -> None:
    history = [release(1), release(2), release(3, "rolled-back")]
    assert rollback_target(history, "staging", None).number == 1
    assert rollback_target(history, "staging", 2).number == 2
    with pytest.raises(RefusedError, match="no release #9"):
        rollback_target(history, "staging", 9)
    with pytest.raises(RefusedError, match="no earlier healthy release"):
        rollback_target([release(1)], "staging", None)


def prod_plan():
    app = Blueprint("shop")
    app.use(redis())
    app.service("api", image="api:1")
    app.environment("prod", Swarm(registry="reg"))
    return plan(app, "prod")


def test_promotion_decision_lists_the_image_changes() -> None:
    dst = prod_plan()
    first = promotion([release(1)], [], "staging", dst)
    assert first.images == IMAGES and not first.nothing_to_do
    assert first.changes == {name: (None, ref) for name, ref in IMAGES.items()}
    landed = [release(1, env="prod", plan_hash=dst.hash)]
    assert promotion([release(1)], landed, "staging", dst).nothing_to_do


def test_promotion_refuses_a_source_without_an_image_for_every_service() -> None:
    partial = release(1, images={"api": IMAGES["api"]})
    with pytest.raises(RefusedError, match="no image for redis"):
        promotion([partial], [], "staging", prod_plan())


def test_promotion_to_another_registry_copies_each_image_by_the_same_digest() -> None:
    app = Blueprint("shop")
    app.use(redis())
    app.service("api", image="api:1")
    app.environment("prod", Swarm(registry="prod.example.com/shop/"))
    dst = plan(app, "prod")
    decided = promotion([release(1)], [], "staging", dst, src_registry="reg")
    assert decided.images == {
        "api": "prod.example.com/shop/api@sha256:" + "1" * 64,
        "redis": "prod.example.com/shop/redis@sha256:" + "2" * 64,
    }
    assert decided.copies == {n: (IMAGES[n], decided.images[n]) for n in IMAGES}
    assert decided.to_dict()["copies"]["api"] == {
        "from": IMAGES["api"],
        "to": decided.images["api"],
    }
    # The destination running the copies already: nothing to do.
    landed = [release(1, env="prod", plan_hash=dst.hash, images=decided.images)]
    assert promotion([release(1)], landed, "staging", dst, src_registry="reg").nothing_to_do
    # The same registry (however it is written): no copies.
    same = promotion([release(1)], [], "staging", prod_plan(), src_registry="reg/")
    assert same.images == IMAGES and same.copies == {}


def test_a_copy_keeps_the_path_below_the_source_registry_or_below_the_images_own_host() -> None:
    digest = "@sha256:" + "3" * 64
    assert relocate("a.io/team/shop-api" + digest, "a.io/team", "b.io") == "b.io/shop-api" + digest
    assert relocate("ghcr.io/acme/api" + digest, "a.io", "b.io/x") == "b.io/x/acme/api" + digest
    assert relocate("127.0.0.1:5000/lib/redis" + digest, "127.0.0.1:5000", "127.0.0.1:5002") == (
        "127.0.0.1:5002/lib/redis" + digest
    )


def test_a_record_written_before_policy_checks_still_reads() -> None:
    from devkit.records.release import from_record

    old = {
        "number": 4, "project": "shop", "environment": "prod", "images": IMAGES,
        "plan_hash": "h1", "created": "2026-10-01T00:00:00Z", "by": "ci",
        "origin": "promote from staging #3", "spec": {},
    }  # fmt: skip
    read = from_record(json.dumps(old), status="healthy", reason=None, finished=None)
    assert read.policy is None
    summary = read.summary()
    assert summary["source"] == {"environment": "staging", "release": 3}
    assert summary["policy"] is None and "spec" not in summary
    assert release(1).summary()["source"] is None


def test_a_release_records_its_policy_result() -> None:
    from devkit.records.release import PolicyResult

    checked = PolicyResult(passed=True, enforced=True, rules=("probes", "resources"))
    data = release(2, policy=checked).model_dump_json()
    again = Release.model_validate_json(data)
    assert again.policy == checked
    assert again.summary()["policy"] == {
        "passed": True, "enforced": True, "rules": ["probes", "resources"], "violations": [],
    }  # fmt: skip


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("30m", datetime(2026, 11, 30, 11, 30, tzinfo=UTC)),
        ("12h", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
        ("7d", datetime(2026, 11, 23, 12, 0, tzinfo=UTC)),
        ("2w", datetime(2026, 11, 16, 12, 0, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:00:00Z", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T09:00:00+01:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ],
)
def test_since_takes_a_duration_or_a_date(value: str, moment: datetime) -> None:
    from devkit.records.release import since

    assert since(value, NOW) == moment


def test_since_refuses_what_is_neither_and_filters_by_creation() -> None:
    from devkit.errors import UserError
    from devkit.records.release import created_since, since

    with pytest.raises(UserError, match='--since "yesterday" is neither a duration nor a date'):
        since("yesterday", NOW)
    history = [
        release(1, created="2026-11-01T00:00:00Z"),
        release(2, created="2026-11-29T23:59:59Z"),
        release(3, created="2026-11-30T11:00:00Z"),
    ]
    assert [r.number for r in created_since(history, since("12h", NOW))] == [3]
    assert [r.number for r in created_since(history, since("2026-11-29", NOW))] == [2, 3]


def test_a_release_records_its_plans_cost_estimate() -> None:
    from devkit import Resources
    from devkit.delivery.cost import default_sheet, release_cost
    from devkit.planning.cost import estimate
    from devkit.planning.pricesheet import parse_sheet
    from devkit.profiles import spot
    from devkit.records.release import ReleaseCost

    app = Blueprint("shop")
    app.service("api", image="python:3.11-slim", resources=Resources(cpu="500m", memory="1Gi"))
    app.environment("staging", Swarm(), replicas=2)
    app.environment("cheap", Swarm(), profile=spot())
    planned = plan(app, "staging")
    sheet = default_sheet()
    recorded = release_cost(planned, sheet)
    expected = estimate(planned, sheet)
    assert recorded == ReleaseCost(
        currency="USD", min=float(round(expected.total_min, 2)),
        max=float(round(expected.total_max, 2)), prices=f"{sheet.name}, {sheet.date}",
    )  # fmt: skip
    assert recorded.min > 0
    again = Release.model_validate_json(release(3, cost=recorded).model_dump_json())
    assert again.cost == recorded and again.summary()["cost"]["currency"] == "USD"
    # a sheet that cannot price it (no spot prices for a spot environment): nothing recorded
    no_spot = parse_sheet({"on_demand": {"cpu": 0.03, "memory": 0.004}}, "mine.toml")
    assert release_cost(plan(app, "cheap"), no_spot) is None
    assert release(4).cost is None  # records written before costs were recorded
