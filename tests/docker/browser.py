"""A real headless Chromium for the UI tests: Debian's (tests/setup/browser.sh), driven by
Playwright with the system browser, and the page's screenshots for docs/ui.md."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SHOTS = REPO / "docs" / "ui"


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield found
        finally:
            found.close()


def shot(page: Page, name: str) -> None:
    """Save what the page shows as docs/ui/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@dataclass
class UiProcess:
    """`devkit ui` running: its page URL (with the token), and its exit code once stopped."""

    proc: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)


@contextmanager
def devkit_ui(root: Path, env: Mapping[str, str], *args: str) -> Iterator[UiProcess]:
    """Run `devkit ui ARGS` in `root` until the block ends (then Ctrl-C, as a user stops it)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "ui", *args], cwd=root, env=dict(env),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    running = UiProcess(proc)

    def read() -> None:
        assert proc.stderr is not None
        running.lines.extend(line.rstrip("\n") for line in proc.stderr)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not running.url and time.monotonic() < deadline and proc.poll() is None:
            found = [re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
                     for line in running.lines]  # fmt: skip
            running.url = next((m.group(1) for m in found if m), "")
            time.sleep(0.1)
        assert running.url, "devkit ui printed no URL:\n" + "\n".join(running.lines)
        yield running
    finally:
        interrupt(proc, 20)


def interrupt(proc: subprocess.Popen[str], timeout: float) -> None:
    """Ctrl-C, as a user stops devkit; killed if it has not ended within `timeout` seconds."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
