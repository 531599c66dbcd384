"""`devkit up --ui` on the real engine, driven in a real headless Chromium (Debian's, through
Playwright; tests/setup/browser.sh installs it): examples/shop up, the page shows what runs, a save
shows its sync, the restart button restarts, a crash shows its error at the top, the log filter
finds a line, the plots show syncs and CPU and memory against requests and limits, a declared job
runs from its button, and nothing is served without the token. Screenshots of each view go to
docs/ui/."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import REPO
from tests.docker.browser import chromium, interrupt, shot
from tests.docker.conftest import IMAGE_MAP, _sweep

pytestmark = pytest.mark.docker

VERSION_FILE = "services/api/app/version.py"
# Jobs the test declares on `local` (examples/shop declares none there): one that reads the
# database with the api's environment, one that fails.
JOBS = """jobs=[
    Job("count-orders", ["python", "-u", "-c", "import os, time, psycopg\\n"
        "print('counting', flush=True); time.sleep(1.5)\\n"
        "with psycopg.connect(os.environ['DATABASE_URL']) as c:\\n"
        "    print(c.execute('SELECT count(*) FROM orders').fetchone()[0], 'orders')"],
        service="api", timeout=60),
    Job("fail-check", ["python", "-c",
                       "import sys; print('checking'); sys.exit('refusing: no fixture')"],
        service="api", timeout=60),
]"""


@dataclass
class UpWithUi:
    """`devkit up --ui` as a user runs it, its terminal lines collected as they come."""

    root: Path
    name: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}; up said:\n" + "\n".join(self.lines))


@pytest.fixture(scope="module")
def shop_ui(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[tuple[UpWithUi, str]]:
    """examples/shop copied under its own name, up in the foreground with --ui; its page URL."""
    name = f"shopui-{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp(name)
    source = REPO / "examples" / "shop"
    shutil.copytree(source / "services", root / "services",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    text = (
        (source / "blueprint.py").read_text().replace('Blueprint("shop")', f'Blueprint("{name}")')
        .replace('app.environment("local", Docker())', f'app.environment("local", Docker(), {JOBS})')
        .replace("    Http,\n", "    Http,\n    Job,\n")
    )  # fmt: skip
    (root / "blueprint.py").write_text(text)
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
           "SHOP_DB_PASSWORD": "test-only-" + uuid.uuid4().hex[:8]}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "up", "--ui"], cwd=root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    up = UpWithUi(root, name, proc)
    threading.Thread(target=up.read, daemon=True).start()
    try:
        url = up.wait_for(r"devkit ui: (http://127\.0\.0\.1:\d+/\?token=\S+)", 60).group(1)
        up.wait_for(r"watching \d+ paths", 600)
        yield up, url
    finally:
        interrupt(proc, 60)
        _sweep(docker_client, name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def page(browser: Browser, shop_ui: tuple[UpWithUi, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.goto(shop_ui[1])
    expect(opened.locator("body[data-ready='1']")).to_have_count(1)
    yield opened
    context.close()


def row(page: Page, service: str):  # type: ignore[no-untyped-def]
    return page.locator(f"tr.svc[data-service='{service}']")


def all_healthy(page: Page) -> None:
    expect(page.locator("#svc-summary")).to_contain_text("4/4 healthy", timeout=60_000)
    for service in ("postgres", "redis", "api"):
        expect(row(page, service).locator(".pill")).to_have_text("healthy")
    expect(row(page, "worker").locator(".pill")).to_have_class(re.compile(r"\bhealthy\b"))


def api_url(page: Page) -> str:
    return str(row(page, "api").locator("td[data-label='Ports'] a").first.get_attribute("href"))


def test_a_request_without_the_token_is_refused(shop_ui: tuple[UpWithUi, str]) -> None:
    url = shop_ui[1]
    base = url.split("?")[0]
    for path in ("", "api/snapshot", "api/events", "app.js", f"?token={'x' * 24}"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=5)
        assert refused.value.code == 403, path
    request = urllib.request.Request(base + "api/action", data=b'{"service":"api"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert "devkit_ui=" in response.headers["Set-Cookie"]
    assert re.match(r"http://127\.0\.0\.1:\d+/", url)


def test_the_page_lists_the_four_services_healthy(page: Page) -> None:
    all_healthy(page)
    expect(page.locator(".group-toggle[data-group='backend']")).to_contain_text("2/2 healthy")
    with urllib.request.urlopen(api_url(page) + "healthz", timeout=5) as response:
        assert response.status == 200
    shot(page, "dev-loop")


def test_groups_collapse_and_stay_collapsed(page: Page) -> None:
    page.locator(".group-toggle[data-group='backend']").click()
    expect(row(page, "api")).to_have_count(0)
    page.reload()
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    expect(row(page, "postgres")).to_have_count(1)
    expect(row(page, "api")).to_have_count(0)
    page.keyboard.press("/")
    page.keyboard.type("api")
    expect(row(page, "api")).to_have_count(1)  # a filter shows matches in collapsed groups too
    expect(row(page, "postgres")).to_have_count(0)
    page.locator("#svc-filter").fill("")
    page.locator(".group-toggle[data-group='backend']").click()
    expect(row(page, "api")).to_have_count(1)


def test_a_saved_file_shows_its_sync_within_two_seconds(
    page: Page, shop_ui: tuple[UpWithUi, str]
) -> None:
    all_healthy(page)
    newest = row(page, "api").locator("td.syncs li[data-at]").first
    before = float(newest.get_attribute("data-at") or 0) if newest.count() else 0.0
    path = shop_ui[0].root / VERSION_FILE
    path.write_text(path.read_text().replace('VERSION = "4"', 'VERSION = "5"'))
    saved = time.monotonic()
    page.wait_for_function(
        """before => {
          const li = document.querySelector("tr[data-service='api'] td.syncs li[data-at]");
          return li !== null && parseFloat(li.dataset.at) > before;
        }""",
        arg=before, timeout=10_000, polling=20,
    )  # fmt: skip
    shown = time.monotonic() - saved
    shown_at = time.time()
    newest = row(page, "api").locator("td.syncs li[data-at]").first
    expect(newest).to_contain_text(re.compile(r"\d+\.\d\d s"))
    expect(newest).to_contain_text("1 file, restarted")
    reported = float(newest.locator(".secs").inner_text().removesuffix(" s"))
    page_delay = shown_at - float(newest.get_attribute("data-at") or 0)
    assert shown < 2.0, (
        f"the sync showed {shown:.2f}s after the save: devkit reported save to serving in "
        f"{reported:.2f}s, the page showed it {page_delay:.2f}s after it was reported"
    )
    assert page_delay < 0.5
    with urllib.request.urlopen(api_url(page) + "healthz", timeout=5) as response:
        assert response.status == 200


def test_restart_restarts_the_api_and_it_is_healthy_again(
    page: Page, docker_client: docker.DockerClient, shop_ui: tuple[UpWithUi, str]
) -> None:
    all_healthy(page)
    api = docker_client.containers.get(f"{shop_ui[0].name}-local-api")
    before = api.logs().decode(errors="replace").count("listening on")
    restarts = int(row(page, "api").locator("td[data-label='Restarts']").inner_text())
    row(page, "api").locator("button[data-act='restart']").click()
    action = row(page, "api").locator(".action")
    expect(action).to_contain_text("restart", timeout=5_000)
    expect(action).to_have_class(re.compile(r"\bok\b"), timeout=30_000)
    expect(action).to_contain_text("answering")
    expect(row(page, "api").locator("td[data-label='Restarts']")).to_have_text(str(restarts + 1))
    expect(row(page, "api").locator(".pill")).to_have_text("healthy")
    after = api.logs().decode(errors="replace").count("listening on")
    assert after == before + 1, "the api process did not start again"
    shot(page, "restart")


def test_a_crash_after_a_bad_edit_shows_the_error_at_the_top(
    page: Page, shop_ui: tuple[UpWithUi, str]
) -> None:
    all_healthy(page)
    path = shop_ui[0].root / VERSION_FILE
    good = path.read_text()
    path.write_text(good + "\ndef broken(:\n")
    try:
        error = page.locator("#errors .error")
        expect(error).to_contain_text("api", timeout=45_000)
        expect(error).to_contain_text("SyntaxError")
        expect(row(page, "api")).to_have_class(re.compile(r"\bhas-error\b"))
        # At the top: above the services, whatever view is open.
        box = page.locator("#errors").bounding_box()
        table = page.locator("#groups").bounding_box()
        assert box is not None and table is not None and box["y"] < table["y"]
        shot(page, "error")
    finally:
        path.write_text(good)
    expect(page.locator("#errors .error")).to_have_count(0, timeout=45_000)
    expect(row(page, "api").locator(".pill")).to_have_text("healthy", timeout=30_000)


def test_the_log_filter_finds_a_line(page: Page) -> None:
    all_healthy(page)
    marker = f"ui-marker-{uuid.uuid4().hex[:8]}"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(api_url(page) + f"orders/{marker}", timeout=5)
    page.keyboard.press("2")
    expect(page.locator("#view-logs")).to_be_visible()
    page.keyboard.press("/")
    page.keyboard.type(marker)
    lines = page.locator("#log-lines .line")
    expect(lines).to_have_count(1, timeout=10_000)
    expect(lines.first).to_contain_text(marker)
    expect(lines.first.locator(".s")).to_have_text("api")
    # by regex, one service, and not among build output
    page.locator("#log-filter").fill(r"ui-marker-[0-9a-f]{8}")
    page.locator("#log-regex").check()
    page.locator("#log-service").select_option("api")
    expect(lines).to_have_count(1)
    page.locator("#log-service").select_option("postgres")
    expect(lines).to_have_count(0)
    page.locator("#log-service").select_option("")
    page.locator("input[name='log-kind'][value='build']").check()
    expect(lines).to_have_count(0)
    page.locator("input[name='log-kind'][value='log']").check()
    page.locator("#log-filter").fill("")
    page.locator("#log-regex").uncheck()
    # by level: the request's line is INFO
    page.locator("#log-level").select_option("error")
    expect(page.locator("#log-lines .line", has_text=marker)).to_have_count(0)
    expect(page.locator("#log-lines .line.lv-info")).to_have_count(0)
    page.locator("#log-level").select_option("info")
    expect(page.locator("#log-lines .line", has_text=marker)).to_have_count(1)
    page.locator("#log-level").select_option("")
    expect(page.locator("#log-lines .line").first).to_be_visible()
    shot(page, "logs")


def test_the_plots_show_syncs_and_cpu_and_memory_against_requests_and_limits(
    page: Page, shop_ui: tuple[UpWithUi, str], docker_client: docker.DockerClient
) -> None:
    all_healthy(page)
    path = shop_ui[0].root / VERSION_FILE
    path.write_text(path.read_text() + f"# plotted {uuid.uuid4().hex[:6]}\n")
    expect(row(page, "api").locator("td.syncs li[data-at]").first).to_contain_text(
        "1 file, restarted", timeout=15_000
    )
    page.keyboard.press("4")
    expect(page.locator("#view-plots")).to_be_visible()
    expect(page.locator("#sync-summary")).to_contain_text(re.compile(r"\d+ syncs? · median \d"))
    expect(page.locator("#sync-hist svg rect.bar:not(.empty)").first).to_be_visible()
    expect(page.locator("#sync-time svg circle.dot").first).to_be_visible()
    # keyboard: the newest sync is the api's, read out with its time
    page.locator("#sync-time").focus()
    page.keyboard.press("End")
    expect(page.locator("#sync-time-read")).to_contain_text(re.compile(r"api: \d+\.\d\d s"))
    expect(page.locator("#sync-time svg circle.sel")).to_have_count(1)
    page.locator("#sync-hist").focus()
    page.keyboard.press("End")
    expect(page.locator("#sync-hist-read")).to_contain_text(re.compile(r"s: [1-9]\d* syncs?"))
    # CPU and memory, from the engine's stats, against the blueprint's requests and limits
    api = page.locator("table.usage tr[data-service='api']")
    cpu = api.locator("td.cpu .figure")
    expect(cpu).to_have_text(re.compile(r"^\d+\.\d+ CPU$"), timeout=20_000)
    expect(api.locator("td.cpu")).to_contain_text("request 0.25 CPU · limit none")
    expect(api.locator("td.mem")).to_contain_text("request 256 MiB · limit 512 MiB")
    expect(api.locator("td.mem svg line.req")).to_have_count(1)
    expect(api.locator("td.mem svg line.lim")).to_have_count(1)
    shown = api.locator("td.mem .figure").inner_text()
    mib = float(shown.removesuffix(" MiB"))
    container = docker_client.containers.get(f"{shop_ui[0].name}-local-api")
    stats = docker_client.api.stats(container.id, stream=False, one_shot=True)
    engine = stats["memory_stats"]["usage"] - stats["memory_stats"]["stats"]["total_inactive_file"]
    assert 0.5 < mib / (engine / 2**20) < 2, f"the page shows {shown}, the engine {engine} bytes"
    expect(page.locator("#usage-summary")).to_contain_text("4 of 4 services running")
    shot(page, "plots")


def test_a_declared_job_runs_from_its_button_and_shows_its_result(page: Page) -> None:
    all_healthy(page)
    api = row(page, "api")
    api.get_by_role("button", name="Run count-orders").click()
    job = api.locator(".action.job")
    expect(job).to_have_class(re.compile(r"\bbusy\b"))  # its progress: a spinner, its output
    expect(job.locator(".job-out")).to_contain_text("counting", timeout=10_000)
    expect(api.get_by_role("button", name="Run count-orders")).to_be_disabled()
    expect(job).to_have_class(re.compile(r"\bok\b"), timeout=30_000)
    expect(job).to_contain_text(re.compile(r"count-orders: exited 0 in \d+\.\d\d s"))
    expect(job.locator(".job-out")).to_contain_text(re.compile(r"\d+ orders"))
    shot(page, "job")
    api.get_by_role("button", name="Run fail-check").click()
    expect(job).to_have_class(re.compile(r"\bbad\b"), timeout=30_000)
    expect(job).to_contain_text("fail-check: exited with 1")
    expect(job.locator(".job-out")).to_contain_text("refusing: no fixture")
    expect(row(page, "postgres").locator("button[data-job]")).to_have_count(0)


def test_the_environments_view_shows_targets_releases_and_cost(page: Page) -> None:
    page.keyboard.press("3")
    local = page.locator("article.env[data-env='local']")
    expect(local).to_contain_text("docker")
    expect(local).to_contain_text("USD/month")
    expect(local).to_contain_text("keeps no releases")
    expect(local.locator("button")).to_have_count(0)  # a dev stack: nothing to promote
    prod = page.locator("article.env[data-env='prod']")
    expect(prod.locator(".unreach")).to_contain_text("cannot reach", timeout=15_000)
    expect(prod.get_by_role("button", name="Roll back…")).to_be_disabled()
    expect(prod.get_by_role("button", name="Promote…")).to_be_disabled()
    expect(page.locator("article.env", has_text="reading releases…")).to_have_count(0)
    # promote offers the next environment declared after this one first
    expect(page.locator("article.env[data-env='swarm-staging'] .promote-to")).to_have_value(
        '["promote","swarm-staging","swarm-prod"]'
    )
    shot(page, "environments")


def test_phone_width_and_dark(browser: Browser, shop_ui: tuple[UpWithUi, str]) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", device_scale_factor=1
    )
    phone = context.new_page()
    phone.goto(shop_ui[1])
    all_healthy(phone)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at phone width"
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 20, 24)"
    shot(phone, "phone-dark")
    phone.keyboard.press("4")
    usage = phone.locator("table.usage tr[data-service='api'] td.mem .figure")
    expect(usage).to_have_text(re.compile(r"MiB$"), timeout=20_000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the plots are {width}px wide at phone width"
    shot(phone, "plots-phone-dark")
    context.close()


def test_a_failed_build_stays_on_the_page_at_the_top(browser: Browser, project) -> None:
    p = project("uibuild")
    p.write(
        "blueprint.py",
        f"""
        from devkit import Blueprint, Build, Docker
        app = Blueprint("{p.name}")
        app.service("web", build=Build("web"))
        app.environment("local", Docker())
        """,
    )
    p.write("web/Dockerfile", "FROM python:3.11-slim\nRUN echo compiling && exit 3\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "up", "--ui"], cwd=p.root, env=p.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    up = UpWithUi(p.root, p.name, proc)
    threading.Thread(target=up.read, daemon=True).start()
    try:
        url = up.wait_for(r"devkit ui: (http://127\.0\.0\.1:\d+/\?token=\S+)", 60).group(1)
        up.wait_for("the page shows the error", 300)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(url)
        error = page.locator("#errors .error")
        expect(error).to_contain_text("web")
        expect(error).to_contain_text('build of "web" failed')
        expect(error).to_contain_text("returned a non-zero code: 3")
        shot(page, "build-error")
        page.keyboard.press("2")
        page.locator("input[name='log-kind'][value='build']").check()
        expect(page.locator("#log-lines .line", has_text="compiling").first).to_be_visible()
        context.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 1
