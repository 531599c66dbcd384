"""`devkit explain`'s core: for a path, the rule, destination and action, a rebuild, or nothing
and the pattern (with its file and line) that excluded it."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit import Blueprint, Build, Docker, Kubernetes, Restart, Run, Sync, plan
from devkit.devloop import skipped
from devkit.devloop.explain import Explainer, watcher_drops


def explainer(root: Path, env: str = "local") -> Explainer:
    for rel in ("api/Dockerfile", "api/app/main.py", "api/requirements.txt", "docs/x.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    (root / "api/.dockerignore").write_text("# logs stay out\n**/*.log\ntests\n")
    (root / ".gitignore").write_text("\n*.tmp\n")
    app = Blueprint("shop")
    app.service(
        "api", build=Build("api"),
        sync=[Sync("api/app", "/srv/app", then=[Run("make", when=["*.mk"]), Restart()],
                   ignore=["secret/"])],
    )  # fmt: skip
    app.environment("local", Docker())
    app.environment("prod", Kubernetes())
    return Explainer(plan(app, env), root)


def test_a_file_under_a_sync_source_is_copied_then_the_process_restarts(tmp_path: Path) -> None:
    [effect] = explainer(tmp_path).explain(tmp_path / "api/app/pkg/main.py").effects
    assert (effect.service, effect.action, effect.dest) == ("api", "sync", "/srv/app/pkg/main.py")
    assert effect.then == ("restart the process",)
    assert effect.text == (
        "sync rule api/app -> /srv/app: copied to /srv/app/pkg/main.py, then restart the process"
    )


def test_a_run_action_is_named_only_for_the_files_its_when_matches(tmp_path: Path) -> None:
    [effect] = explainer(tmp_path).explain(tmp_path / "api/app/rules.mk").effects
    assert effect.then == ("run `make`", "restart the process")


def test_a_build_input_no_sync_rule_covers_rebuilds(tmp_path: Path) -> None:
    explanation = explainer(tmp_path).explain(tmp_path / "api/requirements.txt")
    [effect] = explanation.effects
    assert (effect.service, effect.action) == ("api", "rebuild")
    assert not explanation.skipped


@pytest.mark.parametrize(
    ("rel", "excluded_by"),
    [
        ("api/app/secret/key.pem", 'pattern "secret/" of the sync rule\'s ignore='),
        ("api/app/notes.tmp", 'pattern "*.tmp" of .gitignore:2'),
        ("api/app/.ruff_cache/x.json", 'pattern "**/.ruff_cache/" of devkit\'s default ignores'),
        ("api/server.log", 'pattern "**/*.log" of api/.dockerignore:2'),
        ("api/tests/test_api.py", 'pattern "tests" of api/.dockerignore:3'),
    ],
)
def test_an_excluded_path_names_the_pattern_and_where_it_is_written(
    tmp_path: Path, rel: str, excluded_by: str
) -> None:
    explanation = explainer(tmp_path).explain(tmp_path / rel)
    assert explanation.skipped
    [effect] = explanation.effects
    assert effect.action == "nothing"
    assert effect.excluded_by is not None and effect.excluded_by.startswith(excluded_by)


def test_the_file_watchers_own_filter_is_named(tmp_path: Path) -> None:
    [effect] = explainer(tmp_path).explain(tmp_path / "api/app/__pycache__/m.pyc").effects
    assert (effect.service, effect.action) == (None, "nothing")
    assert '"__pycache__" folder' in effect.text
    assert watcher_drops(Path("/r/api/app/.main.py.swp")) is not None
    assert watcher_drops(Path("/r/api/app/main.py")) is None


def test_a_path_outside_every_watched_folder_says_what_is_watched(tmp_path: Path) -> None:
    [effect] = explainer(tmp_path).explain(tmp_path / "docs/x.md").effects
    assert effect.action == "nothing"
    assert effect.text == 'not under any sync source or build context of "local" (watched: api)'


def test_a_remote_environment_has_no_sync_rules_only_rebuilds(tmp_path: Path) -> None:
    [effect] = explainer(tmp_path, "prod").explain(tmp_path / "api/app/main.py").effects
    assert effect.action == "rebuild"


def test_skipped_keeps_only_changes_that_reach_no_service(tmp_path: Path) -> None:
    found = explainer(tmp_path).skipped(
        [
            (True, tmp_path / "api/app/main.py"),
            (True, tmp_path / "api/server.log"),
            (False, tmp_path / "api/app/secret/key.pem"),
            (True, tmp_path / "api/requirements.txt"),
            (True, tmp_path / "api/app"),
        ]
    )
    assert sorted(e.path for e in found) == ["api/app/secret/key.pem", "api/server.log"]


def test_skipped_paths_are_kept_in_the_cache_newest_last_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVKIT_CACHE", str(tmp_path / "cache"))
    ex = explainer(tmp_path)
    skipped.record("shop", "local", skipped.entries(ex, [(True, tmp_path / "api/server.log")]))
    skipped.record("shop", "local", skipped.entries(ex, [(True, tmp_path / "api/app/a.tmp")]))
    skipped.record("shop", "local", skipped.entries(ex, [(True, tmp_path / "api/server.log")]))
    kept = skipped.recent("shop", "local")
    assert [e["path"] for e in kept] == ["api/app/a.tmp", "api/server.log"]
    assert kept[-1]["reason"].startswith("api: build context api leaves it out of the image")
    assert skipped.recent("shop", "dev") == []
