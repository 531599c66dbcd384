"""What a backup holds and how (steps), its manifest, and the checks restore makes: pure."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from blueprints import minio, postgres, redis
from devkit import Blueprint, Docker, Kind, Kubernetes, PgDump, Secret, Swarm, VolumeCopy, plan
from devkit.backups.store import DirectoryStore, measure, open_store
from devkit.errors import BlueprintError, ConfigError, UserError
from devkit.records.backup import (
    BackupRefusedError,
    Manifest,
    Part,
    check_parts,
    new_id,
    reading,
    restore_steps,
    select,
)
from devkit.targets.base import BacksUp, CopiesVolumes
from devkit.targets.registry import capable


def shop(target: object = None) -> Blueprint:
    app = Blueprint("shop")
    app.use(postgres(database="shop", password=Secret("DB_PASSWORD")))
    app.use(redis(password=Secret("CACHE_PASSWORD")))
    app.use(minio(password=Secret("S3_PASSWORD")))
    app.service("files", image="python:3.11-slim", volumes={"data": "/data", "logs": "/logs"})
    app.service("api", image="api:1")
    app.environment("local", Docker())
    app.environment("prod", Kubernetes(context="prod"))
    return app


def test_every_service_with_data_is_backed_up_as_it_declares() -> None:
    steps = select(plan(shop(), "local"), [], copies_volumes=True).steps
    assert [(s.service, s.method, s.part, s.how) for s in steps] == [
        ("files", "volume_copy", "files.data.tar", "volume"),
        ("files", "volume_copy", "files.logs.tar", "volume"),
        ("minio", "s3_objects", "minio.objects.tar", "s3"),
        ("postgres", "pg_dump", "postgres.pgdump", "exec"),
        ("redis", "redis_rdb", "redis.rdb", "exec"),
    ]
    pg = next(s for s in steps if s.service == "postgres")
    assert "pg_dump --format=custom" in pg.dump[-1] and '"$POSTGRES_USER"' in pg.dump[-1]
    assert "pg_restore --clean --if-exists --single-transaction" in pg.restore[-1]
    assert next(s for s in steps if s.service == "minio").port == 9000


def test_passwords_are_read_inside_the_container_never_passed_in() -> None:
    steps = {s.service: s for s in select(plan(shop(), "local"), [], copies_volumes=True).steps}
    assert steps["postgres"].dump[-1].startswith('PGPASSWORD="${POSTGRES_PASSWORD:-}" exec ')
    assert 'export REDISCLI_AUTH="${REDIS_PASSWORD:-}"' in steps["redis"].dump[-1]


def test_a_target_that_cannot_copy_volumes_leaves_them_out_with_a_warning() -> None:
    chosen = select(plan(shop(), "prod"), [], copies_volumes=False)
    assert "files" not in {s.service for s in chosen.steps}
    (warning,) = chosen.warnings
    assert 'service "files"' in warning and "kubernetes targets cannot copy" in warning
    with pytest.raises(UserError, match="cannot copy a stopped service's volumes"):
        select(plan(shop(), "prod"), ["files"], copies_volumes=False)


def test_docker_kind_and_kubernetes_back_up_and_copy_volumes_swarm_does_not() -> None:
    app = shop()
    app.environment("dev", Kind("shop-dev"))
    app.environment("swarm", Swarm())
    assert capable(app, BacksUp) == ["local", "prod", "dev"]
    assert capable(app, CopiesVolumes) == ["local", "prod", "dev"]


def test_unknown_services_and_services_without_data_are_refused() -> None:
    planned = plan(shop(), "local")
    with pytest.raises(UserError) as unknown:
        select(planned, ["db2"], copies_volumes=True)
    assert "no service 'db2' in shop/local" in unknown.value.message
    assert "files, minio, postgres, redis" in unknown.value.details[0]
    with pytest.raises(UserError, match="'api' keeps no data"):
        select(planned, ["api"], copies_volumes=True)


def test_a_declared_method_must_read_variables_the_service_has() -> None:
    app = Blueprint("x")
    with pytest.raises(BlueprintError, match="backup reads PGUSER"):
        app.service("db", image="postgres:16", env={"POSTGRES_DB": "x"},
                    backup=PgDump(user_env="PGUSER", password_env=None))  # fmt: skip
    made = app.service("blobs", image="x:1", volumes={"d": "/d"}, backup=VolumeCopy())
    assert made.backup == VolumeCopy()


def _manifest(parts: tuple[Part, ...]) -> Manifest:
    return Manifest(id=new_id(datetime(2026, 11, 30, 14, 30, tzinfo=UTC), "abcdef12"),
                    project="shop", environment="local", created="2026-11-30T14:30:00+00:00",
                    plan_hash="h" * 64, release=None, services=("postgres",),
                    parts=parts)  # fmt: skip


def test_the_manifest_round_trips_and_a_tampered_one_is_refused() -> None:
    part = Part("postgres.pgdump", "postgres", "pg_dump", 10, "a" * 64)
    manifest = _manifest((part,))
    assert manifest.id == "20261130T143000Z-abcdef"
    assert Manifest.from_json(manifest.to_json(), manifest.id) == manifest
    assert json.loads(manifest.to_json())["size"] == 10
    with pytest.raises(BackupRefusedError, match="not readable"):
        Manifest.from_json(manifest.to_json()[:-20], manifest.id)
    bad = json.loads(manifest.to_json())
    bad["parts"][0]["name"] = "../../etc/passwd"
    with pytest.raises(BackupRefusedError, match="names a part it cannot hold"):
        Manifest.from_json(json.dumps(bad), manifest.id)


def test_the_cluster_a_backup_was_taken_on_round_trips_and_older_manifests_have_none() -> None:
    part = Part("postgres.pgdump", "postgres", "pg_dump", 10, "a" * 64)
    on_eu = replace(_manifest((part,)), environment="prod", release=3, cluster="eu")
    assert Manifest.from_json(on_eu.to_json(), on_eu.id).cluster == "eu"
    older = json.loads(on_eu.to_json())
    del older["cluster"]  # written before environments ran on several clusters
    assert Manifest.from_json(json.dumps(older), on_eu.id).cluster is None


def test_parts_are_checked_by_size_and_sha256() -> None:
    manifest = _manifest((Part("a.tar", "files", "volume_copy", 3, "0" * 64),
                          Part("b.tar", "files", "volume_copy", 3, "1" * 64)))  # fmt: skip
    assert check_parts(manifest, {"a.tar": (3, "0" * 64), "b.tar": (3, "1" * 64)}) == []
    problems = check_parts(manifest, {"a.tar": (2, "0" * 64)})
    assert problems == ["part a.tar has 2 bytes, the manifest says 3", "part b.tar is missing"]
    assert "sha256" in check_parts(manifest, {"a.tar": (3, "2" * 64), "b.tar": (3, "1" * 64)})[0]


def test_restore_refuses_services_the_backup_or_the_environment_lacks() -> None:
    planned = plan(shop(), "local")
    manifest = _manifest((Part("postgres.pgdump", "postgres", "pg_dump", 1, "a" * 64),))
    ((step, part),) = restore_steps(planned, manifest, [], copies_volumes=True)
    assert (step.service, step.method, part.name) == ("postgres", "pg_dump", "postgres.pgdump")
    with pytest.raises(UserError, match="holds no 'redis'"):
        restore_steps(planned, manifest, ["redis"], copies_volumes=True)
    other = _manifest((Part("postgres.pgdump", "postgres", "volume_copy", 1, "a" * 64),))
    with pytest.raises(UserError, match="backed up by volume_copy in backup"):
        restore_steps(planned, other, [], copies_volumes=True)


def test_reading_feeds_a_command_exactly_its_part_even_if_stdin_stays_open() -> None:
    command = reading(("sh", "-c", "wc -c"), 5)
    proc = subprocess.run(command, input=b"hello and more", capture_output=True, check=True)
    assert proc.stdout.strip() == b"5"


def test_a_directory_backup_is_listed_only_once_its_manifest_is_written(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path, "shop", "local")
    size, digest = store.write_part("b1", "postgres.pgdump", [b"abc", b"def"])
    assert (size, digest) == measure([b"abcdef"])
    assert store.backups() == [] and store.manifest("b1") is None  # partial: invisible
    store.finish("b1", "{}")
    assert store.backups() == ["b1"] and store.manifest("b1") == "{}"
    assert b"".join(store.read_part("b1", "postgres.pgdump")) == b"abcdef"
    store.write_part("b2", "x", [b"1"])
    store.discard("b2")
    assert sorted(p.name for p in (tmp_path / "shop" / "local").iterdir()) == ["b1"]


def test_an_s3_store_needs_its_endpoint_and_credentials_and_never_shows_them(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as missing:
        open_store("s3://team/dk", tmp_path, "shop", "local", environ={"AWS_ACCESS_KEY_ID": "k"})
    assert "DEVKIT_S3_ENDPOINT, AWS_SECRET_ACCESS_KEY not set" in missing.value.message
    store = open_store("s3://team/dk", tmp_path, "shop", "local", environ={
        "DEVKIT_S3_ENDPOINT": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "key-id",
        "AWS_SECRET_ACCESS_KEY": "the-secret",
    })  # fmt: skip
    assert store.where == "s3://team/dk/shop/local at 127.0.0.1:9000"
    assert isinstance(open_store("backups", tmp_path, "shop", "local"), DirectoryStore)
