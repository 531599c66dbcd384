"""The worker against a real postgres and redis, fed by the real api."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import redis
from shop_harness import Api, Service, http, wait_until
from worker.main import JOBS_KEY


def _status(api: Api, order_id: int) -> str:
    status: str = http("GET", f"{api.url}/orders/{order_id}").body["status"]
    return status


def test_worker_processes_an_order(api: Api, start_worker: Callable[..., Service]) -> None:
    worker = start_worker()
    created = http("POST", f"{api.url}/orders", {"item": "kettle", "quantity": 1})
    assert created.status == 201
    order_id = created.body["id"]

    wait_until(
        lambda: _status(api, order_id) == "processed",
        f"order {order_id} to be processed",
        timeout=20,
        alive=worker.problem,
    )
    order = http("GET", f"{api.url}/orders/{order_id}").body
    assert order["processed_at"] is not None
    assert order["processed_at"] >= order["created_at"]
    wait_until(
        lambda: f"processed order {order_id} " in worker.log(), "the worker's log line", timeout=5
    )

    stats = http("GET", f"{api.url}/stats").body
    assert stats["orders"]["by_status"]["processed"] >= 1


def test_worker_survives_a_malformed_job(
    api: Api, start_worker: Callable[..., Service], redis_client: redis.Redis
) -> None:
    worker = start_worker()
    redis_client.lpush(JOBS_KEY, "not-a-number")
    order_id = http("POST", f"{api.url}/orders", {"item": "spoon", "quantity": 4}).body["id"]
    wait_until(
        lambda: _status(api, order_id) == "processed",
        f"order {order_id} to be processed after a bad job",
        timeout=20,
        alive=worker.problem,
    )
    assert "dropping malformed job 'not-a-number'" in worker.log()


def test_worker_skips_an_unknown_order(
    start_worker: Callable[..., Service], redis_client: redis.Redis
) -> None:
    worker = start_worker()
    redis_client.lpush(JOBS_KEY, "987654321")
    wait_until(
        lambda: "order 987654321 not found" in worker.log(),
        "the worker to skip a job for a missing order",
        timeout=20,
        alive=worker.problem,
    )


def test_sigterm_stops_an_idle_worker_promptly_with_exit_0(
    start_worker: Callable[..., Service],
) -> None:
    worker = start_worker()
    wait_until(
        lambda: "consuming shop:jobs" in worker.log(),
        "the worker to start",
        timeout=20,
        alive=worker.problem,
    )
    started = time.monotonic()
    assert worker.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5  # BRPOP times out every second
    assert "stopped after processing" in worker.log()
