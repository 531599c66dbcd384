"""`devkit explain PATH...` as a user runs it: one answer per path, --json for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_devkit

BLUEPRINT = """\
from devkit import Blueprint, Build, Docker, Kubernetes, Restart, Swarm, Sync
app = Blueprint("shop")
app.service("api", build=Build("api"),
            sync=[Sync("api/app", "/srv/app", then=Restart(), ignore=["scratch/"])])
app.environment("local", Docker())
app.environment("prod", Kubernetes(context="prod"))
app.environment("staging", Swarm())
"""


def _project(root: Path) -> None:
    for rel in ("api/Dockerfile", "api/requirements.txt", "api/app/main.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    (root / "api/.dockerignore").write_text("*.md\n")
    (root / "blueprint.py").write_text(BLUEPRINT)


def test_each_path_gets_its_rule_and_action_or_the_pattern_that_excluded_it(
    tmp_path: Path,
) -> None:
    _project(tmp_path)

    result = run_devkit(
        "explain", "api/app/main.py", "api/requirements.txt", "api/app/scratch/x", "api/NOTES.md",
        cwd=tmp_path,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "api/app/main.py",
        "  api  sync: sync rule api/app -> /srv/app: copied to /srv/app/main.py, then restart "
        "the process",
        "api/requirements.txt",
        "  api  rebuild: an input of its image (build context api; no sync rule of api covers "
        "it): a save rebuilds the image and replaces the service",
        "api/app/scratch/x",
        '  api  nothing: sync rule api/app -> /srv/app ignores it: pattern "scratch/" of the '
        "sync rule's ignore=",
        "api/NOTES.md",
        '  api  nothing: build context api leaves it out of the image: pattern "*.md" of '
        "api/.dockerignore:1",
    ]


def test_paths_are_taken_from_the_working_directory(tmp_path: Path) -> None:
    _project(tmp_path)
    result = run_devkit("-f", "../blueprint.py", "explain", "app/main.py", cwd=tmp_path / "api")
    assert result.code == 0, result.stderr
    assert "copied to /srv/app/main.py" in result.stdout


def test_json_is_one_document_per_path_and_effect(tmp_path: Path) -> None:
    _project(tmp_path)

    result = run_devkit("explain", "--json", "api/app/main.py", "README.md", cwd=tmp_path)

    document = json.loads(result.stdout)
    assert (document["project"], document["environment"]) == ("shop", "local")
    synced, outside = document["paths"]
    assert synced == {
        "path": "api/app/main.py",
        "skipped": False,
        "effects": [
            {
                "service": "api", "action": "sync", "dest": "/srv/app/main.py",
                "then": ["restart the process"], "excluded_by": None,
                "text": "sync rule api/app -> /srv/app: copied to /srv/app/main.py, then "
                "restart the process",
            }
        ],
    }  # fmt: skip
    assert outside["skipped"] is True
    assert outside["effects"][0]["service"] is None


def test_an_environment_that_cannot_sync_says_only_rebuilds_apply(tmp_path: Path) -> None:
    _project(tmp_path)
    result = run_devkit("explain", "-e", "staging", "api/app/main.py", cwd=tmp_path)
    assert result.code == 0
    assert 'environment "staging" runs on swarm, which does not live-sync' in result.stderr
    assert "rebuild:" in result.stdout


def test_unknown_environment_is_refused_with_those_that_exist(tmp_path: Path) -> None:
    _project(tmp_path)
    result = run_devkit("explain", "-e", "stagin", "api/app/main.py", cwd=tmp_path)
    assert result.code == 2
    assert 'unknown environment "stagin"' in result.stderr
    assert "defined environments: local, prod" in result.stderr
