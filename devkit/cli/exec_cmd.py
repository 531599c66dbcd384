"""`devkit exec SERVICE -- CMD`: run a command in a service's running container."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ClusterOption, ContextOption, EnvOption, NamespaceOption, app
from devkit.cli.loading import target_for


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="The service to run in.")],
    command: Annotated[
        list[str], typer.Argument(metavar="CMD...", help="The command and its arguments.")
    ],
    env: EnvOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Run CMD in SERVICE's container (on a cluster: a ready pod of it), attached to this
    terminal; exits with CMD's exit code."""
    import sys

    from devkit.errors import UserError
    from devkit.targets.base import Executes

    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UserError("give the command to run: devkit exec SERVICE -- CMD [ARG...]")
    with target_for(ctx, env, Executes, context=context, namespace=namespace,
                    cluster=cluster, narrows=True) as found:  # fmt: skip
        target, plan, _, _ = found
        if service not in {s.name for s in plan.services}:
            raise UserError(
                f'no service "{service}" in {plan.project}',
                details=[f"services: {', '.join(s.name for s in plan.services)}"],
            )
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        code = target.exec(service, command, interactive=interactive)
    raise typer.Exit(code)
