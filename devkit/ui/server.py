"""The UI's HTTP server (standard library only): one page and its two assets, a JSON snapshot,
the dev loop's events as server-sent events, and the page's requests (actions, commands).

It listens on 127.0.0.1 only. Every request must carry the random token printed with the URL,
as `?token=` or as the cookie the page gets when it is opened with it; anything else is refused
with 403.
"""

from __future__ import annotations

import hmac
import json
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devkit.devloop.events import Event, EventBus

HOST = "127.0.0.1"
COOKIE = "devkit_ui"
HEARTBEAT = 15.0  # seconds between SSE comments that keep idle connections open
BATCH = 500  # events written to a page at most per write
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/plots.js": ("plots.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
ACTIONS = ("restart", "rebuild", "sync")


@dataclass
class Backend:
    """What the page can see and ask for; the command that serves it fills this in.

    `snapshot()` is the page's starting state (services, groups, environments); `act(service,
    what)` asks the dev loop for an action (None: nothing runs the loop here, the page says
    so); `environment(name)` reads one environment's releases (may take seconds);
    `command(args)` starts promote or rollback; `job(service, name)` starts a declared job.
    """

    bus: EventBus
    snapshot: Callable[[], dict[str, Any]]
    act: Callable[[str, str], None] | None = None
    environment: Callable[[str], dict[str, Any]] | None = None
    command: Callable[[list[str]], int] | None = None
    job: Callable[[str, str], None] | None = None
    assets: dict[str, bytes] = field(default_factory=dict)


def _asset(name: str) -> bytes:
    return resources.files("devkit.ui").joinpath("static", name).read_bytes()


