"""`devkit backup` and `restore` on the kind testbed, in a namespace of their own: postgres
takes orders, redis carts, MinIO keeps invoices, and a plain volume a file (copied with its
StatefulSet scaled to 0); a backup; the namespace is destroyed (`down --volumes`, claims and
all); `up` brings the stack back empty; `restore` brings back every order, row by row, every
key, object and file. Real kind, real exec streams and port-forwards, no mocks."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from minio import Minio

from tests.k8s.conftest import K8sTestbed, wait_for
from tests.k8s.data_stack import data_stack
from tests.k8s.test_dev_loop import pytestmark

__all__ = ["pytestmark"]

BLUEPRINT = """
from devkit import Blueprint, Kind, Secret
from blueprints import minio, postgres, redis
app = Blueprint("{name}")
app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
app.use(redis(password=Secret("CACHE_PASSWORD")))
app.service("notes", image="python:3.11-slim", run_as_user=1000,
            command=["python3", "-c", "import signal, sys, time; "
                     "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); time.sleep(10**6)"],
            volumes={{"files": "/files"}})
app.environment("dev", Kind("{cluster}"))
"""


def test_backup_destroy_the_namespace_restore_every_order_on_kind(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    stack = data_stack(testbed, tmp_path, "bk", BLUEPRINT)
    namespace, devkit, sql, redis = stack.namespace, stack.devkit, stack.sql, stack.redis
    core = client.CoreV1Api(testbed.api)
    apps = client.AppsV1Api(testbed.api)

    def notes(script: str) -> str:
        run = devkit("exec", "-e", "dev", "notes", "--", "sh", "-c", script)
        assert run.code == 0, run.stdout + run.stderr
        return run.stdout

    @contextlib.contextmanager
    def objects() -> Iterator[Minio]:
        with stack.minio() as (s3, _):
            yield s3

    def listed(s3: Minio) -> list[str]:
        if not s3.bucket_exists("invoices"):
            return []
        return sorted(o.object_name for o in s3.list_objects("invoices", recursive=True))

    def up() -> None:
        run = devkit("up", "-e", "dev", "--detach", timeout=900)
        assert run.code == 0, run.stdout + run.stderr

    try:
        up()
        sql("CREATE TABLE orders (id int PRIMARY KEY, item text, total numeric); "
            "INSERT INTO orders SELECT i, 'item ' || i, i * 1.25 "
            "FROM generate_series(1, 20000) AS i")  # fmt: skip
        written = sql("SELECT id, item, total FROM orders ORDER BY id")
        assert len(written.splitlines()) == 20000
        redis("SET", "cart:1", "'3 items'")
        redis("HSET", "session:7", "user", "ada")
        notes("mkdir -p /files/a && echo 'invoice 42' > /files/a/42.txt && "
              "chmod 640 /files/a/42.txt")  # fmt: skip
        with objects() as s3:
            s3.make_bucket("invoices")
            for i in range(10):
                body = f"invoice {i}".encode()
                s3.put_object("invoices", f"2026/{i}.txt", io.BytesIO(body), len(body))

        began = time.monotonic()
        run = devkit("backup", "dev", "--json")
        backup_seconds = time.monotonic() - began
        assert run.code == 0, run.stderr
        manifest = json.loads(run.stdout)
        assert manifest["services"] == ["minio", "notes", "postgres", "redis"]
        assert {x["method"] for x in manifest["parts"]} == {
            "pg_dump", "redis_rdb", "volume_copy", "s3_objects",
        }  # fmt: skip
        assert "test-only" not in run.stdout + run.stderr

        # the namespace is destroyed, volume claims and all
        assert devkit("down", "-e", "dev", "--volumes").code == 0

        def gone() -> bool:
            try:
                core.read_namespace(namespace)
            except ApiException as exc:
                return exc.status == 404
            return False

        wait_for(f"namespace {namespace} to be deleted", gone, 180, interval=1)
        up()
        assert sql("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'").strip() == "0"
        assert redis("DBSIZE") == "0"
        assert notes("ls -A /files") == ""
        with objects() as s3:
            assert listed(s3) == []

        began = time.monotonic()
        run = devkit("restore", "dev", "--from", manifest["id"], "--json")
        restore_seconds = time.monotonic() - began
        assert run.code == 0, run.stderr
        assert sql("SELECT id, item, total FROM orders ORDER BY id") == written  # row by row
        assert redis("GET", "cart:1") == "3 items"
        assert redis("HGET", "session:7", "user") == "ada"
        assert notes("cat /files/a/42.txt") == "invoice 42\n"
        assert notes("stat -c %a /files/a/42.txt").strip() == "640"
        with objects() as s3:
            assert listed(s3) == sorted(f"2026/{i}.txt" for i in range(10))
            assert s3.get_object("invoices", "2026/7.txt").read() == b"invoice 7"
        live = apps.read_namespaced_stateful_set("notes", namespace)  # scaled back, and only
        assert live.spec.replicas == 1  # devkit's own apply owns fields again (no conflict later)
        assert "devkit-backup" not in {f.manager for f in live.metadata.managed_fields}
        assert devkit("up", "-e", "dev", "--detach", timeout=900).code == 0

        # restoring again would replace what every service now holds: refused, nothing changed
        generation = apps.read_namespaced_stateful_set("notes", namespace).metadata.generation
        run = devkit("restore", "dev", "--from", manifest["id"], "--json")
        assert run.code == 3, run.stdout + run.stderr
        holding = {h["service"]: h["says"] for h in json.loads(run.stdout)["holding"]}
        assert holding == {
            "minio": "10 objects in 1 bucket", "notes": "1 file and 1 directory in /files",
            "postgres": "20000 rows in 1 table", "redis": "2 keys",
        }  # fmt: skip
        assert "nothing was changed" in run.stderr and "--force" in run.stderr
        live = apps.read_namespaced_stateful_set("notes", namespace)  # not scaled down and up
        assert live.metadata.generation == generation and live.spec.replicas == 1
        print(f"\nkind: backup {backup_seconds:.1f}s, restore {restore_seconds:.1f}s, "
              + ", ".join(f"{x['name']} {x['size']} bytes" for x in manifest["parts"]))  # fmt: skip
    finally:
        devkit("down", "-e", "dev", "--volumes")
