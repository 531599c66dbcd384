"""Whether a restore may replace what services hold now: read from each service's answer, and
decided before anything is touched (pure)."""

from __future__ import annotations

import pytest

from blueprints import minio, postgres, redis
from devkit import Blueprint, Docker, Secret, plan
from devkit.errors import RefusedError
from devkit.records.backup import (
    Held,
    RestoreWouldReplaceError,
    Step,
    held,
    held_objects,
    replacing,
    select,
)


def steps() -> dict[str, Step]:
    app = Blueprint("shop")
    app.use(postgres(database="shop", password=Secret("DB_PASSWORD")))
    app.use(redis(password=Secret("CACHE_PASSWORD")))
    app.use(minio(password=Secret("S3_PASSWORD")))
    app.service("files", image="python:3.11-slim", volumes={"data": "/data"})
    app.environment("local", Docker())
    chosen = select(plan(app, "local"), [], copies_volumes=True).steps
    return {s.service: s for s in chosen}


def test_each_way_of_keeping_data_asks_what_it_holds_where_it_runs() -> None:
    found = steps()
    assert "psql" in found["postgres"].holds[2] and "gexec" in found["postgres"].holds[2]
    assert found["postgres"].holds[2].startswith("printf")
    assert 'PGPASSWORD="${POSTGRES_PASSWORD:-}" psql' in found["postgres"].holds[2]
    assert "pg_class" in found["postgres"].holds[3]  # the query, as an argument: no quoting
    assert found["redis"].holds[2].endswith("cli INFO keyspace")
    assert 'REDISCLI_AUTH="${REDIS_PASSWORD:-}"' in found["redis"].holds[2]
    assert found["files"].holds[-1] == "/data"
    assert found["minio"].holds == ()  # counted over its S3 API instead


def test_rows_keys_files_and_objects_are_read_from_the_services_answers() -> None:
    found = steps()
    rows = held(found["postgres"], "public.orders|12\npublic.items|3\npublic.empty|0\ns.a|b|1\n")
    assert rows == Held("postgres", "postgres.pgdump", 16, "16 rows in 3 tables")
    assert held(found["postgres"], "public.orders|0\n").says == "no rows (1 empty table)"
    assert held(found["postgres"], "").amount == 0
    keys = held(found["redis"], "# Keyspace\r\ndb0:keys=4,expires=0,avg_ttl=0\r\ndb2:keys=1,x\r\n")
    assert (keys.amount, keys.says) == (5, "5 keys")
    assert held(found["redis"], "# Keyspace\r\n").amount == 0
    files = held(found["files"], "2 1\n")
    assert (files.amount, files.says) == (3, "2 files and 1 directory in /data")
    assert held(found["files"], "0 0\n").amount == 0
    with pytest.raises(ValueError, match="unreadable count of /data"):
        held(found["files"], "find: not found\n")
    objects = held_objects(found["minio"], {"invoices": 20, "empty": 0})
    assert (objects.amount, objects.says) == (20, "20 objects in 1 bucket")


def test_a_restore_over_data_is_refused_without_force_naming_each_service() -> None:
    now = [
        Held("postgres", "postgres.pgdump", 12, "12 rows in 3 tables"),
        Held("redis", "redis.rdb", 0, "0 keys"),
        Held("files", "files.data.tar", 2, "2 files and 0 directories in /data"),
    ]
    with pytest.raises(RestoreWouldReplaceError) as refused:
        replacing(now, force=False, backup_id="20261130T143012Z-9ea607", where="shop/local")
    error = refused.value
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert [h.service for h in error.held] == ["postgres", "files"]  # not the empty redis
    text = error.render()
    assert "would replace what shop/local holds now: refused" in text
    assert "postgres holds 12 rows in 3 tables" in text
    assert "files holds 2 files and 0 directories in /data" in text
    assert "--force" in text and "nothing was changed" in text


def test_force_restores_over_data_and_says_what_was_there() -> None:
    now = [Held("postgres", "postgres.pgdump", 12, "12 rows in 3 tables"),
           Held("redis", "redis.rdb", 0, "0 keys")]  # fmt: skip
    assert replacing(now, force=True, backup_id="x", where="shop/local") == (now[0],)


def test_empty_services_after_a_disaster_need_no_flag() -> None:
    now = [Held("postgres", "postgres.pgdump", 0, "no rows (1 empty table)"),
           Held("redis", "redis.rdb", 0, "0 keys")]  # fmt: skip
    assert replacing(now, force=False, backup_id="x", where="shop/local") == ()
    assert replacing([], force=False, backup_id="x", where="shop/local") == ()
