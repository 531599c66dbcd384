"""Scheduled backups rendered: a CronJob (one run at a time, a deadline, history limits) whose
pod dumps each service in the service's own image and uploads with the shipped program, a
ServiceAccount without a token and no Role, the NetworkPolicies that let that pod (and only it)
reach what it reads, and no secret value anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blueprints import minio, postgres, redis
from devkit.errors import BlueprintError
from devkit.model.backup import BackupSchedule
from devkit.model.blueprint import Blueprint
from devkit.model.egress import Egress
from devkit.model.refs import Secret
from devkit.model.targets import Cluster, Kind, Kubernetes
from devkit.model.tenant import Tenant
from devkit.planning.planner import plan
from devkit.render import backup_job
from devkit.render.images import BACKUP_IMAGE
from devkit.render.manifest import render
from devkit.render.version import DEFAULT, parse
from devkit.schemas import validate
from tests.unit.render.conftest import find

SCHEDULE = BackupSchedule(
    "30 2 * * *", store="s3://backups/nightly", endpoint="http://minio:9000",
    access_key="shop", secret_key=Secret("S3_PASSWORD"), keep=3, deadline=900,
)  # fmt: skip


def _app(schedule: BackupSchedule | None = SCHEDULE, target: Any = None) -> Blueprint:
    app = Blueprint("shop")
    app.use(minio(user="shop", password=Secret("S3_PASSWORD")))
    app.use(postgres(database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD")))
    app.use(redis(password=Secret("CACHE_PASSWORD")))
    app.service("notes", image="python:3.11-slim", volumes={"files": "/files"})
    app.environment("dev", target or Kind("dev"), backups=schedule)
    return app


def _objects(images: dict[str, str] | None = None) -> tuple[dict[str, Any], ...]:
    return render(plan(_app(), "dev"), images).objects


def _pod(objects: Any) -> dict[str, Any]:
    cron = find(objects, "CronJob", "devkit-backup")
    return dict(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def test_cronjob_runs_once_at_a_time_with_a_deadline_and_history_limits() -> None:
    objects = _objects()
    cron = find(objects, "CronJob", "devkit-backup")
    spec = cron["spec"]
    assert spec["schedule"] == "30 2 * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 3
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 900
    validate(objects, parse(DEFAULT))  # the CronJob is valid against Kubernetes' own schema


def test_each_service_is_dumped_in_its_own_image_then_uploaded() -> None:
    pod = _pod(_objects({BACKUP_IMAGE: "devkit-local/python:3.11-bookworm"}))
    dumps = {c["name"]: c for c in pod["initContainers"]}
    assert sorted(dumps) == ["dump-postgres", "dump-redis"]
    assert dumps["dump-postgres"]["image"] == "postgres:16"
    assert "pg_dump --format=custom" in dumps["dump-postgres"]["command"][2]
    assert "-h postgres -p 5432" in dumps["dump-postgres"]["command"][2]
    assert "redis-cli -h redis -p 6379" in dumps["dump-redis"]["command"][2]
    assert "--rdb /backup/redis.rdb" in dumps["dump-redis"]["command"][2]
    [upload] = pod["containers"]
    assert upload["image"] == "devkit-local/python:3.11-bookworm"
    assert upload["command"] == ["python3", "/devkit/backup_job.py"]
    assert pod["restartPolicy"] == "Never"


def test_passwords_come_from_the_secret_by_reference_only() -> None:
    objects = _objects()
    pod = _pod(objects)
    postgres_env = {e["name"]: e for e in pod["initContainers"][0]["env"]}
    assert postgres_env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-secrets", "key": "SHOP_DB_PASSWORD",
    }  # fmt: skip
    assert set(postgres_env) == {"POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"}  # no more
    upload = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert upload["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "S3_PASSWORD"
    assert upload["AWS_ACCESS_KEY_ID"] == {"name": "AWS_ACCESS_KEY_ID", "value": "shop"}
    assert "PGPASSWORD" not in json.dumps(pod["initContainers"][0]["env"])  # set in the shell


def test_the_upload_is_told_the_backup_in_devkits_own_layout() -> None:
    planned = plan(_app(), "dev")
    pod = _pod(render(planned).objects)
    config = json.loads(
        {e["name"]: e for e in pod["containers"][0]["env"]}["DEVKIT_BACKUP"]["value"]
    )
    assert config["base"] == "nightly/shop/dev"  # as devkit backup --store s3://backups/nightly
    assert config["bucket"] == "backups"
    assert config["plan_hash"] == planned.hash
    assert config["keep"] == 3
    assert config["parts"] == [
        {"name": "postgres.pgdump", "service": "postgres", "method": "pg_dump"},
        {"name": "redis.rdb", "service": "redis", "method": "redis_rdb"},
    ]
    assert [w.split('"')[1] for w in config["warnings"]] == ["minio", "notes"]


def test_the_pod_has_no_token_no_role_and_the_shipped_program() -> None:
    objects = _objects()
    account = find(objects, "ServiceAccount", "devkit-backup")
    assert account["automountServiceAccountToken"] is False
    assert not [o for o in objects if o["kind"] in ("Role", "RoleBinding")]
    pod = _pod(objects)
    assert pod["serviceAccountName"] == "devkit-backup"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    for c in [*pod["initContainers"], *pod["containers"]]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    program = find(objects, "ConfigMap", "devkit-backup")["data"]["backup_job.py"]
    assert program == Path(backup_job.__file__).read_text()


def test_only_the_backup_pod_reaches_what_it_reads_and_the_store_on_their_ports() -> None:
    objects = _objects()
    policy = find(objects, "NetworkPolicy", "devkit-backup")
    reached = {
        r["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]: r["ports"]
        for r in policy["spec"]["egress"]
        if "namespaceSelector" not in r["to"][0]  # DNS is in kube-system
    }
    assert reached == {
        "minio": [{"port": 9000, "protocol": "TCP"}],  # the S3 API, not the console
        "postgres": [{"port": 5432, "protocol": "TCP"}],
        "redis": [{"port": 6379, "protocol": "TCP"}],
    }
    backup_pod = {"podSelector": {"matchLabels": {
        "app.kubernetes.io/instance": "shop-dev", "app.kubernetes.io/name": "devkit-backup",
    }}}  # fmt: skip
    for name in ("postgres", "redis", "minio", "notes"):
        admitting = [rule["ports"] for rule in find(objects, "NetworkPolicy", name)["spec"]
                     .get("ingress", []) if backup_pod in rule["from"]]  # fmt: skip
        assert admitting == ([] if name == "notes" else [reached[name]]), name


def test_a_store_outside_the_environment_is_reached_by_its_declared_egress() -> None:
    schedule = SCHEDULE.model_copy(update={
        "endpoint": "https://s3.eu-west-1.amazonaws.com", "egress": (Egress("52.95.0.0/16", 443),),
    })  # fmt: skip
    objects = render(plan(_app(schedule), "dev")).objects
    rules = find(objects, "NetworkPolicy", "devkit-backup")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "52.95.0.0/16"}}],
            "ports": [{"port": 443, "protocol": "TCP"}]} in rules  # fmt: skip
    minio_sources = find(objects, "NetworkPolicy", "minio")["spec"]["ingress"][0]["from"]
    assert all("devkit-backup" not in json.dumps(s) for s in minio_sources)


def test_an_environment_without_a_schedule_renders_no_cronjob_and_keeps_its_hash() -> None:
    planned = plan(_app(None), "dev")
    assert "backups" not in json.loads(planned.to_json())
    assert not [o for o in render(planned).objects if o["kind"] == "CronJob"]
    assert plan(_app(), "dev").hash != planned.hash  # what runs changed: the CronJob


def test_scheduled_backup_secrets_are_among_the_environments_secrets() -> None:
    schedule = SCHEDULE.model_copy(update={
        "access_key": Secret("BACKUP_KEY_ID"), "secret_key": Secret("BACKUP_KEY"),
    })  # fmt: skip
    planned = plan(_app(schedule, Kubernetes(context="prod")), "dev")
    assert {"BACKUP_KEY", "BACKUP_KEY_ID", "SHOP_DB_PASSWORD"} <= planned.secret_names


def test_the_cronjobs_runs_are_never_pruned_by_an_apply() -> None:
    from devkit.targets.kubernetes.spec import key, to_prune

    objects = _objects()
    template = find(objects, "CronJob", "devkit-backup")["spec"]["jobTemplate"]
    run = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "devkit-backup-29400000", "namespace": "shop-dev",
                        "labels": template["metadata"]["labels"]}}  # fmt: skip
    assert to_prune([key(o) for o in objects], [run], "shop-dev") == []
    cron = find(objects, "CronJob", "devkit-backup")  # the CronJob itself is devkit's
    assert to_prune([], [cron], "shop-dev") == [key(cron)]


@pytest.mark.parametrize(
    ("target", "tenants", "expected"),
    [
        (Kind("dev"), [Tenant("acme")], "not supported yet with tenants"),
        (Kubernetes(clusters=[Cluster("eu"), Cluster("us")]), [], "on several clusters"),
        (Kubernetes(mesh="istio"), [], "with a service mesh"),
    ],
)
def test_a_schedule_where_backups_would_mix_or_never_end_is_refused(
    target: Any, tenants: list[Tenant], expected: str
) -> None:
    app = _app(None)
    app.environment("two", target, tenants=tenants, backups=SCHEDULE)
    with pytest.raises(BlueprintError, match=expected) as raised:
        plan(app, "two")
    assert raised.value.location is not None
