from __future__ import annotations

from pathlib import Path

from devkit import Blueprint, Build, Docker, Kubernetes, Restart, Run, Sync, plan
from devkit.devloop.rules import build_watches, route, watch_rules, watched_paths
from devkit.targets.supervisor import supervised


def project(root: Path):
    for rel in ("api/Dockerfile", "api/app/main.py", "api/requirements.txt", "api/.dockerignore"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    (root / "api/.dockerignore").write_text("**/*.log\n")
    (root / ".gitignore").write_text("*.tmp\n")
    app = Blueprint("shop")
    app.service(
        "api", build=Build("api"),
        sync=[Sync("api/app", "/srv/app", then=[Run("make", when=["*.mk"]), Restart()],
                   ignore=["secret/"])],
    )  # fmt: skip
    app.environment("local", Docker())
    app.environment("prod", Kubernetes())
    planned = plan(app, "local")
    return watch_rules(planned, root), build_watches(planned, root)


def test_edits_under_a_sync_source_copy_and_restart(tmp_path: Path) -> None:
    rules, builds = project(tmp_path)
    batches = route([(True, tmp_path / "api/app/main.py")], rules, builds)
    batch = batches["api"]
    assert batch.copies == {"/srv/app/main.py": tmp_path / "api/app/main.py"}
    assert batch.restart and not batch.rebuild and batch.runs == []


def test_deletes_propagate_and_run_actions_follow_their_patterns(tmp_path: Path) -> None:
    rules, builds = project(tmp_path)
    batch = route(
        [(False, tmp_path / "api/app/old.py"), (True, tmp_path / "api/app/x.mk")], rules, builds
    )["api"]
    assert batch.deletes == ["/srv/app/old.py"]
    assert [r.command for r in batch.runs] == [("make",)]


def test_ignored_files_are_not_synced(tmp_path: Path) -> None:
    rules, builds = project(tmp_path)
    noise = [
        (True, tmp_path / "api/app/__pycache__/m.cpython-311.pyc"),
        (True, tmp_path / "api/app/.main.py.swp"),
        (True, tmp_path / "api/app/notes.tmp"),  # .gitignore
        (True, tmp_path / "api/app/secret/key"),  # the rule's own ignore
        (True, tmp_path / "api/server.log"),  # .dockerignore: no rebuild either
    ]
    assert route(noise, rules, builds) == {}


def test_build_inputs_outside_sync_rules_rebuild(tmp_path: Path) -> None:
    rules, builds = project(tmp_path)
    for rel in ("api/Dockerfile", "api/requirements.txt"):
        batch = route([(True, tmp_path / rel)], rules, builds)["api"]
        assert batch.rebuild and not batch.copies


def test_only_sources_and_contexts_are_watched(tmp_path: Path) -> None:
    rules, builds = project(tmp_path)
    assert watched_paths(rules, builds) == [tmp_path / "api"]


def test_no_sync_rules_on_cluster_environments(tmp_path: Path) -> None:
    project(tmp_path)
    app = Blueprint("x")
    app.service("api", image="a", sync=[Sync("src", "/srv", then=Restart())])
    app.environment("prod", Kubernetes())
    assert watch_rules(plan(app, "prod"), tmp_path) == []


def test_supervisor_wraps_the_image_entrypoint_and_command() -> None:
    entrypoint, command = supervised(["docker-entrypoint.sh"], ["python", "-m", "app"], None)
    assert entrypoint[:2] == ["/bin/sh", "-c"]
    assert command == ["docker-entrypoint.sh", "python", "-m", "app"]
    _, declared = supervised(None, ["ignored"], ["uvicorn", "app:app"])
    assert declared == ["uvicorn", "app:app"]
