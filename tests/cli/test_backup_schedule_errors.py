"""Scheduled backups that cannot work are refused when the blueprint is read: one paragraph at
the blueprint's line, exit 2, no traceback, nothing rendered or written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_devkit

HEADER = """\
from devkit import BackupSchedule as B, Blueprint, Docker, Egress, Kind, Secret, VolumeCopy
from blueprints import minio, postgres, redis
app = Blueprint("shop")
app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
app.use(postgres(password=Secret("DB_PASSWORD")))
app.use(redis())
app.service("notes", image="python:3.11-slim", volumes={"files": "/files"})
S3 = dict(store="s3://backups/nightly", endpoint="http://minio:9000", access_key="shop")
"""

# (id, the environment's line, message parts); every error points at that line.
CASES = [
    ("cron-fields", 'app.environment("dev", Kind("k"), backups=B("0 3 * *", **S3))',
     ['"0 3 * *" is not a cron schedule: it has 4 fields, a CronJob takes 5']),
    ("cron-range", 'app.environment("dev", Kind("k"), backups=B("0 25 * * *", **S3))',
     ["hour 25 is out of range (0-23)"]),
    ("cron-macro", 'app.environment("dev", Kind("k"), backups=B("@nightly", **S3))',
     ['"@nightly" is not a schedule: the macros are @yearly']),
    ("bucket-name",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", store="s3://b1", '
     'endpoint="http://minio:9000"))',
     ['store: "s3://b1": "b1" is not an S3 bucket name']),
    ("keep-zero", 'app.environment("dev", Kind("k"), backups=B("0 3 * * *", keep=0, **S3))',
     ["keep=0: a schedule keeps at least the backup it just took (keep=1)"]),
    ("directory-store",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", store="backups", '
     'endpoint="http://minio:9000"))',
     ['store: "backups" cannot be written from a cluster', "give s3://BUCKET[/PREFIX]"]),
    ("loopback-endpoint",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", store="s3://bk1/x", '
     'endpoint="http://127.0.0.1:9000"))',
     ['endpoint: "http://127.0.0.1:9000" is the backup pod itself']),
    ("docker-target", 'app.environment("dev", Docker(), backups=B("0 3 * * *", **S3))',
     ["a schedule is rendered as a Kubernetes CronJob, and this environment runs on docker",
      "schedule `devkit backup dev` with the host's own scheduler"]),
    ("volume-copy-named",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", services=["notes"], **S3))',
     ['backups: service "notes" is backed up by volume_copy, which a schedule cannot run',
      "services a schedule can back up: postgres, redis",
      "volume copies stop the service: run `devkit backup` for them"]),
    ("unknown-service",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", services=["pg"], **S3))',
     ["backups: service 'pg' is not defined"]),
    ("unknown-endpoint-service",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", store="s3://bk1", '
     'endpoint="http://s3:9000"))',
     ['endpoint http://s3:9000: "s3" is not a service of the environment']),
    ("outside-store-without-egress",
     'app.environment("dev", Kind("k"), backups=B("0 3 * * *", store="s3://bk1", '
     'endpoint="https://s3.eu-west-1.amazonaws.com"))',
     ["is outside the environment, and its pods reach only what their NetworkPolicies admit",
      'egress=[Egress("203.0.113.0/24", 443)]']),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_schedule_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, line: str, expected: list[str]
) -> None:
    text = HEADER + line + "\n"
    (tmp_path / "blueprint.py").write_text(text)
    before = sorted(p.name for p in tmp_path.rglob("*"))

    result = run_devkit("render", "dev", cwd=tmp_path)

    assert result.code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: blueprint.py:9:"), result.stderr
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing may be written"


def test_no_service_with_a_method_a_schedule_can_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(textwrap.dedent("""\
        from devkit import BackupSchedule, Blueprint, Kind
        app = Blueprint("shop")
        app.service("notes", image="python:3.11-slim", volumes={"files": "/files"})
        app.service("s3", image="minio/minio:latest", ports={"s3": 9000})
        app.environment("dev", Kind("k"), backups=BackupSchedule(
            "0 3 * * *", store="s3://backups", endpoint="http://s3:9000"))
        """))  # fmt: skip
    result = run_devkit("render", "dev", cwd=tmp_path)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("error: blueprint.py:5: environment \"dev\": backups: no "
                                    "service has a method a schedule can run")  # fmt: skip
    assert "declare backup=PgDump() or RedisSnapshot()" in result.stderr


def test_plan_shows_the_schedule_and_render_warns_of_what_it_leaves_out(tmp_path: Path) -> None:
    line = 'app.environment("dev", Kind("k"), backups=B("0 3 * * *", keep=3, **S3))\n'
    (tmp_path / "blueprint.py").write_text(HEADER + line)
    planned = run_devkit("plan", "dev", cwd=tmp_path)
    assert planned.code == 0, planned.stderr
    assert ("backups    0 3 * * *: postgres, redis -> s3://backups/nightly at "
            "http://minio:9000, keep 3") in planned.stdout  # fmt: skip
    rendered = run_devkit("render", "dev", cwd=tmp_path)
    assert rendered.code == 0, rendered.stderr
    assert "kind: CronJob" in rendered.stdout
    for left_out in ('"minio" (s3_objects)', '"notes" (volume_copy)'):
        assert f"backups: service {left_out} is left out of the schedule" in rendered.stderr
