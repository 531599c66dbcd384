"""Entry point of the `devkit` command."""

from __future__ import annotations

from devkit.cli import (
    cost_cmd,
    diff_cmd,
    envs_cmd,
    init_cmd,
    plan_cmd,
    render_cmd,
    validate_cmd,
)
from devkit.cli.app import app

__all__ = [
    "app", "cost_cmd", "diff_cmd", "envs_cmd", "init_cmd", "main", "plan_cmd", "render_cmd",
    "validate_cmd",
]  # fmt: skip


def main() -> None:
    """Run the CLI (the `devkit` console script)."""
    app(prog_name="devkit")
