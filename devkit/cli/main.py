"""Entry point of the `devkit` command."""

from __future__ import annotations

from devkit.cli import (
    backup_cmd,
    build_cmd,
    check_cmd,
    cluster_cmd,
    cost_cmd,
    deploy_cmd,
    diff_cmd,
    doctor_cmd,
    down_cmd,
    envs_cmd,
    exec_cmd,
    explain_cmd,
    init_cmd,
    logs_cmd,
    plan_cmd,
    promote_cmd,
    releases_cmd,
    render_cmd,
    rollback_cmd,
    status_cmd,
    ui_cmd,
    up_cmd,
    validate_cmd,
    watch_cmd,
)
from devkit.cli.app import app

__all__ = [
    "app", "backup_cmd", "build_cmd", "check_cmd", "cluster_cmd", "cost_cmd", "deploy_cmd",
    "diff_cmd", "doctor_cmd", "down_cmd", "envs_cmd", "exec_cmd", "explain_cmd", "init_cmd",
    "logs_cmd", "main",
    "plan_cmd", "promote_cmd", "releases_cmd", "render_cmd", "rollback_cmd", "status_cmd",
    "ui_cmd", "up_cmd", "validate_cmd", "watch_cmd",
]  # fmt: skip


def main() -> None:
    """Run the CLI (the `devkit` console script)."""
    app(prog_name="devkit")
