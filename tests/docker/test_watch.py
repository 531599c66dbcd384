"""Live sync on the real engine: `devkit watch` against a small service run under the supervisor."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator

import docker
import pytest

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker

BLUEPRINT = """
from devkit import Blueprint, Build, Docker, Http, Restart, Run, Sync
app = Blueprint("{name}")
app.service(
    "web", build=Build("web"), ports={{"http": 8000}}, health=Http("/", port="http", interval=1),
    sync=[Sync("web/app", "/srv/app", then=Restart()),
          Sync("web/data", "/srv/data", then=Run("sh", "-c", "cat /srv/data/*.txt > /tmp/joined"))],
)
app.service("other", image="python:3.11-slim", command=["sleep", "100000"])
app.environment("local", Docker())
"""
DOCKERFILE = """
FROM python:3.11-slim
COPY --chown=1234:1234 app /srv/app
COPY --chown=1234:1234 data /srv/data
USER 1234:1234
CMD ["python3", "-u", "/srv/app/main.py"]
"""
MAIN = """
import http.server, sys
sys.path.insert(0, "/srv/app")
from message import TEXT

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = TEXT.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

print("serving", TEXT, flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def write_project(p: Project, *, blueprint: str | None = None, main: str = MAIN) -> None:
    """The small live-synced project every test here starts from."""
    p.write("blueprint.py", blueprint or BLUEPRINT.format(name=p.name))
    p.write("web/Dockerfile", DOCKERFILE)
    p.write("web/app/main.py", main)
    p.write("web/app/message.py", 'TEXT = "v1"\n')
    p.write("web/data/a.txt", "a\n")


class Watcher:
    """`devkit watch` as a user runs it, its report lines collected as they come."""

    def __init__(self, p: Project) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devkit", "watch"], cwd=p.root, env=p.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; watch said:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.read().decode()


def serves(url: str, text: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url) == text:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@pytest.fixture
def live(
    project: Callable[[str], Project], docker_client: docker.DockerClient
) -> Iterator[tuple[Project, Watcher, str]]:
    p = project("live")
    write_project(p)
    up = p.devkit("up", "-d", "--json")
    assert up.code == 0, up.stderr
    container = docker_client.containers.get(f"{p.name}-local-web")
    port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    watcher = Watcher(p)
    watcher.wait_for("watching")
    yield p, watcher, f"http://127.0.0.1:{port}/"
    watcher.stop()


def in_container(client: docker.DockerClient, p: Project, *cmd: str) -> str:
    _, output = client.containers.get(f"{p.name}-local-web").exec_run(list(cmd))
    return output.decode()


def test_edit_reaches_the_running_service_and_is_timed(live, docker_client) -> None:
    p, watcher, url = live
    assert get(url) == "v1"
    before = docker_client.containers.get(f"{p.name}-local-web").id
    p.write("web/app/message.py", 'TEXT = "v2"\n')
    line = watcher.wait_for(r"web\s+│ 1 file, restarted, answering [0-9.]+s after save")
    assert serves(url, "v2")
    assert docker_client.containers.get(f"{p.name}-local-web").id == before  # no container restart
    assert float(re.search(r"answering ([0-9.]+)s", line).group(1)) < 10
    owner = in_container(docker_client, p, "stat", "-c", "%u:%g", "/srv/app/message.py").strip()
    assert owner == "1234:1234"
    status = p.devkit("status", "--json")
    assert '"recent_syncs"' in status.stdout


def test_deletes_symlinks_and_permission_bits_propagate(live, docker_client) -> None:
    p, watcher, _ = live
    tool = p.write("web/app/tool.sh", "#!/bin/sh\necho tool\n")
    tool.chmod(0o750)
    (p.root / "web/app/alias.py").symlink_to("message.py")
    watcher.wait_for(r"web\s+│ \d files?, restarted")
    time.sleep(0.5)
    listing = in_container(docker_client, p, "ls", "-l", "/srv/app")
    assert re.search(r"^-rwxr-x---.* tool\.sh$", listing, re.MULTILINE), listing
    assert re.search(r"alias\.py -> message\.py$", listing, re.MULTILINE), listing
    count = len(watcher.lines)
    tool.unlink()
    watcher.wait_for(r"web\s+│ 1 file, restarted", after=count)
    assert "tool.sh" not in in_container(docker_client, p, "ls", "/srv/app")


def test_two_thousand_files_at_once_arrive_as_one_batch(live, docker_client) -> None:
    p, watcher, _ = live
    count = len(watcher.lines)
    folder = p.root / "web/app/generated"
    folder.mkdir()
    for i in range(2000):
        (folder / f"m{i:04}.py").write_text(f"X = {i}\n")
    line = watcher.wait_for(r"web\s+│ \d+ files, restarted", after=count, timeout=60)
    assert "2000 files" in line, watcher.lines[count:]
    found = in_container(docker_client, p, "sh", "-c", "ls /srv/app/generated | wc -l").strip()
    assert found == "2000"


def test_syntax_error_shows_the_output_and_the_next_good_save_recovers(live) -> None:
    p, watcher, url = live
    p.write("web/app/message.py", 'TEXT = "broken\n')
    watcher.wait_for(r"NOT answering")
    watcher.wait_for(r"SyntaxError")
    p.write("web/app/message.py", 'TEXT = "fixed"\n')
    watcher.wait_for(r"web\s+│ 1 file, restarted, answering")
    assert serves(url, "fixed")


def test_stopped_container_catches_up_when_it_starts_again(live, docker_client) -> None:
    p, watcher, _ = live
    container = docker_client.containers.get(f"{p.name}-local-web")
    container.stop(timeout=5)
    p.write("web/app/message.py", 'TEXT = "while stopped"\n')
    watcher.wait_for(r"web\s+│ .*not synced.*follow when the container runs again")
    container.start()
    watcher.wait_for(r"web\s+│ container started: [1-9]\d* files? differed, repaired")
    container.reload()
    port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    assert serves(f"http://127.0.0.1:{port}/", "while stopped")


def test_run_action_runs_in_the_container(live, docker_client) -> None:
    p, watcher, _ = live
    p.write("web/data/b.txt", "b\n")
    watcher.wait_for(r"web\s+│ 1 file, ran `sh -c cat /srv/data/\*\.txt > /tmp/joined`")
    assert in_container(docker_client, p, "cat", "/tmp/joined") == "a\nb\n"


def test_build_input_change_rebuilds_and_replaces_only_that_service(live, docker_client) -> None:
    p, watcher, _ = live
    other = docker_client.containers.get(f"{p.name}-local-other").id
    web = docker_client.containers.get(f"{p.name}-local-web").id
    p.write("web/Dockerfile", DOCKERFILE.replace("USER 1234:1234", "ENV MARK=1\nUSER 1234:1234"))
    watcher.wait_for(r"web\s+│ 0 files, rebuilt and replaced", timeout=120)
    assert docker_client.containers.get(f"{p.name}-local-other").id == other
    assert docker_client.containers.get(f"{p.name}-local-web").id != web


def test_attach_repairs_what_changed_while_nobody_watched(project, docker_client) -> None:
    p = project("attach")
    write_project(p)
    assert p.devkit("up", "-d").code == 0
    docker_client.containers.get(f"{p.name}-local-web").exec_run(
        [
            "sh",
            "-c",
            "echo stale > /srv/app/extra.py && echo 'TEXT = \"stale\"' > /srv/app/message.py",
        ]
    )
    watcher = Watcher(p)
    try:
        watcher.wait_for(r"web\s+│ attached: 2 files differed, repaired")
        assert "extra.py" not in in_container(docker_client, p, "ls", "/srv/app")
        assert in_container(docker_client, p, "cat", "/srv/app/message.py") == 'TEXT = "v1"\n'
    finally:
        watcher.stop()


def test_warm_restart_forks_from_preloaded_modules(project, docker_client) -> None:
    p = project("warm")
    write_project(
        p,
        blueprint=BLUEPRINT.format(name=p.name).replace(
            "then=Restart())", 'then=Restart(preload=["http.server", "json"]))'
        ),
        main=MAIN.replace(
            'print("serving", TEXT, flush=True)',
            'print("serving", TEXT, "json" in sys.modules, flush=True)',
        ),
    )
    assert p.devkit("up", "-d").code == 0
    container = docker_client.containers.get(f"{p.name}-local-web")
    assert container.attrs["Config"]["Entrypoint"][:2] == ["python3", "-c"]
    port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    url = f"http://127.0.0.1:{port}/"
    watcher = Watcher(p)
    try:
        watcher.wait_for("watching")
        p.write("web/app/message.py", 'TEXT = "warm"\n')
        watcher.wait_for(r"web\s+│ 1 file, restarted, answering")
        assert serves(url, "warm")
        assert "serving warm True" in container.logs().decode()  # the preloaded module was there
        p.write("web/app/message.py", 'TEXT = "broken\n')
        watcher.wait_for(r"NOT answering")
        p.write("web/app/message.py", 'TEXT = "back"\n')
        assert serves(url, "back"), (
            "\n".join(watcher.lines) + "\n" + container.logs().decode()[-1500:]
        )
    finally:
        watcher.stop()


def test_foreground_up_follows_logs_live_syncs_and_ctrl_c_stops_the_stack(
    project, docker_client
) -> None:
    p = project("fg")
    write_project(p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "up"], cwd=p.root, env=p.env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True).start()

    def seen(pattern: str, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, line) for line in list(lines)):
                return True
            time.sleep(0.05)
        return False

    try:
        assert seen("following logs"), "".join(lines)
        assert seen(r"web\s+│ serving v1"), "".join(lines)  # the service's own log, prefixed
        assert seen("watching"), "".join(lines)
        p.write("web/app/message.py", 'TEXT = "v2"\n')
        assert seen(r"web\s+│ 1 file, restarted, answering"), "".join(lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped; `devkit up` starts it again" in "".join(lines)
    states = {
        c.labels["dev.devkit.service"]: c.status
        for c in docker_client.containers.list(
            all=True, filters={"label": f"dev.devkit.project={p.name}"}
        )
    }
    assert states == {"web": "exited", "other": "exited"}  # stopped, kept for the next `up`
