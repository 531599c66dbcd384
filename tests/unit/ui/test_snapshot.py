"""What the page lists of a plan: requests and limits as numbers, each service's declared jobs."""

from __future__ import annotations

from devkit import Blueprint, Docker, Resources
from devkit.model.job import Job
from devkit.planning.planner import plan
from devkit.ui.snapshot import services_of


def test_requests_limits_and_jobs_per_service() -> None:
    app = Blueprint("p")
    app.service("api", image="python:3.11-slim",
                resources=Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"))  # fmt: skip
    app.service("worker", image="python:3.11-slim")
    app.environment(
        "local", Docker(),
        jobs=[Job("migrate", ["python", "-m", "app.migrate"], service="api", timeout=30),
              Job("seed", ["python", "-m", "app.seed"], service="api")],
    )  # fmt: skip
    found = {s["name"]: s for s in services_of(plan(app, "local"))["services"]}
    assert found["api"]["resources"] == {
        "cpu": 0.25, "cpu_limit": None, "memory": 256 * 2**20, "memory_limit": 512 * 2**20,
    }  # fmt: skip
    assert found["api"]["jobs"] == [
        {"name": "migrate", "command": ["python", "-m", "app.migrate"], "timeout": 30.0},
        {"name": "seed", "command": ["python", "-m", "app.seed"], "timeout": 300.0},
    ]
    assert found["worker"]["resources"]["cpu"] is None
    assert found["worker"]["jobs"] == []


def test_jobs_run_from_the_page_where_the_target_can_run_them() -> None:
    from devkit import Kubernetes, Swarm
    from devkit.targets.base import ReportsUsage, RunsJobs
    from devkit.targets.registry import capable

    app = Blueprint("p")
    app.service("api", image="python:3.11-slim")
    app.environment("local", Docker())
    app.environment("staging", Swarm())
    app.environment("prod", Kubernetes(context="prod"))
    assert capable(app, RunsJobs) == ["local", "prod"]
    assert capable(app, ReportsUsage) == ["local", "staging", "prod"]
