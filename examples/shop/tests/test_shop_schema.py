"""The orders table: both services create it, identically, even when they race."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
import pytest
import worker.main
from app import db
from shop_harness import Api, Service, wait_until


def test_api_and_worker_share_one_ddl() -> None:
    assert db.SCHEMA_SQL == worker.main.SCHEMA_SQL
    assert db.SCHEMA_LOCK_ID == worker.main.SCHEMA_LOCK_ID


@pytest.fixture
def fresh_schema(database_url: str) -> Iterator[tuple[str, str]]:
    """An empty schema, and a DATABASE_URL whose search_path points at it."""
    name = f"shop_test_{time.monotonic_ns()}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}options=-c%20search_path%3D{name}"
    try:
        yield name, url
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _table_exists(database_url: str, schema: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name = 'orders'",
            (schema,),
        ).fetchone()
    return row is not None and row[0] == 1


def test_concurrent_schema_creation_is_safe(
    database_url: str, fresh_schema: tuple[str, str]
) -> None:
    schema, url = fresh_schema
    creators: list[Callable[[psycopg.Connection[Any]], None]] = [
        db.ensure_schema,
        worker.main.ensure_schema,
    ] * 6
    barrier = threading.Barrier(len(creators), timeout=30)
    errors: list[BaseException] = []

    def create(ensure: Callable[[psycopg.Connection[Any]], None]) -> None:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                barrier.wait()
                ensure(conn)
                ensure(conn)  # and again: idempotent
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(ensure,)) for ensure in creators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert _table_exists(database_url, schema)


def test_each_service_creates_the_table_on_start(
    database_url: str,
    service_env: dict[str, str],
    fresh_schema: tuple[str, str],
    start_api: Callable[[Mapping[str, str]], Api],
    start_worker: Callable[..., Service],
) -> None:
    schema, url = fresh_schema
    # Both start at once against the empty schema.
    started_worker = start_worker(DATABASE_URL=url)
    api = start_api({**service_env, "DATABASE_URL": url})
    api.wait_healthy()
    wait_until(
        lambda: "consuming shop:jobs" in started_worker.log(),
        "the worker to start",
        alive=started_worker.problem,
    )
    assert _table_exists(database_url, schema)
