"""Loop: BRPOP an order id from redis, mark that order processed in postgres."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import psycopg
import redis

log = logging.getLogger("shop.worker")

JOBS_KEY = "shop:jobs"
POP_TIMEOUT_S = 1  # short, so a SIGTERM is noticed within about a second
CONNECT_TIMEOUT_S = 5

# Same statement as the api's copy (a test checks they stay identical).
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
SCHEMA_LOCK_ID = 7_345_001  # the api takes the same advisory lock

MARK_PROCESSED_SQL = (
    "UPDATE orders SET status = 'processed', processed_at = now()"
    " WHERE id = %s AND status = 'pending'"
)


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the orders table if missing; idempotent and safe to race."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
        conn.execute(SCHEMA_SQL)


class Worker:
    def __init__(self, database_url: str, redis_url: str, stop: threading.Event) -> None:
        self.database_url = database_url
        self.stop = stop
        # socket_timeout must exceed the BRPOP timeout.
        self.redis = redis.Redis.from_url(
            redis_url, socket_connect_timeout=3, socket_timeout=POP_TIMEOUT_S + 5
        )
        self._pg: psycopg.Connection[Any] | None = None
        self.processed = 0

    def pg(self) -> psycopg.Connection[Any]:
        if self._pg is None or self._pg.closed:
            self._pg = psycopg.connect(
                self.database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._pg

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        self.redis.close()

    def wait_for_schema(self, timeout: float) -> bool:
        """Retry until the table exists (True), ``stop`` is set (False) or time is up (raise)."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while not self.stop.is_set():
            try:
                ensure_schema(self.pg())
                return True
            except psycopg.OperationalError as exc:
                self._drop_pg()
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("postgres not ready (%s); retrying in %.1fs", _describe(exc), delay)
                self.stop.wait(delay)
                delay = min(delay * 2, 2.0)
        return False

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                self.step()
                backoff = 0.5
            except (redis.RedisError, psycopg.Error, OSError) as exc:
                log.error("%s; retrying in %.1fs", _describe(exc), backoff)
                self._drop_pg()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def step(self) -> None:
        """Handle at most one job; return after POP_TIMEOUT_S when the queue is empty."""
        popped: object = self.redis.brpop([JOBS_KEY], timeout=POP_TIMEOUT_S)
        if popped is None:
            return
        raw = _job_payload(popped)
        try:
            order_id = int(raw)
        except ValueError:
            log.error("dropping malformed job %r", raw)
            return
        started = time.monotonic()
        try:
            updated = self.pg().execute(MARK_PROCESSED_SQL, (order_id,)).rowcount
        except psycopg.Error:
            # Put the job back where BRPOP takes from, so it is next, then let run() back off.
            self.redis.rpush(JOBS_KEY, str(order_id))
            raise
        elapsed_ms = (time.monotonic() - started) * 1000
        if updated:
            self.processed += 1
            log.info("processed order %d in %.1fms", order_id, elapsed_ms)
        else:
            log.warning("order %d not found or already processed; skipped", order_id)

    def _drop_pg(self) -> None:
        if self._pg is not None:
            try:
                self._pg.close()
            finally:
                self._pg = None


def _job_payload(popped: object) -> str:
    """BRPOP answers ``(key, value)``; return the value as text."""
    if not isinstance(popped, (list, tuple)) or len(popped) != 2:
        raise TypeError(f"unexpected BRPOP reply: {popped!r}")
    value = popped[1]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _env(name: str, schemes: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ValueError(f"{name} is not set")
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ValueError(f"{name} must start with one of: {', '.join(schemes)}://")
    return value


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        database_url = _env("DATABASE_URL", ("postgresql", "postgres"))
        redis_url = _env("REDIS_URL", ("redis", "rediss", "unix"))
        startup_timeout = float(os.environ.get("STARTUP_TIMEOUT", "60"))
    except ValueError as exc:
        log.error("configuration error: %s", exc)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; finishing", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    worker = Worker(database_url, redis_url, stop)
    try:
        log.info("waiting for postgres and creating the schema if missing")
        try:
            if not worker.wait_for_schema(startup_timeout):
                return 0
        except psycopg.Error as exc:
            log.error("postgres unavailable after %.0fs: %s", startup_timeout, _describe(exc))
            return 1
        log.info("consuming %s", JOBS_KEY)
        worker.run()
        log.info("stopped after processing %d order(s)", worker.processed)
        return 0
    finally:
        worker.close()
