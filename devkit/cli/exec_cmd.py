"""`devkit exec SERVICE -- CMD`: run a command in a service's running container."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import EnvOption, app
from devkit.cli.loading import local_plan


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="The service to run in.")],
    command: Annotated[
        list[str], typer.Argument(metavar="CMD...", help="The command and its arguments.")
    ],
    env: EnvOption = None,
) -> None:
    """Run CMD in SERVICE's container, attached to this terminal; exits with CMD's exit code."""
    import os
    import shutil
    import sys

    from devkit.build.engine import connect
    from devkit.errors import EngineError, UserError
    from devkit.targets.docker.target import DockerTarget

    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UserError("give the command to run: devkit exec SERVICE -- CMD [ARG...]")
    plan, _, _ = local_plan(ctx, env)
    if service not in {s.name for s in plan.services}:
        raise UserError(
            f'no service "{service}" in {plan.project}',
            details=[f"services: {', '.join(s.name for s in plan.services)}"],
        )
    target = DockerTarget(connect(), plan.project, plan.environment)
    running = {row.service: row.container for row in target.status() if row.state == "running"}
    if service not in running:
        raise EngineError(
            f'service "{service}" is not running in {plan.project}/{plan.environment}',
            details=["start it with `devkit up`"],
        )
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise EngineError("devkit exec needs the docker command-line client on PATH")
    flags = ["-i"] + (["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else [])
    sys.stdout.flush()
    os.execv(docker_cli, ["docker", "exec", *flags, running[service], *command])  # noqa: S606
