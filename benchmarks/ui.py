"""`devkit ui` at scale, on a SYNTHETIC feed: page ready time and server memory with a generated
300-service blueprint, and the server's CPU while idle and while all 300 services log.

300 containers do not fit on this 2-core machine, so nothing runs on an engine here: the blueprint
is generated (300 services in 20 groups, with dependencies and ports), planned as usual, and the
UI server (devkit/ui/server.py, the real one) is fed by a synthetic event feed on the same event
bus the dev loop publishes on (status for all 300, create/healthy steps, syncs, then log lines,
and every 2 s a usage reading of every service, as the page's CPU and memory plots get them).
The page is opened in Debian's headless Chromium through Playwright (tests/setup/browser.sh).

    .venv/bin/python benchmarks/ui.py [--services 300] [--lines-per-second 2] [--runs 5]
                                      [--no-usage]

"page ready" is from navigation to the page showing every service healthy (all history applied,
rendered); the server runs in its own process, so its RSS and CPU are its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from devkit.delivery.cost import default_sheet
from devkit.devloop.events import EventBus
from devkit.planning.planner import plan
from devkit.project.load import load_blueprint
from devkit.ui.environments import describe
from devkit.ui.server import Backend, UiServer
from devkit.ui.snapshot import services_of

REPO = Path(__file__).resolve().parent.parent
GROUPS = 20
NO_USAGE = "DEVKIT_UI_BENCH_NO_USAGE"  # "1": the server process publishes no usage readings
CLK = os.sysconf("SC_CLK_TCK")
CHROMIUM = "/usr/bin/chromium"  # Debian's (tests/setup/browser.sh); flags as the UI tests use
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def blueprint(services: int) -> str:
    lines = [
        "from devkit import Blueprint, Docker, Http, Port, Resources",
        'app = Blueprint("bench")',
        "made = []",
        f"for i in range({services}):",
        "    deps = [made[i - 1]] if i % 15 else []",
        '    made.append(app.service(f"svc{i:03d}", image="python:3.11-slim",',
        '        ports={"http": Port(8000 + i)}, health=Http("/healthz", port="http"),',
        '        depends_on=deps, resources=Resources(cpu="100m", memory="128Mi",',
        '                                             memory_limit="256Mi")))',
        f"for g in range({GROUPS}):",
        f'    app.group(f"group{{g:02d}}", made[g::{GROUPS}])',
        'app.environment("local", Docker())',
    ]
    return "\n".join(lines) + "\n"


def status_row(i: int, name: str) -> dict[str, object]:
    """What the engine would report for a healthy service (ReportsStatus, as a dict)."""
    ports = {f"{8000 + i}/tcp": f"127.0.0.1:{30000 + i}"}
    image = "python:3.11-slim"
    return {"service": name, "container": f"bench-local-{name}", "state": "running",
            "health": "healthy", "ports": ports, "image": image, "restarts": 0}  # fmt: skip


# --- the server process ---------------------------------------------------------------------
def serve(folder: Path, lines_per_second: float) -> None:
    """Load and plan the blueprint, serve it, and feed synthetic events; print the URL."""
    loaded = load_blueprint(folder / "blueprint.py")
    planned = plan(loaded, "local")
    bus = EventBus()
    snapshot = {"loop": services_of(planned), "environments": describe(loaded, default_sheet()),
                "live": True}  # fmt: skip
    server = UiServer(Backend(bus, snapshot=lambda: snapshot, act=lambda s, w: None))
    names = [s.name for s in planned.services]
    for name in names:
        bus.step(name, "create", "")
    rows = [status_row(i, n) for i, n in enumerate(names)]
    bus.publish("status", "", "services", data={"services": rows})
    for i, name in enumerate(names):
        bus.step(name, "healthy", "0.8s")
        seconds = 0.3 + (i * 37 % 100) / 100
        bus.step(name, "sync", f"1 file, restarted, answering {seconds:.2f}s after save")
    if os.environ.get(NO_USAGE) != "1":
        threading.Thread(target=usage, args=(bus, names), daemon=True).start()
    print(server.url, flush=True)
    if lines_per_second <= 0:
        threading.Event().wait()
    # every service logs `lines_per_second` lines a second, in ticks of 0.1 s
    tick, n, owed = 0.1, 0, 0.0
    while True:
        began = time.monotonic()
        owed += lines_per_second * tick
        for _ in range(int(owed)):
            for name in names:
                n += 1
                bus.log_line(name, f"INFO request {n} GET /items/{n % 97} 200 1.2ms")
        owed -= int(owed)
        time.sleep(max(0.0, tick - (time.monotonic() - began)))


def usage(bus: EventBus, names: list[str]) -> None:
    """A usage reading of every service every 2 s, as the usage feed publishes it."""
    n = 0
    while True:
        n += 1
        rows = [
            {"service": name, "cpu": 0.02 + ((i + n) * 13 % 50) / 400,
             "memory": (60 + (i * 7 + n) % 90) * 2**20}
            for i, name in enumerate(names)
        ]  # fmt: skip
        bus.publish("usage", "", "services", data={"services": rows})
        time.sleep(2.0)


def start_server(folder: Path, rate: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(folder), "--lines-per-second", str(rate)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the server did not start: {url!r}")
    return proc, url


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def cpu_percent(pid: int, seconds: float) -> float:
    before, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - began)


def measure_idle(folder: Path, services: int, runs: int, seconds: float) -> None:
    proc, url = start_server(folder, 0)
    try:
        print(f"server RSS after start (history: {3 * services + 1} events): "
              f"{rss_mib(proc.pid):.1f} MiB")  # fmt: skip
        with chromium() as browser:
            times, inside = [], []
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                began = time.perf_counter()
                page.goto(url)
                page.wait_for_function(
                    """n => document.querySelectorAll('tr.svc').length === n &&
                       document.getElementById('svc-summary').textContent
                         .startsWith(`${n}/${n} healthy`)""",
                    arg=services, polling=10, timeout=60_000,
                )  # fmt: skip
                times.append(time.perf_counter() - began)
                # the browser's own clock: navigation start to the render that showed them all
                marks = page.evaluate(
                    "() => performance.getEntriesByName('devkit:rendered').map(m => m.startTime)"
                )
                inside.append(max(marks) / 1000)
                page.close()
            print(f"page ready ({services} services, all healthy), browser clock: median "
                  f"{statistics.median(inside):.3f} s  min {min(inside):.3f} s  "
                  f"max {max(inside):.3f} s; wall clock incl. Playwright's polling: median "
                  f"{statistics.median(times):.3f} s  ({runs} loads)")  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_function("() => document.body.dataset.ready === '1'")
            print(f"server RSS with a page open: {rss_mib(proc.pid):.1f} MiB")
            idle = cpu_percent(proc.pid, seconds)
            feed = "no usage" if os.environ.get(NO_USAGE) == "1" else "usage every 2 s"
            print(f"server CPU idle, one page connected ({feed}): {idle:.2f}% of a core")
            if os.environ.get(NO_USAGE) != "1":
                measure_plots(page, services, seconds)
    finally:
        proc.kill()
        proc.wait()


def measure_plots(page: Page, services: int, seconds: float) -> None:
    """The plots view open for `seconds`: how long each redraw takes (usage every 2 s)."""
    page.evaluate("() => performance.clearMeasures('devkit:plots')")
    page.keyboard.press("4")
    page.wait_for_function(
        "n => document.querySelectorAll('table.usage tbody tr').length === n", arg=services
    )
    time.sleep(seconds)
    took = page.evaluate("() => performance.getEntriesByName('devkit:plots').map(m => m.duration)")
    page.keyboard.press("1")
    print(f"plots view ({services} services' CPU and memory, {services} syncs): "
          f"{len(took)} redraws in {seconds:g} s, median {statistics.median(took):.1f} ms, "
          f"max {max(took):.1f} ms (browser clock)")  # fmt: skip


def measure_logging(folder: Path, services: int, rate: float, seconds: float) -> None:
    proc, url = start_server(folder, rate)
    try:
        time.sleep(2)
        alone = cpu_percent(proc.pid, seconds)
        print(f"the synthetic feed alone ({services * rate:.0f} lines/s on the bus, no page "
              f"connected): {alone:.1f}% of a core")  # fmt: skip
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "#logs")
            page.wait_for_function("() => document.body.dataset.ready === '1'")
            time.sleep(2)
            busy = cpu_percent(proc.pid, seconds)
            lines = page.evaluate("document.querySelectorAll('#log-lines .line').length")
            print(f"server CPU while {services} services log {rate:g} lines/s each "
                  f"({services * rate:.0f} lines/s, one page following all logs): "
                  f"{busy:.1f}% of a core, the feed included (SYNTHETIC); pushing to the "
                  f"page costs about {busy - alone:.1f}%")  # fmt: skip
            print(f"server RSS while logging: {rss_mib(proc.pid):.1f} MiB; "
                  f"page shows {lines} lines")  # fmt: skip
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--lines-per-second", type=float, default=2.0, help="per service")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU sampling window")
    parser.add_argument(
        "--no-usage", action="store_true", help="no usage readings (as before the plots)"
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.lines_per_second)
        return
    if args.no_usage:
        os.environ[NO_USAGE] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "blueprint.py").write_text(textwrap.dedent(blueprint(args.services)))
        print(f"SYNTHETIC: {args.services} generated services in {GROUPS} groups, no engine; "
              "events from a synthetic feed on the dev loop's event bus")  # fmt: skip
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        measure_idle(folder, args.services, args.runs, args.seconds)
        measure_logging(folder, args.services, args.lines_per_second, args.seconds)


if __name__ == "__main__":
    main()