class UiServer:
    """The running server: `url` (with its token), `close()`."""

    def __init__(self, backend: Backend, port: int = 0, token: str | None = None) -> None:
        self.backend = backend
        self.token = token or secrets.token_urlsafe(18)
        self.stopping = threading.Event()
        for name, _ in ASSETS.values():
            backend.assets.setdefault(name, _asset(name))
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer((HOST, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def allowed(self, query_token: str | None, cookie_token: str | None) -> bool:
        return any(
            t is not None and hmac.compare_digest(t.encode(), self.token.encode())
            for t in (query_token, cookie_token)
        )


def _handler(server: UiServer) -> type[BaseHTTPRequestHandler]:
    backend = server.backend

    class Handler(BaseHTTPRequestHandler):
        server_version = "devkit-ui"
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the terminal belongs to the dev loop

        # --- the token -----------------------------------------------------------------------
        def _authorised(self) -> tuple[bool, bool]:
            """(allowed, came in the query): the query carries it the first time only."""
            query = parse_qs(urlsplit(self.path).query).get("token", [None])[0]
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            cookie = jar[COOKIE].value if COOKIE in jar else None
            return server.allowed(query, cookie), query is not None

        def _refuse(self) -> None:
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the URL devkit printed\n",
                       "text/plain; charset=utf-8")  # fmt: skip

        def _send(
            self, status: HTTPStatus, body: bytes, kind: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                "frame-ancestors 'none'",
            )
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        # --- routes --------------------------------------------------------------------------
        def do_GET(self) -> None:
            self._guarded(self._get)

        def do_POST(self) -> None:
            self._guarded(self._post)

        def _guarded(self, route: Callable[[], None]) -> None:
            """A failure inside a route answers 500 with its reason (the page shows it), never
            a dropped connection."""
            try:
                route()
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as exc:  # noqa: BLE001 - reported to the page and on the bus
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                backend.bus.publish("step", "", "error", f"ui server: {self.path.split('?')[0]}: "
                                    + reason)  # fmt: skip
                self._json({"error": reason}, HTTPStatus.INTERNAL_SERVER_ERROR)

        def _get(self) -> None:
            allowed, in_query = self._authorised()
            if not allowed:
                self._refuse()
                return
            path = urlsplit(self.path).path
            if path in ASSETS:
                name, kind = ASSETS[path]
                extra = {}
                if path == "/" and in_query:
                    extra["Set-Cookie"] = (
                        f"{COOKIE}={server.token}; Path=/; HttpOnly; SameSite=Strict"
                    )
                self._send(HTTPStatus.OK, backend.assets[name], kind, extra)
            elif path == "/api/snapshot":
                # The history comes with the snapshot (one round trip fewer for a page that
                # opens on a busy stack); the page then follows /api/events?after=<last seq>.
                self._json({**backend.snapshot(),
                            "history": [e.to_dict() for e in backend.bus.history()]})  # fmt: skip
            elif path == "/api/events":
                self._events()
            elif path.startswith("/api/environments/"):
                self._environment(path.removeprefix("/api/environments/"))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _post(self) -> None:
            allowed, _ = self._authorised()
            if not allowed:
                self._refuse()
                return
            path = urlsplit(self.path).path
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            except ValueError:
                self._json({"error": "not JSON"}, HTTPStatus.BAD_REQUEST)
                return
            if path == "/api/action":
                self._action(body)
            elif path == "/api/command":
                self._command(body)
            elif path == "/api/job":
                self._job(body)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _action(self, body: dict[str, Any]) -> None:
            service, what = str(body.get("service", "")), str(body.get("action", ""))
            names = {s["name"] for s in backend.snapshot()["loop"]["services"]}
            if what not in ACTIONS or service not in names:
                self._json({"error": "unknown service or action"}, HTTPStatus.BAD_REQUEST)
                return
            if backend.act is None:
                self._json(
                    {"error": "no dev loop runs here: `devkit up --ui` restarts, rebuilds, syncs"},
                    HTTPStatus.CONFLICT,
                )
                return
            backend.bus.publish("action", service, what, "requested")
            backend.act(service, what)
            self._json({"ok": True})

        def _job(self, body: dict[str, Any]) -> None:
            service, name = str(body.get("service", "")), str(body.get("job", ""))
            if backend.job is None:
                self._json({"error": "no jobs here"}, HTTPStatus.BAD_REQUEST)
                return
            try:
                backend.job(service, name)
            except KeyError as exc:
                self._json({"error": str(exc.args[0])}, HTTPStatus.BAD_REQUEST)
                return
            except RuntimeError as exc:
                self._json({"error": str(exc)}, HTTPStatus.CONFLICT)
                return
            self._json({"ok": True})

        def _command(self, body: dict[str, Any]) -> None:
            args = body.get("args")
            if backend.command is None or not isinstance(args, list):
                self._json({"error": "no commands here"}, HTTPStatus.BAD_REQUEST)
                return
            try:
                run_id = backend.command([str(a) for a in args])
            except ValueError as exc:
                self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
                return
            except RuntimeError as exc:
                self._json({"error": str(exc)}, HTTPStatus.CONFLICT)
                return
            self._json({"id": run_id})

        def _environment(self, name: str) -> None:
            if backend.environment is None:
                self._json({"error": "no environments here"}, HTTPStatus.NOT_FOUND)
                return
            try:
                self._json(backend.environment(name))
            except KeyError:
                self._json({"error": f"no environment {name}"}, HTTPStatus.NOT_FOUND)

        def _events(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            after = self.headers.get("Last-Event-ID") or query.get("after", ["0"])[0]
            try:
                start = int(after)
            except ValueError:
                start = 0
            pending: queue.Queue[Event] = queue.Queue()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "keep-alive")
            self.end_headers()
            self.close_connection = True
            unsubscribe = backend.bus.subscribe_from(start, pending.put)
            try:
                while not server.stopping.is_set():
                    try:
                        first = pending.get(timeout=HEARTBEAT)
                    except queue.Empty:
                        self.wfile.write(b": idle\n\n")
                        self.wfile.flush()
                        continue
                    batch = [first]
                    while len(batch) < BATCH:
                        try:
                            batch.append(pending.get_nowait())
                        except queue.Empty:
                            break
                    # One SSE message per batch: a busy stack (hundreds of services logging)
                    # costs the page one parse per batch, not per line.
                    data = json.dumps([e.to_dict() for e in batch], separators=(",", ":"))
                    self.wfile.write(f"id: {batch[-1].seq}\ndata: {data}\n\n".encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass
            finally:
                unsubscribe()

    return Handler
