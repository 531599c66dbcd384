"""Deploy, promote and roll back on a real single-node Docker Swarm, through the CLI as CI runs it.

Images go to the real registry on 127.0.0.1:5000 and services run them by digest. This machine's
kernel has no IPVS, so the environments use `routing_mesh=False` (DNS round robin, ports
published on the node), which is also what such swarms need in the field.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from devkit.records.lock import new_lock
from devkit.targets.swarm.records import SwarmRecords
from tests.docker.conftest import APP, MIGRATE_JOB, PYTHON, REGISTRY, Project

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

BLUEPRINT = f"""
from blueprints import redis
from devkit import Blueprint, Build, Http, Port, Secret, Swarm, Verify

app = Blueprint("NAME")
cache = app.use(redis(version="7"))
web = app.service(
    "web",
    build=Build("web"),
    ports={{"http": Port(8000, public=True)}},
    env={{"GREETING": Secret("GREETING"), "REDIS_URL": cache.url}},
    health=Http("/healthz", port="http", interval=1, retries=2),
    depends_on=[cache],
)
# Smoke test: from inside the environment's network, the web service answers, not "fail-verify".
smoke = Verify(
    ["python", "-c", "import sys, urllib.request; "
     "body = urllib.request.urlopen('http://web:8000/', timeout=5).read().decode(); "
     "print(body); sys.exit(body.startswith('fail-verify'))"],
    service="web", timeout=60,
)
target = Swarm(registry="{REGISTRY}", routing_mesh=False)
app.environment("staging", target, verify=smoke, rollout_timeout=120)
app.environment("prod", target, replicas=2, verify=smoke, rollout_timeout=120)
"""


def swarm_project(project: Callable[[str], Project], version: str = "v1") -> Project:
    p = project("swp")
    p.write("blueprint.py", BLUEPRINT.replace("NAME", p.name))
    p.write(
        "web/Dockerfile",
        """
        FROM python:3.11-slim
        COPY app.py VERSION /app/
        CMD ["python", "/app/app.py"]
        """,
    )
    p.write("web/app.py", APP)
    p.write("web/VERSION", version)
    p.env["GREETING"] = "hello"
    return p


def ok(run: Any) -> Any:
    assert run.code == 0, run.stderr
    return run


def build_push(p: Project, file: str) -> dict[str, str]:
    ok(p.devkit("build", "staging", "--push", "--images-file", file, timeout=600))
    images: dict[str, str] = json.loads((p.root / file).read_text())["images"]
    return images


def releases(p: Project, env: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(p.devkit("releases", env, "--json")).stdout)[
        "releases"
    ]
    return found


def running_images(client: docker.DockerClient, p: Project, env: str) -> dict[str, str]:
    services = client.services.list(filters={"label": [f"dev.devkit.project={p.name}",
                                                       f"dev.devkit.env={env}"]})  # fmt: skip
    return {
        s.attrs["Spec"]["Labels"]["dev.devkit.service"]: s.attrs["Spec"]["TaskTemplate"][
            "ContainerSpec"
        ]["Image"]
        for s in services
    }


def _tasks(client: docker.DockerClient, p: Project, env: str, service: str) -> list[Any]:
    found: list[Any] = client.api.tasks(filters={"service": f"{p.name}-{env}-{service}"})
    return found


def running_tasks(client: docker.DockerClient, p: Project, env: str, service: str) -> list[Any]:
    return [
        t
        for t in _tasks(client, p, env, service)
        if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
    ]


def published_ports(task: Any) -> list[int]:
    """The node ports a task lists, in order: each once for IPv4, then once for IPv6."""
    return [q["PublishedPort"] for q in (task["Status"].get("PortStatus") or {}).get("Ports") or []]


def served(client: docker.DockerClient, p: Project, env: str) -> set[str]:
    """What every running web task answers, through its port published on 127.0.0.1."""
    bodies = set()
    for task in running_tasks(client, p, env, "web"):
        port = published_ports(task)[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            bodies.add(response.read().decode())
    return bodies


def task_ports(client: docker.DockerClient, p: Project, env: str, service: str) -> list[int]:
    """The distinct ports the service's running tasks publish on the node (without the mesh)."""
    return sorted(
        {port for t in running_tasks(client, p, env, service) for port in published_ports(t)}
    )


