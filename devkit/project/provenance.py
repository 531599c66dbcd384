"""Who deploys, and from which commit: what a release record says about where it came from."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path


def deployer(environ: Mapping[str, str] | None = None) -> str:
    """The CI run (GitHub Actions, GitLab CI) or `user@host` that deploys; DEVKIT_DEPLOYER wins."""
    env = os.environ if environ is None else environ
    if env.get("DEVKIT_DEPLOYER"):
        return env["DEVKIT_DEPLOYER"]
    if env.get("GITHUB_ACTIONS") == "true":
        run = (
            f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/"
            f"{env.get('GITHUB_REPOSITORY', '?')}/actions/runs/{env.get('GITHUB_RUN_ID', '?')}"
        )
        return f"{env.get('GITHUB_ACTOR', 'github-actions')} via {run}"
    if env.get("GITLAB_CI") == "true":
        return f"{env.get('GITLAB_USER_LOGIN', 'gitlab-ci')} via {env.get('CI_JOB_URL', '?')}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def git_commit(root: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The commit the blueprint's checkout is at (`-dirty` with uncommitted changes), if any."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_SHA"):
        return env["GITHUB_SHA"]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
