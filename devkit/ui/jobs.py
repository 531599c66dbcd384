"""The page's job buttons: a service's declared jobs (the environment's `jobs=[Job(...)]`) run on
demand through the target's `RunsJobs` capability, their progress and result published on the
bus as "job" events (started, each output line, finished)."""

from __future__ import annotations

import shlex
import threading

from devkit.devloop.events import EventBus
from devkit.model.job import Job
from devkit.planning.planner import Plan
from devkit.targets.base import RunsJobs, require
from devkit.targets.registry import open_target
from devkit.ui.feeds import short, target_options


class JobRunner:
    """Runs one job of a service at a time (another service's may run meanwhile)."""

    def __init__(self, plan: Plan, bus: EventBus, *, context: str | None = None) -> None:
        self.plan, self.bus, self.context = plan, bus, context
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def run(self, service: str, name: str) -> None:
        """Start the job `name` of `service`; KeyError when it declares none of that name,
        RuntimeError while one of its jobs still runs."""
        job = next((j for j in self.plan.jobs if j.service == service and j.name == name), None)
        if job is None:
            raise KeyError(f'service "{service}" has no job "{name}"')
        with self._lock:
            if service in self._busy:
                raise RuntimeError(f'a job of "{service}" is still running')
            self._busy.add(service)
        self.bus.publish("job", service, "started", shlex.join(job.command), {"job": name})
        threading.Thread(target=self._run, args=(job,), daemon=True).start()

    def _run(self, job: Job) -> None:
        data: dict[str, object] = {"job": job.name}
        try:
            with open_target(self.plan, target_options(self.plan, self.context)) as target:
                runner = require(target, RunsJobs, self.plan)

                def line(text: str) -> None:
                    self.bus.publish("job", job.service, "line", text, data)

                outcome = runner.run_declared_job(job, line)
            detail = f"{job.name}: {outcome.reason or ('done' if outcome.ok else 'failed')}"
            self.bus.publish("job", job.service, "finished", detail,
                             {**data, "ok": outcome.ok, "seconds": outcome.seconds})  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - shown on the page (a missing capability too)
            self.bus.publish("job", job.service, "finished", f"{job.name}: {short(exc)}",
                             {**data, "ok": False, "seconds": None})  # fmt: skip
        finally:
            with self._lock:
                self._busy.discard(job.service)
