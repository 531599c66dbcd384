"""deploy, promote, rollback and releases: bad input is refused before anything is touched."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

BLUEPRINT = """
from devkit import Blueprint, Docker, Kubernetes, Swarm

app = Blueprint("shop")
app.service("api", image="api:1")
app.environment("local", Docker())
app.environment("cluster", Kubernetes(context="prod"))
app.environment("staging", Swarm())
"""


def test_deploying_a_docker_or_unknown_environment_is_bad_input(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = write_blueprint(BLUEPRINT).parent
    local = devkit("deploy", "local", cwd=root)
    assert local.code == 2 and "cannot deploy releases" in local.stderr
    assert "environments that deploy: cluster, staging" in local.stderr
    nowhere = {**os.environ, "KUBECONFIG": str(root / "no-such-kubeconfig")}
    cluster = devkit("releases", "cluster", cwd=root, env=nowhere)
    assert cluster.code == 2 and "cannot read the kubeconfig" in cluster.stderr
    unknown = devkit("releases", "qa", "--json", cwd=root)
    assert unknown.code == 2 and 'unknown environment "qa"' in unknown.stderr
    assert "Traceback" not in local.stderr + cluster.stderr + unknown.stderr


def test_deploy_without_images_needs_a_registry_and_says_how_to_declare_one(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = write_blueprint(BLUEPRINT).parent
    run = devkit("deploy", "staging", "--json", cwd=root)
    assert run.code == 2, run.stderr
    assert "has no registry to push to" in run.stderr and 'Swarm(registry="' in run.stderr
    assert '"ok": false' in run.stdout and '"exit_code": 2' in run.stdout


def test_the_commands_explain_themselves(devkit: Callable[..., Run]) -> None:
    for command, words in {
        "deploy": "rolled back to the",
        "promote": "nothing to do (exit 0)",
        "rollback": "--to",
        "releases": "newest first",
    }.items():
        run = devkit(command, "--help")
        assert run.code == 0 and words in run.stdout.replace("\n", " "), run.stdout
