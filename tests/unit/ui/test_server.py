"""The UI server without an engine: 127.0.0.1 only, the token on every request, the page's
assets from the package, events as server-sent events, actions only where a dev loop runs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.devloop.events import EventBus
from devkit.ui.server import Backend, UiServer

SNAPSHOT: dict[str, Any] = {
    "loop": {"project": "p", "environment": "local", "target": "docker", "groups": {},
             "services": [{"name": "api"}]},
    "environments": [],
    "live": False,
}  # fmt: skip


@pytest.fixture
def served() -> Iterator[tuple[UiServer, EventBus, list[tuple[str, str]]]]:
    bus = EventBus()
    asked: list[tuple[str, str]] = []
    server = UiServer(Backend(bus, snapshot=lambda: SNAPSHOT, act=None))
    yield server, bus, asked
    server.close()


def get(url: str, cookie: str | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_it_listens_on_127_0_0_1_with_a_random_token(served) -> None:
    server, _, _ = served
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    assert len(server.token) >= 24
    other = UiServer(Backend(EventBus(), snapshot=lambda: SNAPSHOT))
    try:
        assert other.token != server.token
    finally:
        other.close()


@pytest.mark.parametrize(
    "path", ["", "app.js", "plots.js", "app.css", "api/snapshot", "api/events"]
)
def test_requests_without_the_right_token_are_refused(served, path: str) -> None:
    server, _, _ = served
    base = f"http://127.0.0.1:{server.port}/{path}"
    assert get(base)[0] == 403
    assert get(base + "?token=" + "x" * len(server.token))[0] == 403
    assert get(base, cookie="devkit_ui=wrong")[0] == 403


def test_the_page_sets_a_cookie_that_then_stands_for_the_token(served) -> None:
    server, _, _ = served
    status, body, headers = get(server.url)
    assert status == 200 and b'<script src="/app.js">' in body
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, body, _ = get(f"http://127.0.0.1:{server.port}/api/snapshot", cookie=cookie)
    assert status == 200 and json.loads(body)["loop"]["project"] == "p"
    status, body, headers = get(f"http://127.0.0.1:{server.port}/app.js", cookie=cookie)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"EventSource" in body


def test_assets_ask_for_nothing_outside_the_server(served) -> None:
    server, _, _ = served
    for name in ("", "app.js", "plots.js", "app.css"):
        _, body, headers = get(f"http://127.0.0.1:{server.port}/{name}?token={server.token}")
        # no CDN, no remote font or script: the only absolute URLs are the links the page
        # builds to the services' own ports on 127.0.0.1
        assert b"https://" not in body
        assert re.findall(rb"http://[^$]", body) == []
        assert re.findall(rb"""(?:src|href)=["']?//""", body) == []
        assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_events_arrive_as_server_sent_events_history_first(served) -> None:
    server, bus, _ = served
    bus.step("api", "healthy", "1.0s")
    url = f"http://127.0.0.1:{server.port}/api/events?token={server.token}"
    with urllib.request.urlopen(url, timeout=5) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert stream.readline() == b"id: 1\n"
        first = json.loads(stream.readline().removeprefix(b"data: "))
        assert first[0]["event"] == "healthy" and first[0]["service"] == "api"
        stream.readline()
        bus.log_line("api", "listening")
        assert stream.readline() == b"id: 2\n"
        second = json.loads(stream.readline().removeprefix(b"data: "))
        assert second[0]["detail"] == "listening"


def test_actions_need_a_dev_loop_and_a_known_service(served) -> None:
    server, bus, asked = served
    base = f"http://127.0.0.1:{server.port}/api/action?token={server.token}"
    status, body = post(base, {"service": "api", "action": "restart"})
    assert status == 409 and "devkit up --ui" in body["error"]
    server.backend.act = lambda service, what: asked.append((service, what))
    assert post(base, {"service": "nope", "action": "restart"})[0] == 400
    assert post(base, {"service": "api", "action": "rm -rf"})[0] == 400
    assert post(base, {"service": "api", "action": "restart"}) == (200, {"ok": True})
    assert asked == [("api", "restart")]
    assert [(e.kind, e.event) for e in bus.history()] == [("action", "restart")]


def test_a_job_is_asked_for_by_service_and_name(served) -> None:
    server, _, _ = served
    base = f"http://127.0.0.1:{server.port}/api/job?token={server.token}"
    assert post(base, {"service": "api", "job": "migrate"}) == (400, {"error": "no jobs here"})
    started: list[tuple[str, str]] = []

    def job(service: str, name: str) -> None:
        if name == "busy":
            raise RuntimeError('a job of "api" is still running')
        if name != "migrate":
            raise KeyError(f'service "{service}" has no job "{name}"')
        started.append((service, name))

    server.backend.job = job
    assert post(base, {"service": "api", "job": "migrate"}) == (200, {"ok": True})
    assert post(base, {"service": "api", "job": "drop"}) == (
        400, {"error": 'service "api" has no job "drop"'}
    )  # fmt: skip
    assert post(base, {"service": "api", "job": "busy"})[0] == 409
    assert started == [("api", "migrate")]
