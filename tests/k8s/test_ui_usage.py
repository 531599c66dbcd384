"""`devkit ui` on a Kubernetes environment, in a real headless Chromium, against the kind testbed:
CPU and memory come from the cluster's metrics API (metrics.k8s.io); the testbed serves none, and
the plots say "no metrics" and why instead of drawing nothing."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from kubernetes import client
from playwright.sync_api import expect

from tests.docker.browser import chromium, devkit_ui
from tests.k8s.conftest import K8sTestbed

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
