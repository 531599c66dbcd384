"""`devkit ui`'s environments view during a canary, in a real headless Chromium, on the kind
testbed: `devkit deploy` runs a canary of the web app on the testbed's Traefik, judged by its
Prometheus (the success rate of the canary's requests), while requests go through Traefik; the
page shows the steps advancing, the traffic weight and the check's values as the release record
has them, pauses with the exact continue command, and continues from the page (keyboard only)
to the promotion."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.docker.browser import chromium, devkit_ui, shot
from tests.k8s.canary_project import (
    ABORTED_BY_A_CHECK,
    Watched,
    aborted_by_a_check,
    canary_project,
    load,
    ok,
    releases,
    serves,
    watched,
)
from tests.k8s.conftest import ClusterPrometheus, Forward, K8sTestbed, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

PANEL = "section.canary[data-canary='staging']"


def shown_at(page: Page, selector: str, timeout: float) -> float:
    """When (monotonic) `selector` first matched on the page (the browser's own observers)."""
    page.wait_for_selector(selector, timeout=timeout * 1000)
    return time.monotonic()


def test_the_environments_view_follows_a_canary_step_by_step_with_its_prometheus_checks(
    testbed: K8sTestbed, traefik: Forward, prometheus: ClusterPrometheus, tmp_path: Path
) -> None:
    with canary_project(testbed, tmp_path) as project:
        ok(project.devkit("deploy", "staging"))  # v1: nothing to stand beside, out at once
        wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
        project.version("v2")
        project.env.update({"TEST_CHECKS": "success", "TEST_INTERVAL": "3",
                            "TEST_STEPS": "10:12,50:manual,100:6"})  # fmt: skip
        with (
            devkit_ui(project.root, project.env, "-e", "staging") as ui,
            chromium() as browser,
            load(traefik.web, project.host) as running,
        ):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(ui.url)
            expect(page.locator("body[data-ready='1']")).to_have_count(1)
            page.keyboard.press("3")
            panel = page.locator(PANEL)
            expect(panel).to_contain_text("Canary of web")
            expect(panel).to_contain_text("no canary has run yet", timeout=30_000)

            runs: list[Watched] = []
            deploy = threading.Thread(
                target=lambda: runs.append(watched(project, "deploy", "staging", limit=400)),
                daemon=True,
            )
            deploy.start()
            # step 1: 10% to the canary, the success rate judged every 3 s
            first = shown_at(page, f"{PANEL} li.step.current[data-step='1']", 300)
            expect(panel).to_contain_text("traffic now: 10% to the canary (#2), 90% to #1")
            expect(panel.locator("li.step.pending")).to_have_count(2)
            rate = panel.locator("tr[data-check='success-rate']")
            expect(rate.locator(".verdict.pass")).to_have_count(1, timeout=30_000)
            expect(rate.locator("td.value")).to_have_text(re.compile(r"^(0\.9\d*|1)$"))
            expect(rate).to_contain_text(">= 0.95")
            shot(page, "canary-running")

            # step 2 pauses until continued: the exact commands, and the values recorded
            paused = shown_at(
                page, f"{PANEL}[data-phase='paused'] li.step.paused[data-step='2']", 120
            )
            deploy.join(timeout=60)
            (run,) = runs
            assert run.code == 0, run.stderr
            expect(panel.locator("li.step.done[data-step='1']")).to_have_count(1)
            expect(panel).to_contain_text("traffic now: 50% to the canary (#2), 50% to #1")
            expect(panel.locator(".decision.paused")).to_contain_text("paused at step 2 (50%)")
            record = releases(project)[0]
            assert record["status"] == "paused"
            canary = record["canary"]
            assert isinstance(canary, dict)
            last = canary["steps"][-1]["checks"][-1]
            assert last["name"] == "success-rate" and last["passed"] is True
            value = float(f"{last['value']:.4g}")  # the page shows 4 significant digits
            expect(rate.locator("td.value")).to_have_text(f"{value:g}")
            # every evaluation with a value is a point of its plot, against the threshold
            judged = [
                c for step in canary["steps"] for c in step["checks"] if c["value"] is not None
            ]
            expect(rate.locator("svg.spark-check circle.pass")).to_have_count(len(judged))
            expect(rate.locator("svg.spark-check")).to_have_attribute(
                "aria-label",
                re.compile(r"^success-rate: \d+ evaluations?, \d+ with data, 0 failed"),
            )
            page.emulate_media(color_scheme="dark")
            shot(page, "canary-paused-dark")
            page.set_viewport_size({"width": 390, "height": 844})
            panel.scroll_into_view_if_needed()
            shot(page, "canary-phone-dark")
            page.set_viewport_size({"width": 1280, "height": 800})
            page.emulate_media(color_scheme="light")

            # continued from the page, by keyboard, behind the confirmation with the command
            panel.get_by_role("button", name="Continue…").focus()
            page.keyboard.press("Enter")
            expect(page.locator("#confirm-command")).to_have_text(
                "devkit deploy staging --continue"
            )
            page.keyboard.press("Tab")  # Cancel has the focus first
            expect(page.locator("#confirm-run")).to_be_focused()
            page.keyboard.press("Enter")
            third = shown_at(page, f"{PANEL} li.step.current[data-step='3']", 120)
            expect(panel).to_contain_text("traffic now: 100% to the canary")
            promoted = shown_at(page, f"{PANEL}[data-phase='promoted']", 120)
            expect(panel.locator(".decision.promoted")).to_contain_text(
                re.compile(r"promoted at \d\d:\d\d:\d\d")
            )
            expect(panel.locator("li.step.done")).to_have_count(3)
            expect(panel.locator("li.step[data-step='2']")).to_contain_text("done · continued")
            expect(panel).to_contain_text("traffic now: all to #2 (promoted); the canary is gone")
            expect(page.locator("#command-lines")).to_contain_text(
                "devkit deploy staging --continue exited 0", timeout=60_000
            )
            shot(page, "canary-promoted")
        wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
        assert releases(project)[0]["status"] == "healthy"
        # (that no request fails during a canary is test_canary_releases.py's to assert; here
        # the failures are only reported, with when they happened)
        failed = [h for h in running.hits if h.status != 200]
        lag_first = first - run.when("step 1/3")
        lag_paused = paused - run.when("is paused")
        assert lag_first <= 5 and lag_paused <= 5, (lag_first, lag_paused)
        print(
            f"page behind the CLI: step 1 {lag_first:.2f}s, paused {lag_paused:.2f}s; "
            f"step 3 to promoted on the page {promoted - third:.2f}s; "
            f"{len(running.hits)} requests, {len(failed)} failed"
            + (
                f" ({sorted({h.status for h in failed})}, from {failed[0].at - first:.1f}s to "
                f"{failed[-1].at - first:.1f}s after step 1 showed; paused at "
                f"{paused - first:.1f}s, step 3 at {third - first:.1f}s)"
                if failed
                else ""
            )
        )


def test_a_canary_aborted_by_its_success_rate_shows_the_failing_value_and_the_decision(
    testbed: K8sTestbed, traefik: Forward, prometheus: ClusterPrometheus, tmp_path: Path
) -> None:
    with canary_project(testbed, tmp_path) as project:
        # the page's plan declares the canary as aborted_by_a_check runs it
        project.env.update({**ABORTED_BY_A_CHECK, "TEST_CHECKS": "success"})
        with (
            devkit_ui(project.root, project.env, "-e", "staging") as ui,
            chromium() as browser,
        ):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(ui.url)
            expect(page.locator("body[data-ready='1']")).to_have_count(1)
            page.keyboard.press("3")
            panel = page.locator(PANEL)
            expect(panel).to_contain_text("no canary has run yet", timeout=30_000)
            run, _, _ = aborted_by_a_check(project, traefik, testbed, "v2-bad", "success")
            (failing,) = json.loads(run.stdout)["error"]["failing"]
            shown_at(page, f"{PANEL}[data-phase='aborted']", 30)
            rate = panel.locator("tr[data-check='success-rate']")
            value = float(f"{failing['value']:.4g}")
            expect(rate.locator("td.value")).to_have_text(f"{value:g}")
            expect(rate.locator(".verdict.fail")).to_have_text("✗ fail")
            expect(rate.locator("svg.spark-check circle.fail")).to_have_count(1)
            expect(panel.locator("li.step.failed[data-step='1']")).to_have_count(1)
            expect(panel.locator("li.step.pending")).to_have_count(2)
            expect(panel.locator(".decision.aborted")).to_contain_text(
                re.compile(
                    r"aborted at \d\d:\d\d:\d\d: canary aborted: step 1 \(10%\): success-rate"
                )
            )
            expect(panel).to_contain_text("traffic now: all to #1 (the stable release)")
            expect(panel.get_by_role("button", name="Continue…")).to_have_count(0)
            shot(page, "canary-aborted")
