"""Postgres access: schema, orders, counts."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

log = logging.getLogger(__name__)

# Same statement as the worker's copy (a test checks they stay identical).
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS orders (
    id           serial      PRIMARY KEY,
    item         text        NOT NULL,
    quantity     integer     NOT NULL CHECK (quantity > 0),
    status       text        NOT NULL DEFAULT 'pending',
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
)
"""
# Serialises CREATE TABLE between api and worker replicas that start together:
# two concurrent CREATE TABLE IF NOT EXISTS can otherwise fail on pg_type.
SCHEMA_LOCK_ID = 7_345_001

CONNECT_TIMEOUT_S = 5


PING_TIMEOUT_S = 2  # keep /healthz quick when postgres is unreachable


def connect(url: str, timeout: int = CONNECT_TIMEOUT_S) -> psycopg.Connection[tuple[Any, ...]]:
    """A new autocommit connection; each statement commits on its own."""
    return psycopg.connect(url, autocommit=True, connect_timeout=timeout)


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the orders table if missing; idempotent and safe to race."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
        conn.execute(SCHEMA_SQL)


def wait_for_schema(url: str, timeout: float, stop: threading.Event) -> bool:
    """Retry ``ensure_schema`` until it succeeds, ``timeout`` passes or ``stop`` is set.

    Returns True once the schema exists, False if stopped; raises the last
    error when the time runs out.
    """
    deadline = time.monotonic() + timeout
    delay = 0.2
    while not stop.is_set():
        try:
            with connect(url) as conn:
                ensure_schema(conn)
            return True
        except psycopg.OperationalError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("postgres not ready (%s); retrying in %.1fs", _oneline(exc), delay)
            stop.wait(delay)
            delay = min(delay * 2, 2.0)
    return False


def ping(url: str) -> None:
    """Raise unless postgres answers SELECT 1."""
    with connect(url, PING_TIMEOUT_S) as conn:
        row = conn.execute("SELECT 1").fetchone()
    if row is None or row[0] != 1:
        raise RuntimeError(f"unexpected answer to SELECT 1: {row!r}")


def insert_order(url: str, item: str, quantity: int) -> int:
    with connect(url) as conn:
        row = conn.execute(
            "INSERT INTO orders (item, quantity) VALUES (%s, %s) RETURNING id",
            (item, quantity),
        ).fetchone()
    if row is None:  # pragma: no cover - INSERT ... RETURNING always returns a row
        raise RuntimeError("INSERT returned no id")
    order_id: int = row[0]
    return order_id


def get_order(url: str, order_id: int) -> dict[str, Any] | None:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT id, item, quantity, status, created_at, processed_at FROM orders WHERE id = %s",
            (order_id,),
        ).fetchone()
    if row is None:
        return None
    return {key: _jsonable(value) for key, value in row.items()}


def count_by_status(url: str) -> dict[str, int]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status"
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _oneline(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
