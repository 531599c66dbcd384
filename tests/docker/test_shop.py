"""examples/shop end to end on the real engine: up healthy, a real round trip, down clean."""

from __future__ import annotations

import json
import time
import urllib.request

import docker
import pytest

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker


def call(
    method: str, url: str, body: dict[str, object] | None = None
) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_shop_comes_up_and_does_a_real_round_trip(
    shop: Project, docker_client: docker.DockerClient
) -> None:
    up = shop.devkit("up", "--detach", "--json", timeout=600)
    assert up.code == 0, up.stderr
    doc = json.loads(up.stdout)
    assert sorted(doc["created"]) == ["api", "postgres", "redis", "worker"]
    api = next(s for s in doc["services"] if s["service"] == "api")
    base = f"http://{api['ports']['8000/tcp']}"

    assert call("GET", f"{base}/healthz") == (200, {"status": "ok"})
    status, order = call("POST", f"{base}/orders", {"item": "book", "quantity": 2})
    assert status == 201 and order["status"] == "pending"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, fetched = call("GET", f"{base}/orders/{order['id']}")
        if fetched["status"] == "processed":
            break
        time.sleep(0.2)
    assert fetched["status"] == "processed", "the worker never processed the order"
    _, stats = call("GET", f"{base}/stats")
    assert stats["orders"] == {"total": 1, "by_status": {"processed": 1}}

    assert shop.devkit("down", "--volumes").code == 0
    label = {"label": f"dev.devkit.project={shop.name}"}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []
    assert docker_client.volumes.list(filters=label) == []
