"""Entry point of the `devkit` command."""

from __future__ import annotations

from devkit.cli import envs_cmd, init_cmd, plan_cmd, validate_cmd
from devkit.cli.app import app

__all__ = ["app", "envs_cmd", "init_cmd", "main", "plan_cmd", "validate_cmd"]


def main() -> None:
    """Run the CLI (the `devkit` console script)."""
    app(prog_name="devkit")
