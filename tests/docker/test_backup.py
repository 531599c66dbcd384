"""`devkit backup`, `restore` and `backups` on the real engine: write data, back it up, lose it
(`down --volumes`), bring the stack up empty, restore, and find every row, key, file and object
again; corrupted, partial and wrong backups are refused with nothing changed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import docker
import psycopg
import pytest
import redis as redis_client
from minio import Minio

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker

BLUEPRINT = """
from devkit import Blueprint, Command, Docker, Secret
from blueprints import postgres, redis
app = Blueprint("{name}")
db = app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
cache = app.use(redis(password=Secret("CACHE_PASSWORD")))
app.service("notes", image="python:3.11-slim",
            command=["python3", "-c", "import time; time.sleep(10**6)"],
            volumes={{"files": "/files"}}, health=Command("test", "-d", "/files"))
{extra}
app.environment("local", Docker())
app.environment("other", Docker())
"""
# A service whose declared method cannot run in its image (no pg_dump in python): the backup
# fails after postgres's part is stored, and must leave nothing that looks like a backup.
BROKEN = """
from devkit import PgDump
app.service("search", image="python:3.11-slim", env={"U": "x", "D": "x"},
            command=["python3", "-c", "import time; time.sleep(10**6)"],
            backup=PgDump(user_env="U", database_env="D", password_env=None))
