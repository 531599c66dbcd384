"""Bad input to the test plugin is refused before any engine is touched, naming what is wrong."""

from __future__ import annotations

import importlib.metadata

import pytest

BLUEPRINT = """
from blueprints import postgres
from devkit import Blueprint, Docker
app = Blueprint("input")
app.use(postgres())
app.environment("local", Docker())
"""


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(blueprint=BLUEPRINT, test_it="def test_it(devkit_stack):\n    pass\n")
    return pytester


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--devkit-services=postgress"],
            '*"postgress" is neither a service nor a group of input*',
        ),
        (["--devkit-env=prod"], '*unknown environment "prod"*'),
        (["--devkit-blueprint=nowhere/blueprint.py"], "*no blueprint found at*nowhere*"),
    ],
)
def test_bad_input_errors_the_tests_with_a_clear_message(
    repo: pytest.Pytester, args: list[str], expected: str
) -> None:
    result = repo.runpytest(*args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*devkit_stack: {expected}", "*(what devkit_stack starts: --devkit-blueprint*"]
    )


def test_a_bad_timeout_in_the_ini_file_is_a_usage_error(repo: pytest.Pytester) -> None:
    repo.makeini("[pytest]\ndevkit_timeout = soon\n")
    result = repo.runpytest()
    result.stderr.fnmatch_lines(["*devkit_timeout = 'soon' is not a number of seconds*"])


def test_sessions_that_use_no_devkit_fixture_import_no_engine_library(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_light():
            assert "devkit.testing.plugin" in sys.modules
            assert "testcontainers" not in sys.modules
            assert "docker" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "devkit"]
    assert entry.value == "devkit.testing.plugin"
