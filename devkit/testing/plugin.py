"""The pytest plugin (registered through the `pytest11` entry point as `devkit`).

Fixtures:
- `devkit_stack` (session): the dependencies of a blueprint environment, started healthy once
  per test session and removed at its end; see devkit.testing.stack.Stack.
- `devkit_database` (function): a fresh, empty PostgreSQL database for one test.
- `devkit_blueprint`, `devkit_environment`, `devkit_services` (session): what `devkit_stack`
  starts; they read the options below, and a conftest.py may override them.

Options (command line, else the ini file): `--devkit-blueprint` / `devkit_blueprint` (default:
DEVKIT_FILE, `file` in [tool.devkit], else blueprint.py in the rootdir), `--devkit-env` /
`devkit_env`, `--devkit-services` / `devkit_services`, `--devkit-timeout` / `devkit_timeout`.

Nothing heavy is imported until a fixture needs it: sessions that use none of them never talk to
a Docker engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from devkit.model.blueprint import Blueprint
    from devkit.testing.stack import Database, Stack

_STACKS = pytest.StashKey[list["Stack"]]()
_TIMEOUT = pytest.StashKey[float]()
_DEFAULT_TIMEOUT = 120.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devkit", "devkit: a blueprint's dependencies for the tests")
    group.addoption(
        "--devkit-blueprint",
        metavar="PATH",
        help="blueprint.py whose dependencies devkit_stack starts (ini: devkit_blueprint)",
    )
    group.addoption(
        "--devkit-env",
        metavar="ENV",
        help="its environment (ini: devkit_env; default local, or default_env in [tool.devkit])",
    )
    group.addoption(
        "--devkit-services",
        metavar="NAMES",
        help="comma-separated services or groups to start, with what they depend on "
        "(ini: devkit_services; default: every service that runs from an image)",
    )
    group.addoption(
        "--devkit-timeout",
        metavar="SECONDS",
        type=float,
        help=f"how long each dependency may take to become healthy (default {_DEFAULT_TIMEOUT:g})",
    )
    parser.addini("devkit_blueprint", "blueprint.py for devkit_stack, relative to the ini file")
    parser.addini("devkit_env", "blueprint environment for devkit_stack")
    parser.addini("devkit_services", "services or groups devkit_stack starts", type="args")
    parser.addini("devkit_timeout", "seconds each dependency may take to become healthy")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STACKS] = []
    config.stash[_TIMEOUT] = _timeout(config)


def _ini_dir(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath else config.rootpath


@pytest.fixture(scope="session")
def devkit_blueprint(pytestconfig: pytest.Config) -> Path | Blueprint:
    """The blueprint whose dependencies `devkit_stack` starts: a path or a Blueprint."""
    given = pytestconfig.getoption("devkit_blueprint")
    if given:
        return Path(given).resolve()
    ini = str(pytestconfig.getini("devkit_blueprint") or "")
    if ini:
        return (_ini_dir(pytestconfig) / ini).resolve()
    from devkit.project.settings import load_settings  # noqa: PLC0415 - lazy: see the module doc

    settings = load_settings(cwd=pytestconfig.rootpath)
    return settings.file.resolve() if settings.file else pytestconfig.rootpath / "blueprint.py"


@pytest.fixture(scope="session")
def devkit_environment(pytestconfig: pytest.Config) -> str | None:
    """The blueprint environment to start (None: `default_env`, else `local`)."""
    return (
        pytestconfig.getoption("devkit_env") or str(pytestconfig.getini("devkit_env") or "") or None
    )


@pytest.fixture(scope="session")
def devkit_services(pytestconfig: pytest.Config) -> list[str] | None:
    """Services or groups to start (None: every service of the environment that has an image)."""
    given = pytestconfig.getoption("devkit_services")
    if given:
        return [name.strip() for name in str(given).split(",") if name.strip()]
    ini = pytestconfig.getini("devkit_services")
    return list(ini) if ini else None


def _timeout(config: pytest.Config) -> float:
    given = config.getoption("devkit_timeout")
    if given is not None:
        return float(given)
    ini = str(config.getini("devkit_timeout") or "")
    try:
        return float(ini) if ini else _DEFAULT_TIMEOUT
    except ValueError:
        raise pytest.UsageError(f"devkit_timeout = {ini!r} is not a number of seconds") from None


@pytest.fixture(scope="session")
def devkit_stack(
    pytestconfig: pytest.Config,
    devkit_blueprint: Path | Blueprint,
    devkit_environment: str | None,
    devkit_services: list[str] | None,
) -> Iterator[Stack]:
    """The blueprint environment's dependencies, running and healthy for the whole session."""
    from devkit.errors import DevkitError, UserError  # noqa: PLC0415 - lazy: see the module doc
    from devkit.testing.stack import start_stack  # noqa: PLC0415

    try:
        stack = start_stack(
            devkit_blueprint,
            devkit_environment,
            devkit_services,
            timeout=pytestconfig.stash[_TIMEOUT],
        )
    except DevkitError as error:
        failure = f"devkit_stack: {error}"
        if isinstance(error, UserError):
            failure += (
                "\n  (what devkit_stack starts: --devkit-blueprint, --devkit-env, --devkit-services"
                " or the devkit_* ini keys; see devkit's docs/testing.md)"
            )
    else:
        failure = ""
    if failure:  # outside the except block: one message, not a chain of two
        pytest.fail(failure, pytrace=False)
    pytestconfig.stash[_STACKS].append(stack)
    with stack:
        yield stack


@pytest.fixture
def devkit_database(devkit_stack: Stack) -> Iterator[Database]:
    """A fresh, empty PostgreSQL database for this test (dropped after it): `.url`, `.name`."""
    with devkit_stack.fresh_database() as database:
        yield database


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for stack in config.stash.get(_STACKS, []):
        if stack.swept.sessions:
            terminalreporter.write_line(
                f"devkit: removed {len(stack.swept.containers)} containers of "
                f"{len(stack.swept.sessions)} interrupted test sessions"
            )
        terminalreporter.write_line(f"devkit: {stack.summary()}")
        if stack.secrets.generated:
            terminalreporter.write_line(
                f"devkit: secrets generated for this session: {', '.join(stack.secrets.generated)}"
            )
