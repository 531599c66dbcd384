from __future__ import annotations

import subprocess
from pathlib import Path

from devkit.project.provenance import deployer, git_commit


def test_a_github_actions_run_names_the_actor_and_the_run() -> None:
    env = {
        "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "ana", "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.com",
    }  # fmt: skip
    assert deployer(env) == "ana via https://github.com/acme/shop/actions/runs/42"
    assert deployer({"DEVKIT_DEPLOYER": "release-bot"}) == "release-bot"
    assert "@" in deployer({})


def test_the_commit_comes_from_the_checkout_and_says_when_it_is_dirty(tmp_path: Path) -> None:
    assert git_commit(tmp_path, {}) is None
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "f").write_text("1")
    run("add", "f")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    commit = git_commit(tmp_path, {})
    assert commit is not None and len(commit) == 40
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path, {}) == f"{commit}-dirty"
    assert git_commit(tmp_path, {"GITHUB_SHA": "abc"}) == "abc"
