"""`devkit ui` alone (no `up`), in a real headless Chromium, beside environments that deploy to a
real swarm: the environments view reads their releases, and a promotion asked for on the page
runs, after a confirmation that shows the exact command, and lands as a release."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time

import docker
import pytest
from playwright.sync_api import expect

from tests.docker.browser import chromium, shot
from tests.docker.conftest import REGISTRY, Project

pytestmark = [pytest.mark.docker, pytest.mark.swarm]


def test_a_promotion_asked_for_on_the_page_runs_and_lands_as_a_release(
    swarm: docker.DockerClient, shop: Project
) -> None:
    shop.env["SHOP_REGISTRY"] = REGISTRY
    deployed = shop.devkit("deploy", "swarm-staging", timeout=900)
    assert deployed.code == 0, deployed.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "ui"], cwd=shop.root, env=shop.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        lines.extend(line.rstrip("\n") for line in proc.stderr)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = [re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line) for line in lines]
            url = next((m.group(1) for m in found if m), None)
            time.sleep(0.1)
        assert url, "devkit ui printed no URL:\n" + "\n".join(lines)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
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
            shot(page, "environments-releases")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 130
