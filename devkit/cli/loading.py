"""How commands get their blueprint and plans: settings applied, then the pure layers called."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from devkit.cli.app import options

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.model.blueprint import Blueprint
    from devkit.planning.planner import Plan
    from devkit.project.settings import Settings


def blueprint(ctx: typer.Context) -> Blueprint:
    """Load the blueprint named by -f, DEVKIT_FILE, [tool.devkit] file, or ./blueprint.py."""
    from devkit.project.load import load_blueprint

    return load_blueprint(settings(ctx).file)


def settings(ctx: typer.Context) -> Settings:
    """Flags, DEVKIT_* variables and [tool.devkit], combined."""
    from devkit.project.settings import load_settings

    return load_settings(file=options(ctx).file)


def local_plan(ctx: typer.Context, env: str | None) -> tuple[Plan, Path, Settings]:
    """The plan of a Docker environment (default: the configured default), its root, settings."""
    from devkit.errors import UserError
    from devkit.planning.planner import plan
    from devkit.project.load import load_blueprint

    current = settings(ctx)
    loaded = load_blueprint(current.file)
    name = env or current.default_env
    planned = plan(loaded, name)
    if planned.target.kind != "docker":
        raise UserError(
            f'environment "{name}" runs on {planned.target.kind}; this command works on '
            "Docker environments",
            details=[
                "Docker environments: "
                + (
                    ", ".join(
                        n for n, e in loaded.environments.items() if e.target.kind == "docker"
                    )
                    or "(none)"
                )
            ],
        )
    assert loaded.root is not None
    return planned, loaded.root, current


def plan_for(ctx: typer.Context, env: str) -> Plan:
    """Load the blueprint and plan one of its environments."""
    from devkit.planning.planner import plan

    return plan(blueprint(ctx), env)
