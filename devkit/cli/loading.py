"""How commands get their blueprint and plans: settings applied, then the pure layers called."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from devkit.cli.app import options

if TYPE_CHECKING:
    from devkit.model.blueprint import Blueprint
    from devkit.planner import Plan


def blueprint(ctx: typer.Context) -> Blueprint:
    """Load the blueprint named by -f, DEVKIT_FILE, [tool.devkit] file, or ./blueprint.py."""
    from devkit.load import load_blueprint
    from devkit.settings import load_settings

    settings = load_settings(file=options(ctx).file)
    return load_blueprint(settings.file)


def plan_for(ctx: typer.Context, env: str) -> Plan:
    """Load the blueprint and plan one of its environments."""
    from devkit.planner import plan

    return plan(blueprint(ctx), env)
