"""`devkit ui` on a Kubernetes environment, in a real headless Chromium, against the kind testbed:
CPU and memory come from the cluster's metrics API (metrics.k8s.io, served on the testbed by
metrics-server: tests/k8s/testbed/metrics-server.sh), a running pod's real numbers, and a declared
job runs from its button in a ready pod of its service."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from playwright.sync_api import expect

from tests.docker.browser import chromium, devkit_ui
from tests.k8s.conftest import K8sTestbed, wait_for
from tests.k8s.test_stack_commands import up_remote, web_project

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
from devkit import Blueprint, Build, Http, Kubernetes, Port, Resources
app = Blueprint("NAME")
app.service("web", build=Build("web"), ports={"http": Port(8000)},
            health=Http("/", port="http", interval=1, retries=2),
            resources=Resources(cpu="100m", memory="64Mi"))
app.environment("remote", Kubernetes(context="CONTEXT", registry="REG"))
"""


def pod_memory_mib(testbed: K8sTestbed, namespace: str) -> float:
    """The service's one pod's memory in MiB, as the metrics API says (bounded wait)."""
    metrics = client.CustomObjectsApi(testbed.api)

    def read() -> list[dict[str, Any]]:
        found = metrics.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", namespace, "pods",
            label_selector="app.kubernetes.io/name=web")  # fmt: skip
        return list(found["items"])

    (pod,) = wait_for("the pod's PodMetrics from metrics-server", read, 120, interval=2)
    used = str(pod["containers"][0]["usage"]["memory"])
    assert used.endswith("Ki"), used
    return int(used[:-2]) / 1024


def test_the_plots_show_a_pods_cpu_and_memory_from_the_clusters_metrics_api(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    served = [g.name for g in client.ApisApi(testbed.api).get_api_versions().groups]
    assert "metrics.k8s.io" in served, "the testbed serves no metrics API: metrics-server.sh up"
    name = f"uimetrics-{uuid.uuid4().hex[:6]}"
    root = tmp_path / name
    text = BLUEPRINT.replace("NAME", name).replace("CONTEXT", f"kind-{testbed.cluster}")
    env = web_project(root, text, testbed, tmp_path)
    with up_remote(root, env, testbed) as namespace:
        served_mib = pod_memory_mib(testbed, namespace)
        with devkit_ui(root, env, "-e", "remote") as ui, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(ui.url)
            expect(page.locator("body[data-ready='1']")).to_have_count(1)
            page.keyboard.press("4")
            expect(page.locator("#usage-summary")).to_have_text(
                "1 of 1 services running", timeout=60_000
            )
            row = page.locator("table.usage tr[data-service='web']")
            cpu = row.locator("td.cpu .figure")
            expect(cpu).to_have_text(re.compile(r"^\d+\.\d{2,3} CPU$"))
            expect(row.locator("td.cpu")).to_contain_text("request 0.10 CPU · limit none")
            memory = row.locator("td.mem .figure")
            expect(memory).to_have_text(re.compile(r"^\d+\.\d MiB$"))
            shown = float(memory.inner_text().split()[0])
        # a Python web server's memory: what metrics-server says, within a few MiB (two readings)
        assert 1 < shown < 64 and abs(shown - served_mib) < 8, (shown, served_mib)


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
    with (
        up_remote(root, env, testbed),
        devkit_ui(root, env, "-e", "remote") as ui,
        chromium() as browser,
    ):
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