def task_history(client: docker.DockerClient, p: Project, env: str, service: str) -> list[str]:
    """Each task of the service: state, error and published ports, for a failure's message."""
    return [
        f"{t['ID'][:12]} {t['Status']['State']}/{t['DesiredState']} {t['Status'].get('Err', '')} "
        f"{published_ports(t)}"
        for t in _tasks(client, p, env, service)
    ]


def test_ci_story_build_once_deploy_promote_and_roll_back(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    # CI job 1: build once, push, keep the images file as the job's artifact.
    images = build_push(p, "images.json")
    assert set(images) == {"web", "redis"}
    assert all(f"{REGISTRY}/" in ref and "@sha256:" in ref for ref in images.values())

    # Job 2: deploy those images to staging (verify runs inside the network).
    deployed = json.loads(ok(p.devkit("deploy", "staging", "--images", "images.json",
                                      "--json")).stdout)  # fmt: skip
    assert deployed["ok"] and deployed["release"]["status"] == "healthy"
    assert deployed["release"]["images"] == images
    assert running_images(swarm, p, "staging") == images
    assert served(swarm, p, "staging") == {"v1 hello"}

    # Job 3: promote staging -> prod: the identical digests, nothing built.
    promoted = json.loads(ok(p.devkit("promote", "staging", "prod", "--json")).stdout)
    assert promoted["source"] == {"environment": "staging", "release": 1}
    assert running_images(swarm, p, "prod") == images
    assert served(swarm, p, "prod") == {"v1 hello"}
    (prod_release,) = releases(p, "prod")
    assert prod_release["origin"] == "promote from staging #1"
    assert prod_release["images"] == images

    # A re-run of the same promotion job passes with nothing to do.
    again = ok(p.devkit("promote", "staging", "prod"))
    assert "nothing to do" in again.stderr
    assert len(releases(p, "prod")) == 1

    # A broken release (its health check fails) is rolled back; v1 keeps serving.
    p.write("web/VERSION", "broken")
    broken = build_push(p, "broken.json")
    assert broken["web"] != images["web"] and broken["redis"] == images["redis"]
    failed = p.devkit("deploy", "staging", "--images", "broken.json", timeout=600)
    assert failed.code == 1, failed.stderr
    assert "rolled back to #1" in failed.stderr
    assert "traceback" not in failed.stderr.lower()
    assert running_images(swarm, p, "staging") == images
    assert served(swarm, p, "staging") == {"v1 hello"}

    # ...and promotion refuses to take it: staging's last release is not healthy.
    refused = p.devkit("promote", "staging", "prod")
    assert refused.code == 3, refused.stderr
    assert "rolled-back" in refused.stderr
    assert running_images(swarm, p, "prod") == images

    history = releases(p, "staging")
    assert [(r["number"], r["status"]) for r in history] == [(2, "rolled-back"), (1, "healthy")]
    assert history[0]["images"] == broken and history[0]["reason"]
    assert all(r["by"] and r["created"] for r in history)
    table = ok(p.devkit("releases", "staging")).stdout
    assert "rolled-back" in table and "healthy" in table


def test_failing_verify_rolls_back_and_rollback_restores_an_earlier_release(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    ok(p.devkit("deploy", "staging", timeout=600))  # builds and pushes itself: release 1
    p.write("web/VERSION", "v2")
    ok(p.devkit("deploy", "staging", timeout=600))  # release 2
    assert served(swarm, p, "staging") == {"v2 hello"}

    p.write("web/VERSION", "fail-verify")
    failed = p.devkit("deploy", "staging", timeout=600)
    assert failed.code == 1, failed.stderr
    assert "verify failed" in failed.stderr and "rolled back to #2" in failed.stderr
    assert served(swarm, p, "staging") == {"v2 hello"}

    back = ok(p.devkit("rollback", "staging", "--json"))
    restored = json.loads(back.stdout)["release"]
    assert restored["origin"] == "rollback to #1" and restored["status"] == "healthy"
    assert served(swarm, p, "staging") == {"v1 hello"}
    assert [r["status"] for r in releases(p, "staging")] == [
        "healthy", "rolled-back", "healthy", "healthy",
    ]  # fmt: skip


def test_promote_from_an_environment_that_never_deployed_is_refused(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    run = p.devkit("promote", "staging", "prod", "--json")
    assert run.code == 3, run.stderr
    assert "never been deployed" in run.stderr
    assert json.loads(run.stdout)["error"]["exit_code"] == 3
    assert running_images(swarm, p, "prod") == {}


def test_promote_while_another_promotion_holds_the_lock_is_refused(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    ok(p.devkit("deploy", "staging", timeout=600))
    records = SwarmRecords(swarm, p.name, "prod")
    with records.locked(new_lock("ci-job-41", "promote staging -> prod")):
        run = p.devkit("promote", "staging", "prod")
        assert run.code == 3, run.stderr
        assert "locked" in run.stderr and "ci-job-41" in run.stderr
        assert running_images(swarm, p, "prod") == {}
        assert releases(p, "prod") == []
        # Whoever knows the holder is gone takes the lock over explicitly.
        taken = ok(p.devkit("promote", "staging", "prod", "--break-lock"))
        assert "broke the lock" in taken.stderr
    assert running_images(swarm, p, "prod") == running_images(swarm, p, "staging")
    assert records.holder() is None


def test_deploy_killed_halfway_then_run_again_converges(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    images = build_push(p, "images.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "deploy", "staging", "--images", "images.json"],
        cwd=p.root,
        env=p.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if "rolling out" in line or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert [r["status"] for r in releases(p, "staging")] == ["deploying"]

    again = ok(p.devkit("deploy", "staging", "--images", "images.json", timeout=600))
    assert "stale lock" in again.stderr and "interrupted" in again.stderr
    assert [r["status"] for r in releases(p, "staging")] == ["healthy", "interrupted"]
    assert running_images(swarm, p, "staging") == images
    assert served(swarm, p, "staging") == {"v1 hello"}


def test_deploy_of_an_image_digest_that_no_longer_exists_changes_nothing(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    images = build_push(p, "images.json")
    gone = {**images, "web": images["web"].split("@")[0] + "@sha256:" + "0" * 64}
    p.write("gone.json", json.dumps({"project": p.name, "images": gone}))
    run = p.devkit("deploy", "staging", "--images", "gone.json")
    assert run.code == 1, run.stderr
    assert "not found in the registry" in run.stderr and "web:" in run.stderr
    assert "nothing was changed" in run.stderr
    assert running_images(swarm, p, "staging") == {}
    assert releases(p, "staging") == []


def test_bad_images_file_names_the_file_and_the_problem(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    p.write("images.json", '{"images": {"web": "swp-web:latest",\n "cache": 1}}')
    run = p.devkit("deploy", "staging", "--images", "images.json")
    assert run.code == 2, run.stderr
    assert "images.json" in run.stderr and "not a reference by digest" in run.stderr
    assert '"cache" is not a service' in run.stderr and 'no image for service "redis"' in run.stderr
    p.write("images.json", '{"images": {\n  "web": oops}}')
    run = p.devkit("deploy", "staging", "--images", "images.json")
    assert run.code == 2 and "images.json:2: not valid JSON" in run.stderr
    assert releases(p, "staging") == []


def test_without_the_mesh_the_printed_url_is_a_task_port_that_answers(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    ok(p.devkit("deploy", "prod", timeout=600))  # two tasks, each on its own node port(s)
    first, second = (set(published_ports(t)) for t in running_tasks(swarm, p, "prod", "web"))
    # The engine's proxies for one task's ports go away, as when it failed to bind: those ports
    # refuse connections, and the URL devkit prints is the other task's.
    for port in first:
        proxies = subprocess.run(
            ["pgrep", "-f", f"docker-proxy .*-host-port {port} "],
            check=False,
            capture_output=True,
            text=True,
        ).stdout.split()
        for pid in proxies:
            os.kill(int(pid), signal.SIGKILL)
    deployed = json.loads(ok(p.devkit("deploy", "prod", "--json", timeout=600)).stdout)
    assert int(deployed["urls"]["web.http"].rsplit(":", 1)[1]) in second
    with urllib.request.urlopen(deployed["urls"]["web.http"], timeout=5) as response:
        assert response.read().decode() == "v1 hello"


def test_a_port_the_engine_had_to_bind_again_is_printed_as_the_one_that_answers(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    # The engine hands out node ports in order. Every other port after a throwaway container's
    # is taken (bound, not listening; every other, so one the other test process allocates
    # meanwhile still leaves the next taken): the engine binds the task's IPv4 port to another
    # and still lists the one it could not bind for IPv6, which nothing serves on 127.0.0.1.
    probe = swarm.containers.run(PYTHON, ["sleep", "30"], ports={"8000/tcp": None}, detach=True)
    probe.reload()
    last = int(probe.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
    probe.remove(force=True)
    with contextlib.ExitStack() as stack:
        taken = set()
        for port in range(last + 1, last + 9, 2):
            held = stack.enter_context(socket.socket())
            with contextlib.suppress(OSError):
                held.bind(("0.0.0.0", port))
                taken.add(port)
        deployed = json.loads(ok(p.devkit("deploy", "staging", "--json", timeout=600)).stdout)
    listed = set(task_ports(swarm, p, "staging", "web"))
    # The engine bound the task's port again (on one of the taken ports, or one another process
    # held): two ports listed, and the URL is the one that serves the app.
    assert len(listed) == 2, (taken, listed)
    url = deployed["urls"]["web.http"]
    assert int(url.rsplit(":", 1)[1]) in listed
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read().decode() == "v1 hello"


def test_status_shows_each_task_and_a_replaced_one_as_a_restart_exec_and_logs_reach_tasks(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    ok(p.devkit("deploy", "prod", timeout=600))
    node = swarm.info()["Name"]

    def status() -> dict[str, dict[str, Any]]:
        found = json.loads(ok(p.devkit("status", "-e", "prod", "--json")).stdout)
        return {row["service"]: row for row in found["services"]}

    rows = status()
    # CPU and memory from this node's tasks' containers (CPU needs a second reading: a fresh
    # `devkit status` has one)
    used = json.loads(ok(p.devkit("status", "-e", "prod", "--json")).stdout)
    assert used["usage_unavailable"] is None
    memory = {u["service"]: u["memory"] for u in used["usage"]}
    assert memory.keys() == {"web", "redis"} and min(memory.values()) > 1_000_000
    web = rows["web"]
    assert (web["container"], web["state"], web["health"]) == (f"{p.name}-prod-web", "running",
                                                               "healthy")  # fmt: skip
    assert (web["ready"], web["total"], web["restarts"]) == (2, 2, 0)
    assert sorted(pod["name"] for pod in web["pods"]) == ["web.1", "web.2"]
    assert {pod["node"] for pod in web["pods"]} == {node}
    assert web["image"] == running_images(swarm, p, "prod")["web"]
    with urllib.request.urlopen(f"http://{web['ports']['8000/tcp']}/", timeout=5) as response:
        assert response.read().decode() == "v1 hello"
    assert rows["redis"]["state"] == "running" and rows["redis"]["total"] == 1
    table = ok(p.devkit("status", "-e", "prod")).stdout
    assert "2/2" in table and node in table and "MiB" in table

    # A task whose container dies is replaced in its slot: the failed one counts as a restart.
    killed = running_tasks(swarm, p, "prod", "web")[0]
    swarm.containers.get(killed["Status"]["ContainerStatus"]["ContainerID"]).kill()
    deadline = time.monotonic() + 90
    while True:
        web = status()["web"]
        # the slot has no task while the swarm waits to start the next one
        slot = next((pod for pod in web["pods"] if pod["name"] == f"web.{killed['Slot']}"), None)
        if slot is not None and slot["restarts"] == 1 and web["ready"] == 2:
            break
        assert time.monotonic() < deadline, (web, task_history(swarm, p, "prod", "web"))
        time.sleep(1)
    assert web["restarts"] == 1 and web["state"] == "running"

    # exec runs in a running task on this node, with the exit code of the command
    assert ok(p.devkit("exec", "-e", "prod", "web", "--", "cat", "/app/VERSION")).stdout == "v1"
    assert p.devkit("exec", "-e", "prod", "web", "--", "sh", "-c", "exit 7").code == 7
    missing = p.devkit("exec", "-e", "staging", "web", "--", "ls")  # staging never deployed
    assert missing.code == 1 and 'service "web" is not deployed' in missing.stderr
    assert "devkit deploy staging" in missing.stderr

    logs = ok(p.devkit("logs", "-e", "prod", "redis", "--tail", "50"))
    assert "Ready to accept connections" in logs.stdout
    assert all(line.startswith("redis") for line in logs.stdout.splitlines() if line.strip())


def test_examples_shop_deploys_to_swarm_and_promotes_with_its_smoke_test(
    swarm: docker.DockerClient, shop: Project
) -> None:
    shop.env["SHOP_REGISTRY"] = REGISTRY
    deployed = ok(shop.devkit("deploy", "swarm-staging", timeout=900))
    assert "verifying (python -m app.smoke)" in deployed.stderr
    promoted = json.loads(
        ok(shop.devkit("promote", "swarm-staging", "swarm-prod", "--json")).stdout
    )
    assert promoted["release"]["status"] == "healthy"
    assert running_images(swarm, shop, "swarm-prod") == running_images(swarm, shop, "swarm-staging")
    url = promoted["urls"]["api.http"]
    port = int(url.rsplit(":", 1)[1])
    # Without the routing mesh each task publishes its own port on the node: a task the swarm
    # replaced since (its health check failed on a loaded machine) answers on a new one. The
    # engine programs a port on its own time after the update: a bounded wait, with the tasks'
    # history when it runs out.
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
                stats = json.loads(response.read())
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{exc}; tasks: {task_history(swarm, shop, 'swarm-prod', 'api')}"
                ) from exc
            time.sleep(0.5)
            port = (task_ports(swarm, shop, "swarm-prod", "api") or [port])[0]
    # Each environment's smoke test placed one order, and its worker processed it.
    assert stats["orders"]["by_status"] == {"processed": 1}


JOB = f"""
from devkit import Job
app.environment("jobs", target, verify=smoke, rollout_timeout=120, jobs=[{MIGRATE_JOB}])
"""


def test_a_failing_pre_deploy_job_stops_the_deploy_and_a_passing_one_runs_before_the_rollout(
    swarm: docker.DockerClient, project: Callable[[str], Project]
) -> None:
    p = swarm_project(project)
    p.write("blueprint.py", (p.root / "blueprint.py").read_text().replace(
        'app.environment("staging"', 'app.environment("jobs", target, verify=smoke)\n'
        'app.environment("staging"'))  # fmt: skip
    ok(p.devkit("deploy", "jobs", timeout=600))  # release 1 (v1), without jobs
    images = running_images(swarm, p, "jobs")
    blueprint = (p.root / "blueprint.py").read_text()
    blueprint = blueprint.replace('app.environment("jobs", target, verify=smoke)\n', JOB)
    p.write("blueprint.py", blueprint)

    def versions() -> dict[str, int]:
        found = swarm.services.list(filters={"label": f"dev.devkit.project={p.name}"})
        return {s.name: s.attrs["Version"]["Index"] for s in found}

    before = versions()
    p.write("web/VERSION", "fail-job")
    failed = p.devkit("deploy", "jobs", "--json", timeout=600)
    assert failed.code == 1, failed.stderr
    assert 'pre-deploy job "migrate" exited with 3' in failed.stderr
    assert "job fail-job hello while web serves v1 hello" in failed.stderr  # its log lines
    assert "nothing was rolled out" in failed.stderr and "Traceback" not in failed.stderr
    error = json.loads(failed.stdout)["error"]
    assert error["type"] == "JobFailedError" and error["exit_code"] == 1
    # Nothing changed: no service was updated, the old release serves.
    assert versions() == before
    assert running_images(swarm, p, "jobs") == images
    assert served(swarm, p, "jobs") == {"v1 hello"}
    history = releases(p, "jobs")
    assert [(r["number"], r["status"]) for r in history] == [(2, "failed"), (1, "healthy")]
    assert 'pre-deploy job "migrate" exited with 3' in history[0]["reason"]
    assert not swarm.containers.list(all=True, filters={"label": "dev.devkit.role=job"})

    # A passing job runs in the new image while the previous release still serves.
    p.write("web/VERSION", "v2")
    passed = json.loads(ok(p.devkit("deploy", "jobs", "--json", timeout=600)).stdout)
    (job,) = passed["jobs"]
    assert job["name"] == "migrate"
    assert "job v2 hello while web serves v1 hello" in job["logs"]
    assert served(swarm, p, "jobs") == {"v2 hello"}
    assert [r["status"] for r in releases(p, "jobs")] == ["healthy", "failed", "healthy"]


SECOND_REGISTRY = "127.0.0.1:5002"


@pytest.fixture
def second_registry(tmp_path: Path) -> Iterator[str]:
    """Another registry (Debian's docker-registry, as tests/setup/registry.sh runs the first),
    with its own storage, stopped at the end."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: {SECOND_REGISTRY}\n"
    )
    with (root / "log").open("w") as log:
        server = subprocess.Popen(
            ["docker-registry", "serve", str(root / "config.yml")], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://{SECOND_REGISTRY}/v2/", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the second registry did not start: {(root / 'log').read_text()}")
                time.sleep(0.2)
        yield SECOND_REGISTRY
    finally:
        server.terminate()
        server.wait(timeout=30)


def manifest_digest(ref: str) -> str:
    """The digest a registry serves for `repository@digest`, asked over its HTTP API."""
    repository, _, digest = ref.partition("@")
    host, _, path = repository.partition("/")
    request = urllib.request.Request(
        f"http://{host}/v2/{path}/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


def test_promote_to_another_registry_copies_each_image_by_digest(
    swarm: docker.DockerClient, project: Callable[[str], Project], second_registry: str
) -> None:
    p = swarm_project(project)
    p.write("blueprint.py", (p.root / "blueprint.py").read_text() + (
        f'app.environment("far", Swarm(registry="{second_registry}", routing_mesh=False), '
        "verify=smoke, rollout_timeout=120)\n"
    ))  # fmt: skip
    images = build_push(p, "images.json")
    ok(p.devkit("deploy", "staging", "--images", "images.json", timeout=600))

    dry = json.loads(ok(p.devkit("promote", "staging", "far", "--dry-run", "--json")).stdout)
    assert set(dry["copies"]) == {"web", "redis"}
    assert json.loads(ok(p.devkit("releases", "far", "--json")).stdout)["releases"] == []

    promoted = json.loads(ok(p.devkit("promote", "staging", "far", "--json",
                                      timeout=600)).stdout)  # fmt: skip
    copies = promoted["images"]
    for service, ref in images.items():
        copy = copies[service]
        assert copy.startswith(f"{second_registry}/") and copy.endswith(ref.split("@")[1])
        assert manifest_digest(copy) == ref.split("@")[1]  # what the second registry serves
    assert running_images(swarm, p, "far") == copies
    assert served(swarm, p, "far") == {"v1 hello"}
    (release,) = releases(p, "far")
    assert release["images"] == copies and release["origin"] == "promote from staging #1"

    # A re-run finds the copies running: nothing to do, nothing copied again.
    again = ok(p.devkit("promote", "staging", "far"))
    assert "nothing to do" in again.stderr and "copying" not in again.stderr
