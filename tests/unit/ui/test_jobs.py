"""The page's job buttons ask for a job by service and name: only one the environment declares."""

from __future__ import annotations

import pytest

from devkit import Blueprint, Docker
from devkit.devloop.events import EventBus
from devkit.model.job import Job
from devkit.planning.planner import plan
from devkit.ui.jobs import JobRunner


def test_only_a_job_the_environment_declares_for_that_service_runs() -> None:
    app = Blueprint("p")
    app.service("api", image="python:3.11-slim")
    app.service("worker", image="python:3.11-slim")
    app.environment("local", Docker(), jobs=[Job("migrate", ["true"], service="api")])
    bus = EventBus()
    runner = JobRunner(plan(app, "local"), bus)
    with pytest.raises(KeyError, match='service "worker" has no job "migrate"'):
        runner.run("worker", "migrate")
    with pytest.raises(KeyError, match='service "api" has no job "rm"'):
        runner.run("api", "rm")
    assert bus.history() == []  # nothing started
