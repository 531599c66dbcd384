"""deploy, promote, rollback and releases: bad input is refused before anything is touched."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("args", "lacks", "who"),
    [
        (["watch", "-e", "staging"], "cannot live-sync files", "local, cluster"),
        (["up", "-e", "staging"], "cannot run a development stack", "local, cluster"),
        (
            ["cluster", "up", "cluster"],
            "cannot create or delete its cluster",
            "Kind environments: (none)",
        ),
        (
            ["diff", "staging", "--live"],
            "cannot compare with what runs",
            "environments that can: cluster",
        ),
        (
            ["status", "-e", "local", "--namespace", "x"],
            "cannot live in a namespace",
            "can: cluster",
        ),
        (
            ["rollback", "local"],
            "cannot deploy releases",
            "environments that deploy: cluster, staging",
        ),
        (
            ["backup", "staging"],
            "cannot back up or restore services' data",
            "environments that can: local, cluster",
        ),
        (
            ["restore", "staging", "--from", "latest"],
            "cannot back up or restore",
            "environments that can: local, cluster",
        ),
    ],
)
def test_a_capability_the_target_lacks_is_bad_input_naming_the_environment(
    devkit: Callable[..., Run],
    write_blueprint: Callable[[str], Path],
    args: list[str],
    lacks: str,
    who: str,
) -> None:
    root = write_blueprint(BLUEPRINT).parent
    run = devkit(*args, cwd=root)
    env = args[args.index("-e") + 1] if "-e" in args else args[1 if args[0] != "cluster" else 2]
    assert run.code == 2, run.stderr
    assert f'environment "{env}" runs on' in run.stderr and lacks in run.stderr
    assert who in run.stderr and "nothing was changed" in run.stderr
    assert "Traceback" not in run.stderr


CLUSTERS = """
from devkit import Blueprint, Cluster, Kubernetes

app = Blueprint("shop")
app.service("api", image="api:1")
app.environment("staging", Kubernetes(context="one"))
app.environment("prod", Kubernetes(clusters=[Cluster("eu", context="one"),
                                             Cluster("us", context="two")]))
"""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("deploy", "prod", "--cluster", "asia"), 'environment "prod" has no cluster "asia"'),
        (("promote", "staging", "prod", "--cluster", "asia"), 'has no cluster "asia"'),
        (("releases", "prod", "--cluster", "asia"), "its clusters: eu, us"),
        (("promote", "prod", "staging", "--source-cluster", "asia"), 'has no cluster "asia"'),
        (("promote", "staging", "prod", "--source-cluster", "eu"), "runs on one cluster"),
        (("build", "prod", "--push", "--cluster", "asia"), 'has no cluster "asia"'),
        (("deploy", "staging", "--cluster", "eu"), "runs on one cluster: --cluster eu"),
        (("deploy", "prod", "--context", "one"), "--context needs --cluster NAME"),
        (("rollback", "prod", "--to", "3"), "--to needs --cluster NAME"),
    ],
)
def test_a_cluster_the_environment_lacks_is_bad_input_before_any_cluster_is_asked(
    devkit: Callable[..., Run],
    write_blueprint: Callable[[str], Path],
    args: tuple[str, ...],
    says: str,
) -> None:
    refused_before_any_cluster(devkit, write_blueprint, (*args, "--json"), says)


def refused_before_any_cluster(
    devkit: Callable[..., Run],
    write_blueprint: Callable[[str], Path],
    args: tuple[str, ...],
    says: str,
) -> None:
    """`args` on CLUSTERS is bad input (exit 2) that `says` so, nothing changed."""
    root = write_blueprint(CLUSTERS).parent
    # no kubeconfig at all: nothing may be asked of a cluster before the input is checked
    nowhere = {**os.environ, "KUBECONFIG": str(root / "no-such-kubeconfig")}
    run = devkit(*args, cwd=root, env=nowhere)
    assert run.code == 2, run.stderr
    said = " ".join(run.stderr.split())
    assert says in said, run.stderr
    assert "nothing was changed" in said and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("backup", "prod"), 'environment "prod" runs on 2 clusters (eu, us): name one with '
         "--cluster NAME"),
        (("restore", "prod", "--from", "latest"), "(eu, us): name one with --cluster NAME"),
        (("status", "-e", "prod"), "(eu, us): name one with --cluster NAME"),
        (("logs", "-e", "prod"), "(eu, us): name one with --cluster NAME"),
        (("exec", "-e", "prod", "api", "--", "true"), "(eu, us): name one with --cluster NAME"),
        (("down", "-e", "prod"), "(eu, us): this command works on one cluster"),
        (("backup", "prod", "--cluster", "asia"), 'environment "prod" has no cluster "asia"'),
        (("restore", "prod", "--cluster", "asia", "--from", "latest"), 'no cluster "asia"'),
        (("exec", "-e", "staging", "--cluster", "eu", "api", "--", "true"),
         "runs on one cluster: --cluster eu"),
    ],
)  # fmt: skip
def test_commands_on_one_clusters_target_ask_which_cluster_of_an_environment_on_several(
    devkit: Callable[..., Run],
    write_blueprint: Callable[[str], Path],
    args: tuple[str, ...],
    says: str,
) -> None:
    refused_before_any_cluster(devkit, write_blueprint, args, says)
