"""Scheduled backups on a cluster: a CronJob whose pod takes a backup in devkit's own format.

One pod per run. Each service the schedule backs up has an init container running the
service's own image (pg_dump, redis-cli are there), which reads the service over the network
into a scratch directory, with the variables its method names (the password from the
environment's Secret, by reference). Then the container `upload` (python3, standard library)
runs `backup_job.py`, rendered into a ConfigMap: it hashes and uploads every part, then the
manifest, then applies retention. The pod has a ServiceAccount of its own without a token: it
never talks to the Kubernetes API, so there is no Role. Concurrent runs are forbidden; a run
has a deadline (`BackupSchedule.deadline`) and the last three successful and failed Jobs are
kept for their logs.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from devkit.errors import RenderError
from devkit.model.backup import BackupSchedule
from devkit.model.refs import Secret
from devkit.planning.planner import Plan, PlannedService
from devkit.records.backup import method_of, scheduled_dump
from devkit.render import env, labels
from devkit.render.images import BACKUP_IMAGE
from devkit.render.network import BACKUP_NAME, backup_pods

FOLDER = "/backup"
SCRIPT = "/devkit"
RUN_AS = 65532
"""The uid (and gid) the backup pod runs as: no service's, no root."""
_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}


def script() -> str:
    """The upload program's source, as it is shipped in devkit."""
    return resources.files("devkit.render").joinpath("backup_job.py").read_text()


def _container_security(uid: int | None = None) -> dict[str, Any]:
    """Hardened as the services are; a dump runs as its service's user where it declares one
    (its image's tools may expect that user to exist)."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        **({"runAsUser": uid, "runAsGroup": uid} if uid is not None else {}),
    }


def _key(plan: Plan, variable: str, value: str | Secret) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": variable, "value": value.replace("$", "$$")}
    ref = {"name": env.secret_object(plan), "key": value.name}
    return {"name": variable, "valueFrom": {"secretKeyRef": ref}}


def left_out(plan: Plan, schedule: BackupSchedule) -> list[str]:
    """What the schedule does not take, said in every manifest it writes."""
    return [
        f'service "{s.name}" ({kind}) is not in scheduled backups: take it with `devkit backup`'
        for s in plan.services
        if s.name not in schedule.services and (kind := _kind(s)) is not None
    ]


def _kind(service: PlannedService) -> str | None:
    method = method_of(service)
    return method.kind if method is not None else None


def objects(plan: Plan, namespace: str, images: dict[str, str]) -> list[dict[str, Any]]:
    """The ServiceAccount, ConfigMap and CronJob of the environment's scheduled backups;
    nothing when it has none. `images`: each service's reference (and the upload's, under
    BACKUP_IMAGE)."""
    schedule = plan.backups
    if schedule is None:
        return []
    by_name = {s.name: s for s in plan.services}
    if BACKUP_NAME in by_name:
        raise RenderError(
            f'service "{BACKUP_NAME}" would share its name with the scheduled backup\'s objects',
            details=["rename the service; devkit names its backup CronJob so"],
        )
    meta_labels = labels.of_service(plan, BACKUP_NAME)
    dumps = [scheduled_dump(by_name[name], name, FOLDER) for name in schedule.services]
    config = {
        "project": plan.project,
        "environment": plan.environment,
        "plan_hash": plan.hash,
        "services": [d.service for d in dumps],
        "parts": [{"name": d.part, "service": d.service, "method": d.method} for d in dumps],
        "warnings": left_out(plan, schedule),
        "bucket": schedule.bucket,
        "base": "/".join(p for p in (schedule.prefix, plan.project, plan.environment) if p),
        "endpoint": schedule.endpoint,
        "region": schedule.region,
        "keep": schedule.keep,
        "grace": schedule.deadline,
        "folder": FOLDER,
    }
    mounts = [{"name": "backup", "mountPath": FOLDER}, {"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    dump_containers = [
        {
            "name": f"dump-{d.service}",
            "image": images[d.service],
            "imagePullPolicy": "IfNotPresent",
            "command": list(d.command),
            "env": env.variables(plan, by_name[d.service], d.variables),
            "securityContext": _container_security(by_name[d.service].security.run_as_user),
            "resources": _RESOURCES,
            "volumeMounts": mounts,
        }
        for d in dumps
    ]
    for container in dump_containers:
        if not container["env"]:
            del container["env"]
    upload = {
        "name": "upload",
        "image": images.get(BACKUP_IMAGE) or schedule.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", f"{SCRIPT}/backup_job.py"],
        "env": [
            _key(plan, "DEVKIT_BACKUP", json.dumps(config, sort_keys=True)),
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            _key(plan, "AWS_ACCESS_KEY_ID", schedule.access_key),
            _key(plan, "AWS_SECRET_ACCESS_KEY", schedule.secret_key),
        ],
        "securityContext": _container_security(),
        "resources": _RESOURCES,
        "volumeMounts": [
            {"name": "backup", "mountPath": FOLDER, "readOnly": True},
            {"name": "script", "mountPath": SCRIPT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ],
    }
    pod: dict[str, Any] = {
        "serviceAccountName": BACKUP_NAME,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": dump_containers,
        "containers": [upload],
        "volumes": [
            {"name": "backup", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "script", "configMap": {"name": BACKUP_NAME}},
        ],
    }
    pull_secrets = getattr(plan.target, "image_pull_secrets", ())
    if pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in pull_secrets]
    # The Jobs the CronJob makes are not devkit's objects: without `managed-by: devkit`, an
    # apply never prunes them (a run in progress included).
    run_labels = {k: v for k, v in meta_labels.items() if k != labels.MANAGED_BY_LABEL}
    pod_labels = {**run_labels, **backup_pods(plan)}
    cron: dict[str, Any] = {
        "schedule": schedule.schedule,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "suspend": schedule.suspend,
        "jobTemplate": {
            "metadata": {"labels": run_labels},
            "spec": {
                "activeDeadlineSeconds": schedule.deadline,
                "backoffLimit": 1,
                "template": {"metadata": {"labels": pod_labels}, "spec": pod},
            },
        },
    }
    if schedule.time_zone:
        cron["timeZone"] = schedule.time_zone
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": labels.metadata(BACKUP_NAME, namespace, meta_labels),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": labels.metadata(BACKUP_NAME, namespace, meta_labels),
            "data": {"backup_job.py": script()},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": labels.metadata(BACKUP_NAME, namespace, meta_labels),
            "spec": cron,
        },
    ]
