"""Scheduled backups on the kind testbed: a stack with postgres, redis (both with passwords)
and a MinIO that is also the backup store; the rendered CronJob is run now, three times
(`kubectl create job --from=cronjob/devkit-backup`, as an operator would), under the
environment's NetworkPolicies; `devkit backups` lists the complete ones, retention (keep=2) kept
the newest two and left alone what is not a finished backup; a run with a wrong store key
fails and leaves nothing that looks complete; `devkit restore` of a scheduled
backup brings every order and key back. Real kind, kube-router enforcing the policies, no
mocks."""

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
from devkit import BackupSchedule, Blueprint, Kind, Secret
from blueprints import minio, postgres, redis
app = Blueprint("{name}")
app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
app.use(redis(password=Secret("CACHE_PASSWORD")))
app.environment("dev", Kind("{cluster}"), backups=BackupSchedule(
    "0 3 * * *", store="s3://backups/nightly", endpoint="http://minio:9000",
    access_key="shop", secret_key=Secret("S3_PASSWORD"), keep=2))
"""
LEFTOVER = "nightly/{project}/dev/20200101T000000Z-0abcde/postgres.pgdump"
"""A partial backup (no manifest) written just now: a run still writing, never deleted."""
WRONG_KEY = "test-only-wrong-key-9f3e1c"
STRANGER = "nightly/{project}/dev/notes.txt"
"""Not a backup: retention never touches it."""


def test_cronjob_backups_are_listed_pruned_and_restored_on_kind(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    stack = data_stack(testbed, tmp_path, "sb", BLUEPRINT)
    project, namespace, passwords = stack.project, stack.namespace, stack.passwords
    devkit, sql, redis = stack.devkit, stack.sql, stack.redis
    batch = client.BatchV1Api(testbed.api)
    core = client.CoreV1Api(testbed.api)

    @contextlib.contextmanager
    def store() -> Iterator[tuple[Minio, dict[str, str]]]:
        """The MinIO service, and the variables that make it devkit's store."""
        with stack.minio() as (s3, endpoint):
            yield s3, {"DEVKIT_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "shop",
                       "AWS_SECRET_ACCESS_KEY": passwords["S3_PASSWORD"]}  # fmt: skip

    def job_logs(job: str) -> str:
        """Every container's log lines of the job's pods (those that started)."""
        found = []
        for pod in core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items:
            for c in [*(pod.spec.init_containers or []), *pod.spec.containers]:
                try:
                    text = core.read_namespaced_pod_log(
                        pod.metadata.name, namespace, container=c.name
                    )
                except ApiException as exc:
                    text = f"(no log: {exc.reason})"
                found.append(f"--- {pod.metadata.name}/{c.name}:\n{text}")
            found.append(
                f"--- status: {pod.status.container_statuses} {pod.status.init_container_statuses}"
            )
        return "\n".join(found)

    def finish(name: str) -> tuple[str, str]:
        """Wait until job `name` completed or failed (after its retry); that, and its logs."""

        def finished() -> str | None:
            status = batch.read_namespaced_job_status(name, namespace).status
            conditions = {c.type: c.status for c in status.conditions or []}
            if conditions.get("Complete") == "True":
                return "ok"
            return "failed" if conditions.get("Failed") == "True" else None

        outcome = wait_for(f"job {name}", finished, 300, interval=1)
        logs = job_logs(name)
        assert not any(p in logs for p in passwords.values()), logs
        return outcome, logs

    def run_cronjob(number: int) -> float:
        """A Job from the CronJob, as `kubectl create job --from=cronjob/...` makes it; the
        seconds until it completed."""
        name = f"devkit-backup-now-{number}"
        began = time.monotonic()
        testbed.kubectl("create", "job", "-n", namespace, name, "--from=cronjob/devkit-backup")
        outcome, logs = finish(name)
        assert outcome == "ok", logs
        return time.monotonic() - began

    def run_with_a_wrong_key() -> str:
        """A Job of the CronJob's template whose store key is wrong: its logs."""
        template = batch.read_namespaced_cron_job("devkit-backup", namespace).spec.job_template
        spec = client.ApiClient().sanitize_for_serialization(template)["spec"]
        upload = spec["template"]["spec"]["containers"][0]
        upload["env"] = [
            {"name": e["name"], "value": WRONG_KEY} if e["name"] == "AWS_SECRET_ACCESS_KEY" else e
            for e in upload["env"]
        ]
        name = "devkit-backup-wrong-key"
        batch.create_namespaced_job(namespace, {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec,
        })  # fmt: skip
        outcome, logs = finish(name)
        assert outcome == "failed", logs
        return logs

    try:
        run = devkit("up", "-e", "dev", "--detach", timeout=900)
        assert run.code == 0, run.stdout + run.stderr
        cron = batch.read_namespaced_cron_job("devkit-backup", namespace)
        assert cron.spec.concurrency_policy == "Forbid"
        assert cron.spec.schedule == "0 3 * * *"
        rendered = json.dumps(client.ApiClient().sanitize_for_serialization(cron))
        assert not any(p in rendered for p in passwords.values())

        sql("CREATE TABLE orders (id int PRIMARY KEY, item text, total numeric)")
        with store() as (s3, _):
            s3.make_bucket("backups")
            for key in (LEFTOVER, STRANGER):
                s3.put_object("backups", key.format(project=project),
                              io.BytesIO(b"not a backup"), 12)  # fmt: skip
        seconds = []
        for number in range(1, 4):
            sql(f"INSERT INTO orders SELECT i, 'item ' || i, i * 1.25 "
                f"FROM generate_series({(number - 1) * 5000 + 1}, {number * 5000}) AS i")  # fmt: skip
            redis("SET", f"cart:{number}", f"'{number} items'")
            seconds.append(run_cronjob(number))
        written = sql("SELECT id, item, total FROM orders ORDER BY id")
        assert len(written.splitlines()) == 15000
        # a run that cannot write to the store fails, leaving nothing that looks complete
        logs = run_with_a_wrong_key()
        assert "error: backup s3://backups/nightly/" in logs
        assert "cannot reach bucket backups: HTTP 403" in logs
        assert WRONG_KEY not in logs

        with store() as (s3, variables):
            run = devkit("backups", "dev", "--store", "s3://backups/nightly", "--json",
                         extra=variables)  # fmt: skip
            assert run.code == 0, run.stderr
            listed = json.loads(run.stdout)
            keys = sorted(o.object_name for o in s3.list_objects("backups", recursive=True))
        backups = listed["backups"] if isinstance(listed, dict) else listed
        ids = [b["id"] for b in backups]
        assert len(ids) == 2, run.stdout  # keep=2: the first run's backup was deleted
        base = f"nightly/{project}/dev"
        assert keys == sorted([
            *(f"{base}/{i}/{part}" for i in ids
              for part in ("manifest.json", "postgres.pgdump", "redis.rdb")),
            LEFTOVER.format(project=project), STRANGER.format(project=project),
        ])  # fmt: skip
        newest = max(backups, key=lambda b: b["id"])
        assert newest["services"] == ["postgres", "redis"]
        assert {p["method"] for p in newest["parts"]} == {"pg_dump", "redis_rdb"}
        assert newest["plan_hash"]
        assert any("minio" in w for w in newest["warnings"])

        # the data goes; the scheduled backup brings it back
        sql("DROP TABLE orders")
        redis("FLUSHALL")
        began = time.monotonic()
        with store() as (_, variables):
            run = devkit("restore", "dev", "--from", newest["id"], "--store",
                         "s3://backups/nightly", "--json", extra=variables)  # fmt: skip
        restore_seconds = time.monotonic() - began
        assert run.code == 0, run.stderr
        assert sql("SELECT id, item, total FROM orders ORDER BY id") == written  # row by row
        assert [redis("GET", f"cart:{n}") for n in (1, 2, 3)] == ["1 items", "2 items", "3 items"]
        sizes = ", ".join(f"{p['name']} {p['size']} bytes" for p in newest["parts"])
        print(
            f"\ncronjob runs {', '.join(f'{s:.1f}s' for s in seconds)}; "
            f"restore {restore_seconds:.1f}s; {sizes}"
        )
    finally:
        devkit("down", "-e", "dev", "--volumes")