"""

OBJECTS_BLUEPRINT = """
from devkit import Blueprint, Docker, Secret
from blueprints import minio, postgres
app = Blueprint("{name}")
app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
app.environment("local", Docker())
"""

STORE_BLUEPRINT = """
from devkit import Blueprint, Docker, Secret
from blueprints import minio
app = Blueprint("{name}")
app.use(minio(name="store", user="backups", password=Secret("STORE_PASSWORD")))
app.environment("local", Docker())
"""


def ports(p: Project, env: str = "local") -> dict[str, str]:
    """service -> its first published 127.0.0.1 address."""
    status = json.loads(p.devkit("status", "-e", env, "--json").stdout)
    return {s["service"]: next(iter(s["ports"].values()), "") for s in status["services"]}


def up(p: Project, env: str = "local") -> dict[str, str]:
    result = p.devkit("up", "-e", env, "--detach", timeout=300)
    assert result.code == 0, result.stderr
    return ports(p, env)


def pg(p: Project, address: str) -> psycopg.Connection:
    password = p.env["SHOP_DB_PASSWORD"]
    return psycopg.connect(f"postgresql://shop:{password}@{address}/shop", connect_timeout=10,
                           autocommit=True)  # fmt: skip


def cache(p: Project, address: str) -> redis_client.Redis:
    host, port = address.split(":")
    return redis_client.Redis(host=host, port=int(port), password=p.env["CACHE_PASSWORD"],
                              socket_timeout=10)  # fmt: skip


def notes(client: docker.DockerClient, p: Project, command: str) -> str:
    (container,) = client.containers.list(
        filters={"label": [f"dev.devkit.project={p.name}", "dev.devkit.service=notes"]}
    )
    code, output = container.exec_run(["sh", "-c", command])
    assert code == 0, output
    return output.decode()


def stack(project: Callable[[str], Project], text: str = BLUEPRINT, extra: str = "") -> Project:
    p = project("bk")
    p.write("blueprint.py", text.format(name=p.name, extra=extra))
    p.env.update(SHOP_DB_PASSWORD="test-only-db", CACHE_PASSWORD="test-only-cache",
                 S3_PASSWORD="test-only-objects", STORE_PASSWORD="test-only-store")  # fmt: skip
    return p


def write_orders(p: Project, address: str, count: int) -> None:
    with pg(p, address) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, item text, total numeric)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s)",
                            [(i, f"item {i}", i * 1.25) for i in range(count)])  # fmt: skip


def orders(p: Project, address: str) -> list[tuple[object, ...]]:
    with pg(p, address) as conn:
        try:
            return conn.execute("SELECT id, item, total FROM orders ORDER BY id").fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def test_backup_lose_everything_restore_finds_every_row_key_and_file(
    project, docker_client
) -> None:
    p = stack(project)
    where = up(p)
    write_orders(p, where["postgres"], 5000)
    written = orders(p, where["postgres"])
    kv = cache(p, where["redis"])
    kv.mset({f"cart:{i}": f"items {i}" for i in range(1000)})
    kv.hset("session:7", mapping={"user": "ada", "step": "pay"})
    notes(docker_client, p, "mkdir -p /files/a && echo 'invoice 42' > /files/a/42.txt && "
                            "chmod 640 /files/a/42.txt")  # fmt: skip

    began = time.monotonic()
    result = p.devkit("backup", "local", "--json", timeout=300)
    backup_seconds = time.monotonic() - began
    assert result.code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["services"] == ["notes", "postgres", "redis"]
    assert {(x["service"], x["method"]) for x in manifest["parts"]} == {
        ("postgres", "pg_dump"), ("redis", "redis_rdb"), ("notes", "volume_copy"),
    }  # fmt: skip
    assert manifest["plan_hash"] and manifest["release"] is None
    folder = p.root / "backups" / p.name / "local" / manifest["id"]
    for part in manifest["parts"]:  # every part as the manifest says, on disk
        data = (folder / part["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (part["size"], part["sha256"])
    assert json.loads((folder / "manifest.json").read_text())["id"] == manifest["id"]
    stored = (folder / "manifest.json").read_text() + result.stderr + result.stdout
    assert "test-only" not in stored  # no secret in the manifest or the output
    assert "notes" in result.stderr and "stop" in result.stderr  # progress: the copy's stop

    listed = json.loads(p.devkit("backups", "local", "--json").stdout)
    assert [b["id"] for b in listed["backups"]] == [manifest["id"]]

    # lose it all: containers and named volumes; redis keeps nothing across a restart anyway
    assert p.devkit("down", "--volumes").code == 0
    where = up(p)
    assert orders(p, where["postgres"]) == []
    assert cache(p, where["redis"]).dbsize() == 0
    assert notes(docker_client, p, "ls -A /files") == ""

    began = time.monotonic()
    result = p.devkit("restore", "local", "--from", manifest["id"], "--json", timeout=300)
    restore_seconds = time.monotonic() - began
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["services"] == ["notes", "postgres", "redis"]
    where = ports(p)
    assert orders(p, where["postgres"]) == written  # row by row
    kv = cache(p, where["redis"])
    assert kv.dbsize() == 1001
    assert kv.get("cart:999") == b"items 999"
    assert kv.hgetall("session:7") == {b"user": b"ada", b"step": b"pay"}
    assert kv.info("replication")["role"] == "master"  # promoted back after loading
    assert notes(docker_client, p, "cat /files/a/42.txt") == "invoice 42\n"
    assert notes(docker_client, p, "stat -c %a /files/a/42.txt").strip() == "640"
    print(f"\nbackup {backup_seconds:.1f}s, restore {restore_seconds:.1f}s, "
          f"{sum(x['size'] for x in manifest['parts'])} bytes: "
          + ", ".join(f"{x['name']} {x['size']}" for x in manifest["parts"]))  # fmt: skip


def test_a_corrupted_partial_or_wrong_backup_is_refused_and_nothing_changes(project) -> None:
    p = stack(project, extra=BROKEN)
    where = up(p)
    write_orders(p, where["postgres"], 10)
    first = json.loads(p.devkit("backup", "local", "postgres", "--json").stdout)
    assert [x["service"] for x in first["parts"]] == ["postgres"]
    with pg(p, where["postgres"]) as conn:
        conn.execute("INSERT INTO orders VALUES (10, 'after the backup', 1)")
    folder = p.root / "backups" / p.name / "local" / first["id"]

    # one byte changed in a part: refused (exit 3) before anything is touched
    part = folder / "postgres.pgdump"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    result = p.devkit("restore", "local", "--from", first["id"])
    assert result.code == 3, result.stderr
    assert "does not match its manifest" in result.stderr and "sha256" in result.stderr
    assert len(orders(p, where["postgres"])) == 11

    # a part missing, then a manifest missing (an interrupted backup): never restored
    part.unlink()
    result = p.devkit("restore", "local", "--from", first["id"])
    assert result.code == 3 and "postgres.pgdump is missing" in result.stderr
    (folder / "manifest.json").unlink()
    result = p.devkit("restore", "local", "--from", first["id"])
    assert result.code == 2 and "no complete backup" in result.stderr
    assert json.loads(p.devkit("backups", "local", "--json").stdout)["backups"] == []
    assert len(orders(p, where["postgres"])) == 11

    # a backup that fails mid-way (postgres stored, then search fails): nothing looks complete
    result = p.devkit("backup", "local", "postgres", "search")
    assert result.code == 1, result.stderr
    assert 'pg_dump of service "search": the command exited with 127' in result.stderr
    assert "pg_dump: not found" in result.stderr and "no backup was kept" in result.stderr
    assert "backed-up postgres.pgdump" in result.stderr
    assert json.loads(p.devkit("backups", "local", "--json").stdout)["backups"] == []
    assert sorted(x.name for x in folder.parent.iterdir()) == [first["id"]]  # no .partial

    # bad input: an unknown service, a backup of another environment, an unknown one
    result = p.devkit("backup", "local", "nope")
    assert result.code == 2 and "no service 'nope'" in result.stderr
    assert "notes, postgres, redis, search" in result.stderr
    second = json.loads(p.devkit("backup", "local", "postgres", "--json").stdout)
    result = p.devkit("restore", "other", "--from", second["id"])
    assert result.code == 2 and "no complete backup" in result.stderr
    result = p.devkit("restore", "local", "--from", f"staging/{second['id']}")
    assert result.code == 2 and 'unknown environment "staging"' in result.stderr
    result = p.devkit("restore", "local", "--from", second["id"], "redis")
    assert result.code == 2 and "holds no 'redis'" in result.stderr
    assert len(orders(p, where["postgres"])) == 11

    # on purpose, into another environment (a recovery elsewhere): --from OTHER_ENV/ID
    other = up(p, "other")
    assert orders(p, other["postgres"]) == []
    result = p.devkit("restore", "other", "--from", f"local/{second['id']}", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["from_environment"] == "local"
    assert len(orders(p, other["postgres"])) == 11


def test_a_restore_over_data_is_refused_without_force_and_nothing_changes(
    project, docker_client
) -> None:
    p = stack(project)
    where = up(p)
    write_orders(p, where["postgres"], 10)
    cache(p, where["redis"]).mset({"cart:1": "a book", "cart:2": "a pen"})
    notes(docker_client, p, "echo 'invoice 42' > /files/42.txt")
    backup = json.loads(p.devkit("backup", "local", "--json", timeout=300).stdout)
    with pg(p, where["postgres"]) as conn:  # the services go on and hold more
        conn.execute("INSERT INTO orders VALUES (10, 'after the backup', 1)")
    cache(p, where["redis"]).set("cart:3", "a lamp")
    notes(docker_client, p, "mkdir /files/b && echo 'invoice 43' > /files/b/43.txt")
    (container,) = docker_client.containers.list(
        filters={"label": [f"dev.devkit.project={p.name}", "dev.devkit.service=notes"]}
    )
    started = container.attrs["State"]["StartedAt"]

    result = p.devkit("restore", "local", "--from", backup["id"], timeout=300)
    assert result.code == 3, result.stderr
    assert f"restoring backup {backup['id']} would replace what {p.name}/local holds" in (
        " ".join(result.stderr.split())
    )
    assert "postgres holds 11 rows in 1 table" in result.stderr
    assert "redis holds 3 keys" in result.stderr
    assert "notes holds 2 files and 1 directory in /files" in result.stderr
    assert "--force" in result.stderr and "nothing was changed" in result.stderr
    result = p.devkit("restore", "local", "--from", backup["id"], "--json", timeout=300)
    assert result.code == 3, result.stderr
    refused = json.loads(result.stdout)
    assert refused["ok"] is False and refused["error"]["exit_code"] == 3
    assert {h["service"]: h["amount"] for h in refused["holding"]} == {
        "postgres": 11, "redis": 3, "notes": 3,
    }  # fmt: skip
    # nothing changed: every row, key and file as it was, the volume's service never stopped
    assert len(orders(p, where["postgres"])) == 11
    assert cache(p, where["redis"]).dbsize() == 3
    assert notes(docker_client, p, "cat /files/b/43.txt") == "invoice 43\n"
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started

    # a service named alone is asked alone; --force restores over what it holds
    result = p.devkit("restore", "local", "--from", backup["id"], "redis", "--force", "--json")
    assert result.code == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["forced"] is True
    assert done["replaced"] == [
        {"service": "redis", "part": "redis.rdb", "amount": 3, "says": "3 keys"}
    ]
    assert "replace" in result.stderr and "3 keys" in result.stderr
    assert cache(p, where["redis"]).dbsize() == 2 and len(orders(p, where["postgres"])) == 11
    result = p.devkit("restore", "local", "--from", backup["id"], "--force", timeout=300)
    assert result.code == 0, result.stderr
    where = ports(p)
    assert len(orders(p, where["postgres"])) == 10
    assert notes(docker_client, p, "find /files -mindepth 1 | sort") == "/files/42.txt\n"


def test_an_interrupted_backup_leaves_nothing_that_looks_complete(project) -> None:
    p = stack(project)
    where = up(p)
    with pg(p, where["postgres"]) as conn:  # ~60 MB that compresses badly: pg_dump takes seconds
        conn.execute("CREATE TABLE noise AS SELECT i, md5(i::text) || md5((i * 7)::text) || "
                     "md5((i * 13)::text) AS body FROM generate_series(1, 500000) AS i")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "backup", "local", "postgres"], cwd=p.root, env=p.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    began = time.monotonic()
    for line in proc.stderr:  # the dump has started: interrupt it
        if "backup pg_dump" in line or time.monotonic() - began > 60:
            break
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    rest = proc.stderr.read()
    assert code == 130, rest
    assert "interrupted: no backup was kept" in rest
    assert json.loads(p.devkit("backups", "local", "--json").stdout)["backups"] == []
    kept = p.root / "backups" / p.name / "local"
    assert not kept.exists() or list(kept.iterdir()) == []  # not even a partial one


def test_backup_to_minio_and_back_with_the_objects_of_a_minio_service(project) -> None:
    store = stack(project, STORE_BLUEPRINT)
    store_address = up(store)["store"]
    p = stack(project, OBJECTS_BLUEPRINT)
    where = up(p)
    write_orders(p, where["postgres"], 100)
    objects = Minio(where["minio"], access_key="shop", secret_key=p.env["S3_PASSWORD"],
                    secure=False)  # fmt: skip
    objects.make_bucket("invoices")
    objects.make_bucket("empty")
    for i in range(20):
        body = f"invoice {i}".encode() * 100
        objects.put_object("invoices", f"2026/{i}.txt", io.BytesIO(body), length=len(body))
    p.env.update(DEVKIT_S3_ENDPOINT=f"http://{store_address}", AWS_ACCESS_KEY_ID="backups",
                 AWS_SECRET_ACCESS_KEY=store.env["STORE_PASSWORD"])  # fmt: skip
    s3 = "s3://devkit-backups/nightly"

    result = p.devkit("backup", "local", "--store", s3, "--json", timeout=300)
    assert result.code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert {(x["service"], x["method"]) for x in manifest["parts"]} == {
        ("postgres", "pg_dump"), ("minio", "s3_objects"),
    }  # fmt: skip
    assert "test-only" not in result.stdout + result.stderr
    kept = Minio(store_address, access_key="backups", secret_key=store.env["STORE_PASSWORD"],
                 secure=False)  # fmt: skip
    names = sorted(o.object_name for o in kept.list_objects("devkit-backups", recursive=True))
    assert f"nightly/{p.name}/local/{manifest['id']}/manifest.json" in names
    assert (
        "test-only"
        not in kept.get_object(
            "devkit-backups", f"nightly/{p.name}/local/{manifest['id']}/manifest.json"
        )
        .read()
        .decode()
    )

    assert p.devkit("down", "--volumes").code == 0
    where = up(p)
    assert orders(p, where["postgres"]) == []
    result = p.devkit("restore", "local", "--store", s3, "--from", "latest", timeout=300)
    assert result.code == 0, result.stderr
    where = ports(p)
    assert len(orders(p, where["postgres"])) == 100
    objects = Minio(where["minio"], access_key="shop", secret_key=p.env["S3_PASSWORD"],
                    secure=False)  # fmt: skip
    assert sorted(b.name for b in objects.list_buckets()) == ["empty", "invoices"]
    found = sorted(o.object_name for o in objects.list_objects("invoices", recursive=True))
    assert found == sorted(f"2026/{i}.txt" for i in range(20))
    assert objects.get_object("invoices", "2026/7.txt").read() == b"invoice 7" * 100
