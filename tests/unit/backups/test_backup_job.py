"""The program a scheduled backup's pod runs (devkit/render/backup_job.py, standard library
only): which backups retention deletes, its S3 signatures (the same as the minio client's),
and a manifest that `devkit restore` reads."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime

from minio.credentials import Credentials
from minio.signer import sign_v4_s3

from devkit.records.backup import Manifest
from devkit.render.backup_job import Listed, expired, manifest, signed_headers

HOUR = 3600.0
NOW = 1_800_000_000.0


def _backup(backup: str, at: float, *, complete: bool = True) -> list[Listed]:
    names = ["postgres.pgdump", "redis.rdb"] + (["manifest.json"] if complete else [])
    return [Listed(f"{backup}/{name}", at) for name in names]


def test_retention_keeps_the_newest_complete_backups() -> None:
    listed = [item for n in range(5) for item in _backup(f"2026113{n}T030000Z-00000{n}", NOW)]
    assert expired(listed, 2, NOW, HOUR) == [
        "20261130T030000Z-000000", "20261131T030000Z-000001", "20261132T030000Z-000002",
    ]  # fmt: skip
    assert expired(listed, 5, NOW, HOUR) == []
    assert expired(listed, 9, NOW, HOUR) == []


def test_retention_leaves_a_run_still_writing_and_removes_old_leftovers() -> None:
    listed = [
        *_backup("20261128T030000Z-aaaaaa", NOW - 3 * HOUR, complete=False),  # an old leftover
        *_backup("20261129T030000Z-bbbbbb", NOW - 10, complete=False),  # still being written
        *_backup("20261130T030000Z-cccccc", NOW),
        *_backup("20261130T040000Z-dddddd", NOW - 3 * HOUR, complete=False),  # newer: kept
    ]
    assert expired(listed, 1, NOW, HOUR) == ["20261128T030000Z-aaaaaa"]


def test_retention_deletes_nothing_without_a_complete_backup_nor_what_is_not_a_backup() -> None:
    stranger = [Listed("notes.txt", 0), Listed("2026/old.tar", 0), Listed("x/manifest.json", 0)]
    old = _backup("20201130T030000Z-aaaaaa", 0, complete=False)
    assert expired(stranger + old, 1, NOW, HOUR) == []
    assert expired([*stranger, *_backup("20261130T030000Z-cccccc", NOW)], 1, NOW, HOUR) == []


def test_signatures_are_the_minio_clients() -> None:
    when = datetime(2026, 11, 30, 3, 0, 7, tzinfo=UTC)
    url = (
        "http://minio:9000/backups?continuation-token=a%2Fb%3D&list-type=2&prefix=nightly%2Fshop%2F"
    )
    digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    ours = signed_headers("GET", url, digest, credentials=("shop", "s3cr3t-value"),
                          region="us-east-1", now=when)  # fmt: skip
    theirs = sign_v4_s3(
        method="GET", url=urllib.parse.urlsplit(url), region="us-east-1",
        headers={"Host": "minio:9000", "x-amz-content-sha256": digest,
                 "x-amz-date": "20261130T030007Z"},
        credentials=Credentials("shop", "s3cr3t-value"), content_sha256=digest, date=when,
    )  # fmt: skip
    assert ours["Authorization"] == theirs["Authorization"]
    assert "s3cr3t-value" not in json.dumps(ours)


def test_a_scheduled_manifest_is_one_devkit_restores() -> None:
    config = {"project": "shop", "environment": "dev", "plan_hash": "ab" * 32,
              "services": ["postgres"], "warnings": ['service "notes" (volume_copy) ...']}  # fmt: skip
    part = {"name": "postgres.pgdump", "service": "postgres", "method": "pg_dump",
            "size": 1234, "sha256": "cd" * 32}  # fmt: skip
    created = datetime(2026, 11, 30, 3, 0, 7, tzinfo=UTC)
    text = manifest(config, "20261130T030007Z-0a1b2c", created, [part], 1.234)
    read = Manifest.from_json(text, "20261130T030007Z-0a1b2c")
    assert read.to_json() == text  # the same bytes devkit writes for a backup of its own
    assert read.size == 1234
    assert read.release is None
