"""Pre-deploy jobs on Kubernetes: the Job made from a release's own pod template. Pure."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from blueprints import postgres
from devkit import Blueprint, BlueprintError, Job, Kubernetes, Secret, Swarm, plan
from devkit.render.manifest import render
from devkit.render.version import DEFAULT
from devkit.schemas import resolve, validate
from devkit.targets.kubernetes.spec import INSTANCE, job_object

API = "registry.example.com/shop-api@sha256:" + "a" * 64
MIGRATE = Job("migrate", ["python", "-m", "app.migrate"], service="api", timeout=90)


def release_objects() -> list[dict[str, Any]]:
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", password=Secret("DB_PASSWORD")), name="db")
    app.service(
        "api",
        image="shop-api:1",
        env={"PRICE": "$5", "DATABASE_URL": db.url, "TOKEN": Secret("TOKEN")},
        depends_on=[db],
    )
    app.environment("prod", Kubernetes(), jobs=[MIGRATE])
    planned = plan(app, "prod")
    manifest = render(planned, {"api": API}, kube_version=DEFAULT)
    return [dict(o) for o in manifest.objects]


def made(secrets: tuple[str, str] | None = ("shop-secrets", "devkit-job-x")) -> dict[str, Any]:
    return job_object(
        MIGRATE, "devkit-job-x", API, objects=release_objects(), namespace="shop-prod",
        instance="shop-prod", secrets=secrets,
    )  # fmt: skip


def test_the_job_runs_the_services_new_image_once_with_the_release_variables() -> None:
    job = made()
    validate([job], resolve(DEFAULT))
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 90
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "api"
    (container,) = pod["containers"]
    assert container["image"] == API
    assert container["command"] == ["python", "-m", "app.migrate"] and "args" not in container
    assert not {"readinessProbe", "livenessProbe", "ports", "envFrom"} & set(container)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e for e in container["env"]}
    # Plain values are inlined from the release's ConfigMap, `$` kept literal...
    assert env["PRICE"] == {"name": "PRICE", "value": "$$5"}
    # ...and secrets read from the job's own copy of the Secret, never the running release's.
    assert env["TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "devkit-job-x", "key": "TOKEN"}
    helper = env["DEVKIT_SECRET_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert helper["name"] == "devkit-job-x"
    assert "$(DEVKIT_SECRET_DB_PASSWORD)@db:5432/shop" in env["DATABASE_URL"]["value"]
    names = [e["name"] for e in container["env"]]
    assert names.index("DEVKIT_SECRET_DB_PASSWORD") < names.index("DATABASE_URL")


def test_the_job_pod_is_never_selected_by_the_services_service() -> None:
    labels = made()["spec"]["template"]["metadata"]["labels"]
    assert "app.kubernetes.io/name" not in labels
    assert labels[INSTANCE] == "shop-prod" and labels["devkit.dev/job"] == "migrate"
    assert labels["devkit.dev/role"] == "job" and labels["devkit.dev/service"] == "api"


def test_a_job_of_a_service_without_secrets_needs_no_secret_copy() -> None:
    job = made(secrets=None)
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e]
    assert refs == ["shop-secrets", "shop-secrets"]  # untouched when nothing is copied


def test_a_job_in_an_undefined_service_names_the_environment_and_the_services() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    app.environment("staging", Swarm(), jobs=[Job("migrate", ["true"], service="web")])
    with pytest.raises(BlueprintError) as caught:
        plan(app, "staging")
    text = caught.value.render()
    assert 'job "migrate" runs in service "web", which is not defined' in text
    assert "defined services: api" in text and "test_kube_jobs.py" in text


def test_jobs_are_named_once_and_given_as_lists() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    twice = [Job("m", ["true"], service="api"), Job("m", ["false"], service="api")]
    with pytest.raises(BlueprintError, match="given twice: m"):
        app.environment("staging", Swarm(), jobs=twice)
    with pytest.raises(ValidationError, match=r'e\.g\. \["python", "-m", "app\.migrate"\]'):
        Job("migrate", "python -m app.migrate", service="api")


def test_the_plan_carries_the_jobs_in_order() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    first, second = Job("a", ["true"], service="api"), Job("b", ["true"], service="api")
    app.environment("staging", Swarm(), jobs=[second, first])
    assert plan(app, "staging").jobs == (second, first)
