"""HTTP server: routing, request logging, graceful SIGTERM."""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, cast

import psycopg
import redis

from app import db, jobs, metrics
from app.config import ConfigError, Settings
from app.orders import InvalidOrderError, parse_order
from app.version import VERSION

log = logging.getLogger("shop.api")
access_log = logging.getLogger("shop.api.access")

MAX_BODY_BYTES = 64 * 1024
ORDER_PATH = re.compile(r"^/orders/(\d{1,18})$")

# Errors that mean a backing service is unreachable or misbehaving.
BACKEND_ERRORS: tuple[type[Exception], ...] = (psycopg.Error, redis.RedisError, OSError)
# ... plus an unexpected answer to a health probe.
PROBE_ERRORS: tuple[type[Exception], ...] = (*BACKEND_ERRORS, RuntimeError)


class ShopServer(ThreadingHTTPServer):
    daemon_threads = True  # do not wait for in-flight requests on shutdown

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = jobs.client(settings.redis_url)
        super().__init__((settings.host, settings.port), Handler)


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-api/1.0"
    _started = 0.0

    # -- routing --------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._healthz()
        elif path == "/stats":
            self._stats()
        elif path == "/version":
            self._send(HTTPStatus.OK, {"version": VERSION})
        elif path == "/metrics":
            self._metrics()
        elif match := ORDER_PATH.match(path):
            self._get_order(int(match.group(1)))
        else:
            self._method_not_allowed()

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] == "/orders":
            self._create_order()
        else:
            self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        """405 on a known path (with Allow), 404 on an unknown one."""
        path = self.path.split("?", 1)[0]
        if path == "/orders":
            allow = "POST"
        elif path in ("/healthz", "/stats", "/version", "/metrics") or ORDER_PATH.match(path):
            allow = "GET"
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": f"no such path: {path}"})
            return
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"use {allow}"}, {"Allow": allow})

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_PATCH(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    # -- endpoints ------------------------------------------------------

    def _healthz(self) -> None:
        failed: dict[str, str] = {}
        try:
            db.ping(self.settings.database_url)
        except PROBE_ERRORS as exc:
            failed["postgres"] = _describe(exc)
        try:
            jobs.ping(self.shop.redis)
        except PROBE_ERRORS as exc:
            failed["redis"] = _describe(exc)
        if failed:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "unavailable", "failed": failed})
        else:
            self._send(HTTPStatus.OK, {"status": "ok"})

    def _metrics(self) -> None:
        body, content_type = metrics.exposition()
        self._answer(HTTPStatus.OK, body, content_type)

    def _create_order(self) -> None:
        body = self._read_body()
        if body is None:
            return
        try:
            item, quantity = parse_order(body)
        except InvalidOrderError as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        try:
            order_id = db.insert_order(self.settings.database_url, item, quantity)
        except BACKEND_ERRORS as exc:
            self._backend_down("postgres", exc)
            return
        try:
            jobs.enqueue(self.shop.redis, order_id)
        except BACKEND_ERRORS as exc:
            # The order is stored but nobody will process it: say so.
            log.error("order %d saved but not queued: %s", order_id, _describe(exc))
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "error": "order saved but could not be queued: redis unavailable",
                    "id": order_id,
                    "status": "pending",
                },
            )
            return
        self._send(
            HTTPStatus.CREATED,
            {"id": order_id, "status": "pending"},
            {"Location": f"/orders/{order_id}"},
        )

    def _get_order(self, order_id: int) -> None:
        try:
            order = db.get_order(self.settings.database_url, order_id)
        except BACKEND_ERRORS as exc:
            self._backend_down("postgres", exc)
            return
        if order is None:
            self._send(HTTPStatus.NOT_FOUND, {"error": f"order {order_id} not found"})
        else:
            self._send(HTTPStatus.OK, order)

    def _stats(self) -> None:
        try:
            counts = db.count_by_status(self.settings.database_url)
        except BACKEND_ERRORS as exc:
            self._backend_down("postgres", exc)
            return
        try:
            hits = jobs.hit(self.shop.redis)
        except BACKEND_ERRORS as exc:
            self._backend_down("redis", exc)
            return
        self._send(
            HTTPStatus.OK,
            {
                "orders": {"total": sum(counts.values()), "by_status": counts},
                "hits": hits,
            },
        )

    # -- plumbing -------------------------------------------------------

    @property
    def shop(self) -> ShopServer:
        return cast(ShopServer, self.server)

    @property
    def settings(self) -> Settings:
        return self.shop.settings

    def _read_body(self) -> bytes | None:
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length header required"})
            return None
        if not raw_length.strip().isdigit():
            self._send(HTTPStatus.BAD_REQUEST, {"error": "invalid Content-Length"})
            return None
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"body larger than {MAX_BODY_BYTES} bytes"},
            )
            return None
        return self.rfile.read(length)

    def _backend_down(self, name: str, exc: BaseException) -> None:
        log.error("%s error on %s %s: %s", name, self.command, self.path, _describe(exc))
        self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"{name} unavailable"})

    def _send(
        self, status: HTTPStatus, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        self._answer(status, body, "application/json", headers)

    def _answer(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        elapsed = time.monotonic() - self._started if self._started else 0.0
        metrics.observe(self.command or "-", self.path.split("?", 1)[0], status.value, elapsed)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own errors (malformed request, unknown method...) as JSON too.
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.INTERNAL_SERVER_ERROR
        self.close_connection = True
        self._send(status, {"error": message or status.phrase})

    def parse_request(self) -> bool:
        self._started = time.monotonic()
        return super().parse_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request, on stdout through logging.
        elapsed_ms = (time.monotonic() - self._started) * 1000 if self._started else 0.0
        status = code.value if isinstance(code, HTTPStatus) else code
        access_log.info(
            '%s "%s" %s %.1fms', self.client_address[0], self.requestline, status, elapsed_ms
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def run(settings: Settings, stop: threading.Event) -> int:
    """Serve until ``stop`` is set; return the process exit code."""
    log.info("waiting for postgres and creating the schema if missing")
    try:
        if not db.wait_for_schema(settings.database_url, settings.startup_timeout, stop):
            log.info("stopped before start-up finished")
            return 0
    except psycopg.Error as exc:
        log.error("postgres unavailable after %.0fs: %s", settings.startup_timeout, _describe(exc))
        return 1

    try:
        server = ShopServer(settings)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.host, settings.port, _describe(exc))
        return 1
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    log.info("listening on http://%s:%s", host, port)
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                log.error("server thread died")
                return 1
    finally:
        log.info("shutting down")
        server.shutdown()
        server.server_close()
        server.redis.close()
    log.info("bye")
    return 0


def main() -> int:
    configure_logging()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return run(settings, stop)
