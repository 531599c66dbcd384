"""The api against a real postgres and redis, through real HTTP."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
from collections.abc import Callable, Mapping

import pytest
import redis
from app.jobs import JOBS_KEY
from shop_harness import Api, http, wait_until

from devkit.testing import Database, PostgresContainer, Stack


def test_healthz_ok_when_postgres_and_redis_answer(api: Api) -> None:
    reply = http("GET", f"{api.url}/healthz")
    assert reply.status == 200
    assert reply.body == {"status": "ok"}
    assert reply.headers["Content-Type"] == "application/json"


def test_create_order_stores_it_and_queues_it(api: Api, redis_client: redis.Redis) -> None:
    created = http("POST", f"{api.url}/orders", {"item": "teapot", "quantity": 3})
    assert created.status == 201
    assert created.body["status"] == "pending"
    order_id = created.body["id"]
    assert isinstance(order_id, int)
    assert created.headers["Location"] == f"/orders/{order_id}"

    fetched = http("GET", f"{api.url}/orders/{order_id}")
    assert fetched.status == 200
    order = fetched.body
    assert order["id"] == order_id
    assert order["item"] == "teapot"
    assert order["quantity"] == 3
    assert re.match(r"\d{4}-\d\d-\d\dT", order["created_at"])
    if order["status"] == "pending":
        # No worker took it yet (none runs in this test), so it waits in the queue.
        assert order["processed_at"] is None
        queued = redis_client.lrange(JOBS_KEY, 0, -1)
        assert str(order_id).encode() in queued
    else:  # a worker that runs outside these tests was faster
        assert order["status"] == "processed"


def test_order_ids_increase(api: Api) -> None:
    first = http("POST", f"{api.url}/orders", {"item": "cup", "quantity": 1}).body["id"]
    second = http("POST", f"{api.url}/orders", {"item": "cup", "quantity": 2}).body["id"]
    assert second > first


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'"teapot"', "JSON object"),
        (b"{}", "missing field(s): item, quantity"),
        (b'{"quantity": 1}', "missing field(s): item"),
        (b'{"item": "teapot"}', "missing field(s): quantity"),
        (b'{"item": "", "quantity": 1}', "item must be a non-empty string"),
        (b'{"item": "   ", "quantity": 1}', "item must be a non-empty string"),
        (b'{"item": 7, "quantity": 1}', "item must be a non-empty string"),
        (b'{"item": "teapot", "quantity": 0}', "greater than 0"),
        (b'{"item": "teapot", "quantity": -2}', "greater than 0"),
        (b'{"item": "teapot", "quantity": "3"}', "must be an integer"),
        (b'{"item": "teapot", "quantity": 1.5}', "must be an integer"),
        (b'{"item": "teapot", "quantity": true}', "must be an integer"),
        (b'{"item": "teapot", "quantity": 99999999999}', "at most"),
        (b'{"item": "' + b"x" * 201 + b'", "quantity": 1}', "at most 200"),
    ],
)
def test_bad_order_is_rejected_with_400(api: Api, raw: bytes, message: str) -> None:
    before = http("GET", f"{api.url}/stats").body["orders"]["total"]
    reply = http("POST", f"{api.url}/orders", raw=raw)
    assert reply.status == 400
    assert message in reply.body["error"]
    assert http("GET", f"{api.url}/stats").body["orders"]["total"] == before


def test_oversized_body_is_rejected(api: Api) -> None:
    reply = http("POST", f"{api.url}/orders", raw=b" " * (64 * 1024 + 1))
    assert reply.status == 413


def test_unknown_order_is_404(api: Api) -> None:
    reply = http("GET", f"{api.url}/orders/987654321")
    assert reply.status == 404
    assert reply.body == {"error": "order 987654321 not found"}


@pytest.mark.parametrize("path", ["/orders/abc", "/orders/-1", "/nope", "/orders/1/x"])
def test_unknown_paths_are_404(api: Api, path: str) -> None:
    reply = http("GET", f"{api.url}{path}")
    assert reply.status == 404
    assert "error" in reply.body


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/orders", "POST"),
        ("POST", "/healthz", "GET"),
        ("POST", "/orders/1", "GET"),
        ("DELETE", "/orders/1", "GET"),
        ("PUT", "/orders", "POST"),
    ],
)
def test_wrong_method_is_405(api: Api, method: str, path: str, allow: str) -> None:
    reply = http(method, f"{api.url}{path}", {})
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    assert reply.body == {"error": f"use {allow}"}


def test_http_server_errors_are_json(api: Api) -> None:
    reply = http("OPTIONS", f"{api.url}/orders")  # a method http.server does not know here
    assert reply.status == 501
    assert "error" in reply.body


def test_stats_counts_orders_and_hits(api: Api) -> None:
    first = http("GET", f"{api.url}/stats")
    assert first.status == 200
    assert http("POST", f"{api.url}/orders", {"item": "saucer", "quantity": 2}).status == 201
    second = http("GET", f"{api.url}/stats").body

    assert second["hits"] == first.body["hits"] + 1  # INCR in redis
    assert second["orders"]["total"] == first.body["orders"]["total"] + 1  # count in postgres
    by_status = second["orders"]["by_status"]
    assert sum(by_status.values()) == second["orders"]["total"]
    assert set(by_status) <= {"pending", "processed"}


def test_one_log_line_per_request(api: Api) -> None:
    marker = f"/orders/{time.time_ns()}"
    http("GET", f"{api.url}{marker}")
    http("GET", f"{api.url}{marker}")

    def logged_twice() -> bool:
        return api.log().count(f'"GET {marker} HTTP/1.1" 404') == 2

    wait_until(logged_twice, "two access-log lines", timeout=5)


def test_healthz_reports_which_backend_failed(
    service_env: dict[str, str], start_api: Callable[[Mapping[str, str]], Api]
) -> None:
    # Postgres is fine; redis points at a port where nothing listens.
    broken = start_api({**service_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    broken.wait_listening()
    reply = http("GET", f"{broken.url}/healthz")
    assert reply.status == 503
    assert reply.body["status"] == "unavailable"
    assert set(reply.body["failed"]) == {"redis"}

    # Creating an order stores it but cannot queue it: say so, with 503.
    created = http("POST", f"{broken.url}/orders", {"item": "lid", "quantity": 1})
    assert created.status == 503
    assert "could not be queued" in created.body["error"]


def test_healthz_reports_postgres_failure(
    devkit_stack: Stack,
    devkit_database: Database,
    service_env: dict[str, str],
    start_api: Callable[[Mapping[str, str]], Api],
) -> None:
    # An api on a database of its own (fresh for this test), which is then dropped under it.
    api = start_api({**service_env, "DATABASE_URL": devkit_database.url})
    api.wait_healthy()
    devkit_stack.of_kind(PostgresContainer).drop_database(devkit_database.name)
    reply = http("GET", f"{api.url}/healthz")
    assert reply.status == 503
    assert set(reply.body["failed"]) == {"postgres"}
    assert f'database "{devkit_database.name}" does not exist' in reply.body["failed"]["postgres"]


def test_api_gives_up_when_postgres_never_answers(
    service_env: dict[str, str], start_api: Callable[[Mapping[str, str]], Api]
) -> None:
    env = {**service_env, "DATABASE_URL": "postgresql://x@127.0.0.1:1/x", "STARTUP_TIMEOUT": "1"}
    api = start_api(env)
    wait_until(lambda: api.proc.poll() is not None, "the api to give up", timeout=20)
    assert api.proc.returncode == 1
    assert "postgres unavailable" in api.log()


def test_api_rejects_bad_configuration(start_api: Callable[[Mapping[str, str]], Api]) -> None:
    api = start_api({"DATABASE_URL": "", "REDIS_URL": "redis://127.0.0.1:1"})
    wait_until(lambda: api.proc.poll() is not None, "the api to exit", timeout=20)
    assert api.proc.returncode == 2
    assert "DATABASE_URL is not set" in api.log()


def test_sigterm_stops_the_api_promptly_with_exit_0(
    service_env: dict[str, str], start_api: Callable[[Mapping[str, str]], Api]
) -> None:
    api = start_api(service_env)
    api.wait_healthy()
    started = time.monotonic()
    assert api.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    assert "received SIGTERM" in api.log()


def test_metrics_count_requests_by_route_and_status_code(api: Api) -> None:
    created = http("POST", f"{api.url}/orders", {"item": "kettle", "quantity": 1}).body["id"]
    http("GET", f"{api.url}/orders/{created}")
    http("GET", f"{api.url}/orders/987654322")
    with urllib.request.urlopen(f"{api.url}/metrics", timeout=10) as reply:  # noqa: S310
        assert reply.headers["Content-Type"].startswith("text/plain; version=")
        text = reply.read().decode()
    samples = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert float(samples['http_requests_total{code="201",method="POST",route="/orders"}']) >= 1
    # one series per route template, not per order id
    assert float(samples['http_requests_total{code="200",method="GET",route="/orders/{id}"}']) >= 1
    assert float(samples['http_requests_total{code="404",method="GET",route="/orders/{id}"}']) >= 1
    assert not [name for name in samples if f"/orders/{created}" in name]
    bucket = 'http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/orders"}'
    assert float(samples[bucket]) >= 1
