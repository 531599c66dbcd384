"""`devkit ui` alone (no `up`), in a real headless Chromium, beside environments that deploy to a
real swarm: the environments view reads their releases, and a promotion asked for on the page
runs, after a confirmation that shows the exact command, and lands as a release; each release
shows the cost estimate it was deployed with, next to today's."""

from __future__ import annotations

import re

import docker
import pytest
from playwright.sync_api import expect

from tests.docker.browser import chromium, devkit_ui, shot
from tests.docker.conftest import REGISTRY, Project

pytestmark = [pytest.mark.docker, pytest.mark.swarm]


def test_a_promotion_asked_for_on_the_page_runs_and_lands_as_a_release(
    swarm: docker.DockerClient, shop: Project
) -> None:
    shop.env["SHOP_REGISTRY"] = REGISTRY
    deployed = shop.devkit("deploy", "swarm-staging", timeout=900)
    assert deployed.code == 0, deployed.stderr
    with devkit_ui(shop.root, shop.env) as ui, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(ui.url)
        expect(page.locator("body[data-ready='1']")).to_have_count(1)
        # Alone, the page shows status (nothing runs locally) and says what `up --ui` adds.
        expect(page.locator("#note-loop")).to_contain_text("devkit up --ui")
        expect(
            page.locator("tr.svc[data-service='api'] button[data-act='restart']")
        ).to_be_disabled()

        page.keyboard.press("3")
        staging = page.locator("article.env[data-env='swarm-staging']")
        prod = page.locator("article.env[data-env='swarm-prod']")
        expect(staging.locator("table.releases")).to_contain_text("healthy", timeout=20_000)
        expect(staging.locator("table.releases")).to_contain_text("deploy")
        expect(prod).to_contain_text("no releases yet")
        # the release recorded its plan's estimate: today's plan is the same, so no change
        now = staging.locator("dd", has_text="today's plan")
        expect(now.locator(".cost-prev")).to_contain_text(
            re.compile(r"release #1 \(healthy\): \d+\.\d\d USD/month ±0\.00")
        )
        expect(staging.locator("table.releases td.num").first).to_have_text(
            re.compile(r"^\d+\.\d\d USD$")
        )
        expect(prod.get_by_role("button", name="Roll back…")).to_be_disabled()

        staging.get_by_role("button", name="Promote…").click()
        expect(page.locator("#confirm-command")).to_have_text(
            "devkit promote swarm-staging swarm-prod"
        )
        shot(page, "promote-confirm")
        page.get_by_role("button", name="Run it").click()
        output = page.locator("#command-lines")
        expect(output).to_contain_text("$ devkit promote swarm-staging swarm-prod")
        expect(output).to_contain_text(re.compile(r"exited -?\d+"), timeout=600_000)
        assert "swarm-prod exited 0" in output.inner_text(), output.inner_text()
        expect(prod.locator("table.releases")).to_contain_text("healthy", timeout=20_000)
        expect(prod.locator("table.releases")).to_contain_text("promote from swarm-staging")
        # the promoted release is estimated at prod's plan (two replicas), not staging's
        today = prod.locator("dd", has_text="today's plan")
        expect(today.locator(".cost-prev")).to_contain_text("release #1 (healthy)")
        expect(today.locator(".cost-prev .delta")).to_have_text("±0.00")
        figure = today.inner_text().split("/month")[0].strip()
        expect(prod.locator("table.releases td.num").first).to_have_text(figure)
        assert figure != staging.locator("table.releases td.num").first.inner_text()
        shot(page, "environments-releases")
    assert ui.proc.returncode == 130
