from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from devkit.errors import BlueprintError, UserError
from devkit.project.load import load_blueprint
from devkit.project.settings import load_settings


def test_loads_the_blueprint_and_records_its_file(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint(
        """
        from devkit import Blueprint, Docker
        app = Blueprint("demo")
        app.service("web", image="nginx:1.27", ports={"http": 80})
        app.environment("local", Docker())
        """
    )
    blueprint = load_blueprint(path)
    assert blueprint.name == "demo"
    assert blueprint.file == path.resolve()
    assert blueprint.services["web"].source is not None
    assert blueprint.services["web"].source.line == 3


def test_directory_means_its_blueprint_py(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint('from devkit import Blueprint\napp = Blueprint("demo")\n')
    assert load_blueprint(path.parent).name == "demo"


def test_blueprint_can_import_its_own_helper_modules(
    write_blueprint: Callable[[str], Path],
) -> None:
    path = write_blueprint(
        "from helpers import NAME\nfrom devkit import Blueprint\napp = Blueprint(NAME)\n"
    )
    (path.parent / "helpers.py").write_text('NAME = "from-helper"\n')
    assert load_blueprint(path).name == "from-helper"
    assert str(path.parent) not in sys.path


def test_loading_twice_gives_fresh_blueprints(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint('from devkit import Blueprint\napp = Blueprint("demo")\n')
    assert load_blueprint(path) is not load_blueprint(path)


def test_error_in_a_helper_module_points_at_the_helper(
    write_blueprint: Callable[[str], Path],
) -> None:
    path = write_blueprint("import helper2\n")
    (path.parent / "helper2.py").write_text("x = 1\ny = x / 0\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.location is not None
    assert info.value.location.file.endswith("helper2.py")
    assert info.value.location.line == 2


def test_two_blueprints_in_one_file_are_refused(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint(
        'from devkit import Blueprint\na = Blueprint("one")\nb = Blueprint("two")\n'
    )
    with pytest.raises(BlueprintError, match=r"defines 2 blueprints \(a, b\)"):
        load_blueprint(path)


def test_missing_dockerfile_in_build_context(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint(
        'from devkit import Blueprint, Build\napp = Blueprint("d")\napp.service("api", build=Build("api"))\n'
    )
    (path.parent / "api").mkdir()
    with pytest.raises(BlueprintError, match='build context "api" has no Dockerfile'):
        load_blueprint(path)


def test_missing_sync_source(write_blueprint: Callable[[str], Path]) -> None:
    path = write_blueprint(
        """
        from devkit import Blueprint, Sync
        app = Blueprint("d")
        app.service("api", image="a", sync=[Sync("src", "/srv")])
        """
    )
    with pytest.raises(BlueprintError, match='sync source "src" does not exist'):
        load_blueprint(path)


def test_settings_precedence_flag_then_variable_then_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.devkit]\nfile = "deploy/bp.py"\ndefault_env = "dev"\n'
    )
    nested = tmp_path / "src"
    nested.mkdir()
    from_pyproject = load_settings(cwd=nested, environ={})
    assert from_pyproject.file == tmp_path / "deploy/bp.py"
    assert from_pyproject.default_env == "dev"
    from_env = load_settings(
        cwd=nested, environ={"DEVKIT_FILE": "x.py", "DEVKIT_DEFAULT_ENV": "qa"}
    )
    assert from_env.file == Path("x.py") and from_env.default_env == "qa"
    from_flag = load_settings(file=Path("flag.py"), cwd=nested, environ={"DEVKIT_FILE": "x.py"})
    assert from_flag.file == Path("flag.py")


def test_the_backup_store_comes_from_the_variable_then_pyproject(tmp_path: Path) -> None:
    assert load_settings(cwd=tmp_path, environ={}).backup_store == "backups"
    (tmp_path / "pyproject.toml").write_text('[tool.devkit]\nbackup_store = "s3://team/dk"\n')
    assert load_settings(cwd=tmp_path, environ={}).backup_store == "s3://team/dk"
    chosen = load_settings(cwd=tmp_path, environ={"DEVKIT_BACKUP_STORE": "/srv/backups"})
    assert chosen.backup_store == "/srv/backups"


def test_unknown_pyproject_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.devkit]\nfiel = "bp.py"\n')
    with pytest.raises(UserError, match=r"unknown keys: fiel"):
        load_settings(cwd=tmp_path, environ={})
