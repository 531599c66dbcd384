"""The disaster drill with examples/shop on the real engine: orders taken through the api,
`devkit backup`, everything lost (`down --volumes`), the shop brought up empty, `devkit restore`
(no --force: the services are empty), and every order found again, field by field."""

from __future__ import annotations

import json
import time
import urllib.error

import psycopg
import pytest

from tests.docker.conftest import Project
from tests.docker.test_shop import call

pytestmark = pytest.mark.docker

ORDERS = [("book", 2), ("pen", 12), ("lamp", 1), ("tea, green", 3), ("café crème", 7),
          ("chair", 4)]  # fmt: skip


def addresses(shop: Project) -> dict[str, str]:
    """service -> its first published 127.0.0.1 address."""
    status = json.loads(shop.devkit("status", "--json").stdout)
    return {s["service"]: next(iter(s["ports"].values()), "") for s in status["services"]}


def rows(shop: Project, address: str) -> list[tuple[object, ...]]:
    url = f"postgresql://shop:{shop.env['SHOP_DB_PASSWORD']}@{address}/shop"
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute("SELECT * FROM orders ORDER BY id").fetchall()


def test_shop_drill_orders_backed_up_lost_and_restored_field_by_field(shop: Project) -> None:
    timings: dict[str, float] = {}

    def timed(step: str, *args: str) -> str:
        began = time.monotonic()
        result = shop.devkit(*args, timeout=600)
        timings[step] = time.monotonic() - began
        assert result.code == 0, result.stdout + result.stderr
        print(f"\n$ devkit {' '.join(args)}\n{result.stderr}{result.stdout}", end="")
        return result.stdout

    timed("up", "up", "--detach")
    where = addresses(shop)
    api = f"http://{where['api']}"
    placed = []
    for item, quantity in ORDERS:
        status, order = call("POST", f"{api}/orders", {"item": item, "quantity": quantity})
        assert status == 201, order
        placed.append(int(str(order["id"])))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the worker processes every order
        before = [call("GET", f"{api}/orders/{n}")[1] for n in placed]
        if all(o["status"] == "processed" for o in before):
            break
        time.sleep(0.3)
    assert [o["status"] for o in before] == ["processed"] * len(ORDERS)
    assert [(o["item"], o["quantity"]) for o in before] == ORDERS
    table = rows(shop, where["postgres"])
    assert len(table) == len(ORDERS)

    backup = json.loads(timed("backup", "backup", "local", "--json"))
    assert {(x["service"], x["method"]) for x in backup["parts"]} == {
        ("postgres", "pg_dump"), ("redis", "redis_rdb"),
    }  # fmt: skip

    timed("down", "down", "--volumes")
    timed("up again", "up", "--detach")
    where = addresses(shop)
    api = f"http://{where['api']}"
    assert rows(shop, where["postgres"]) == []  # the api made its table again: empty
    with pytest.raises(urllib.error.HTTPError) as missing:
        call("GET", f"{api}/orders/{placed[0]}")
    assert missing.value.code == 404

    out = timed("restore", "restore", "local", "--from", backup["id"])
    assert f"restored postgres, redis of {shop.name}/local from backup {backup['id']}" in (
        " ".join(out.split())
    )
    assert rows(shop, where["postgres"]) == table  # row by row, every column
    assert [call("GET", f"{api}/orders/{n}") for n in placed] == [(200, o) for o in before]
    status, after = call("POST", f"{api}/orders", {"item": "after the drill", "quantity": 1})
    assert status == 201 and after["id"] == placed[-1] + 1  # the sequence came back too

    # a second restore would replace the orders the shop holds now: refused, nothing changed
    began = time.monotonic()
    result = shop.devkit("restore", "local", "--from", backup["id"], timeout=300)
    timings["refused restore"] = time.monotonic() - began
    assert result.code == 3, result.stdout + result.stderr
    assert f"postgres holds {len(ORDERS) + 1} rows in 1 table" in result.stderr
    print(f"\n$ devkit restore local --from {backup['id']}\n{result.stderr}", end="")
    assert len(rows(shop, where["postgres"])) == len(ORDERS) + 1
    print("\n" + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in timings.items()))
