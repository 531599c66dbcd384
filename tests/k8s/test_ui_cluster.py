"""`devkit ui` on a Kubernetes environment, in a real headless Chromium, against the kind testbed:
CPU and memory come from the cluster's metrics API (metrics.k8s.io) — the testbed serves none,
and the plots say "no metrics" and why instead of drawing nothing — and a declared job runs from
its button in a ready pod of its service."""

from __future__ import annotations

import contextlib
import os
import re
import textwrap
import uuid
from pathlib import Path

import pytest
from kubernetes import client
from playwright.sync_api import expect

from tests.conftest import run_devkit
from tests.docker.browser import chromium, devkit_ui
from tests.k8s.conftest import K8sTestbed
from tests.k8s.test_stack_commands import web_project

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
from devkit import Blueprint, Kubernetes, Resources
app = Blueprint("uimetrics")
app.service("web", image="python:3.11-slim", resources=Resources(cpu="100m", memory="64Mi"))
app.environment("remote", Kubernetes(context="CONTEXT"))
"""


def test_the_plots_say_no_metrics_where_the_cluster_serves_no_metrics_api(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    served = [g.name for g in client.ApisApi(testbed.api).get_api_versions().groups]
    assert "metrics.k8s.io" not in served, (
        "the testbed serves a metrics API now: this test must read a pod's usage instead"
    )
    (tmp_path / "blueprint.py").write_text(
        textwrap.dedent(BLUEPRINT).replace("CONTEXT", f"kind-{testbed.cluster}")
    )
    env = {**os.environ, "NO_COLOR": "1", "KUBECONFIG": str(testbed.kubeconfig),
           "DEVKIT_CACHE": str(tmp_path / "cache")}  # fmt: skip
    with devkit_ui(tmp_path, env, "-e", "remote") as ui, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(ui.url)
        expect(page.locator("body[data-ready='1']")).to_have_count(1)
        page.keyboard.press("4")
        expect(page.locator("#usage-summary")).to_have_text(
            "no metrics: the cluster serves no metrics API (metrics.k8s.io/v1beta1)",
            timeout=30_000,
        )
        row = page.locator("table.usage tr[data-service='web']")
        expect(row.locator("td.cpu")).to_contain_text("no reading · request 0.10 CPU · limit none")


JOBS = """
from devkit import Blueprint, Build, Http, Job, Kubernetes, Port
app = Blueprint("NAME")
app.service("web", build=Build("web"), ports={"http": Port(8000)},
            health=Http("/", port="http", interval=1, retries=2))
app.environment(
    "remote", Kubernetes(context="CONTEXT", registry="REG"),
    jobs=[Job("whoami", ["python", "-c", "import os, socket; print('in', socket.gethostname()); "
                         "print('uid', os.getuid())"], service="web", timeout=60)],
)
"""


def test_a_declared_job_runs_from_its_button_in_a_ready_pod(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    name = f"uijob-{uuid.uuid4().hex[:6]}"
    root = tmp_path / name
    text = JOBS.replace("NAME", name).replace("CONTEXT", f"kind-{testbed.cluster}")
    env = web_project(root, text, testbed, tmp_path)
    namespace = f"{name}-remote"
    try:
        up = run_devkit("up", "-e", "remote", "--detach", cwd=root, env=env, timeout=600)
        assert up.code == 0, up.stdout + up.stderr
        with devkit_ui(root, env, "-e", "remote") as ui, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(ui.url)
            web = page.locator("tr.svc[data-service='web']")
            expect(web.locator(".pill")).to_have_text("healthy", timeout=60_000)
            web.get_by_role("button", name="Run whoami").click()
            job = web.locator(".action.job")
            expect(job).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
            expect(job).to_contain_text(re.compile(r"whoami: exited 0 in \d+\.\d\d s"))
            expect(job.locator(".job-out")).to_contain_text(re.compile(r"in web-[0-9a-z-]+"))
            expect(job.locator(".job-out")).to_contain_text("uid 10001")
    finally:
        run_devkit("down", "-e", "remote", cwd=root, env=env, timeout=300)
        with contextlib.suppress(client.exceptions.ApiException):
            client.CoreV1Api(testbed.api).delete_namespace(namespace)
