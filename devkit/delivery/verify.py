"""Run an environment's verify step against a freshly deployed release.

In a service's image on the environment's network (the target runs it), or as a command where
devkit runs, told each published port's URL by `DEVKIT_URL_<SERVICE>_<PORT>` variables.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from devkit.model.verify import Verify
from devkit.planning.planner import Plan
from devkit.targets.docker.spec import env_value
from devkit.targets.outcome import Outcome

_TAIL = 20


class RunsOnce(Protocol):
    def run_once(
        self, service: str, image: str, command: list[str], env: Mapping[str, str], timeout: float
    ) -> Outcome: ...

    def published(self) -> dict[str, dict[int, int]]: ...


def url_variables(plan: Plan, published: Mapping[str, Mapping[int, int]]) -> dict[str, str]:
    """DEVKIT_URL_<SERVICE>_<PORT> -> http://127.0.0.1:<published port>, for published ports."""
    urls = {}
    for service in plan.services:
        for port_name, port in service.ports.items():
            host = published.get(service.name, {}).get(port.container)
            if host:
                key = f"DEVKIT_URL_{service.name}_{port_name}".upper().replace("-", "_")
                urls[key] = f"http://127.0.0.1:{host}"
    return urls


def service_env(plan: Plan, service: str, secrets: Mapping[str, str]) -> dict[str, str]:
    """A service's environment variables with their secret values, as its containers get them."""
    planned = plan.service(service)
    return {name: env_value(value, secrets) for name, value in planned.env.items()}


def run_verify(
    verify: Verify,
    plan: Plan,
    *,
    target: RunsOnce,
    images: Mapping[str, str],
    secrets: Mapping[str, str],
    root: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Outcome:
    """Run the step; ok when it exits 0 within its timeout. `extra_env` is set for a command
    that runs where devkit runs (a canary hook's weight)."""
    if verify.service is not None:
        env = service_env(plan, verify.service, secrets)
        env.update(url_variables(plan, target.published()))
        return target.run_once(
            verify.service, images[verify.service], list(verify.command), env, verify.timeout
        )
    began = time.monotonic()
    env = {
        **os.environ,
        "DEVKIT_PROJECT": plan.project,
        "DEVKIT_ENV": plan.environment,
        **url_variables(plan, target.published()),
        **(extra_env or {}),
    }
    try:
        done = subprocess.run(
            list(verify.command),
            check=False,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=verify.timeout,
        )
    except FileNotFoundError:
        return Outcome(False, f"verify command not found: {verify.command[0]}")
    except subprocess.TimeoutExpired:
        return Outcome(False, f"verify did not finish in {verify.timeout:g}s")
    lines = (done.stdout + done.stderr).splitlines()[-_TAIL:]
    seconds = round(time.monotonic() - began, 2)
    if done.returncode == 0:
        return Outcome(True, logs=tuple(lines), seconds=seconds)
    return Outcome(False, f"verify exited with {done.returncode}", tuple(lines), seconds)
