"""Smoke test of a deployed shop (``python -m app.smoke``): its Swarm environments' verify step.

Runs inside the environment's network: places an order through the api and waits (bounded)
for the worker to process it, so a release counts as healthy only when the whole path works.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

API = os.environ.get("SHOP_API_URL", "http://api:8000")
if not API.startswith(("http://", "https://")):
    raise SystemExit(f"SHOP_API_URL must be an http(s) URL, not {API!r}")
DEADLINE = 30.0


def _call(method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    """One request; a connection that fails (a pod of the old release going away behind the
    service's address) is tried again, 3 times at most."""
    for attempt in range(3):
        try:
            return _request(method, path, body)
        except urllib.error.URLError as exc:
            if attempt == 2 or isinstance(exc, urllib.error.HTTPError):
                raise
            print(f"{method} {path}: {exc.reason}; trying again", file=sys.stderr)
            time.sleep(1)
    raise AssertionError("unreachable")


def _request(method: str, path: str, body: dict[str, object] | None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        API + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        result: dict[str, object] = json.loads(response.read())
        return result


def main() -> int:
    print("healthz:", _call("GET", "/healthz"))
    order = _call("POST", "/orders", {"item": "smoke-test", "quantity": 1})
    print("ordered:", order)
    began = time.monotonic()
    while time.monotonic() - began < DEADLINE:
        current = _call("GET", f"/orders/{order['id']}")
        if current.get("status") == "processed":
            print(f"processed by the worker in {time.monotonic() - began:.1f}s")
            return 0
        time.sleep(0.5)
    print(f"order {order['id']} was not processed within {DEADLINE:g}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
