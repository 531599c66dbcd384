"""The labels that identify everything devkit creates on a Docker engine.

The engine is the source of truth for what runs: devkit finds its containers, networks and
volumes by these labels, never by a state file.
"""

from __future__ import annotations

PROJECT = "dev.devkit.project"
ENV = "dev.devkit.env"
SERVICE = "dev.devkit.service"
SPEC_HASH = "dev.devkit.spec-hash"
SECRET_NAME = "dev.devkit.secret"  # noqa: S105 - a label key: the blueprint's name of a secret
ROLE = "dev.devkit.role"  # what a one-off container is for, e.g. "verify"
INIT_VALUE = "dev.devkit.init."  # + env name: salted fingerprint of a volume's first value


def stack_labels(project: str, env: str) -> dict[str, str]:
    return {PROJECT: project, ENV: env}


def stack_filter(project: str, env: str) -> list[str]:
    """An engine `label` filter matching one project's environment."""
    return [f"{PROJECT}={project}", f"{ENV}={env}"]
