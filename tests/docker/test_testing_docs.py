"""docs/testing.md's complete example runs as written: its files, a pytest session of their own."""

from __future__ import annotations

import re

import docker
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.docker

PAGE = REPO / "docs" / "testing.md"
# ```python blueprint.py / ```toml pyproject.toml: a file of the example, named after the fence
FILE_BLOCK = re.compile(r"^```(?:python|toml) (\S+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_complete_example_passes_against_real_containers(
    pytester: pytest.Pytester, docker_client: docker.DockerClient
) -> None:
    files = dict(FILE_BLOCK.findall(PAGE.read_text()))
    assert set(files) == {"blueprint.py", "pyproject.toml", "tests/test_orders.py"}
    for name, text in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (pytester.path / "api").mkdir()
    (pytester.path / "api" / "Dockerfile").write_text("FROM python:3.11-slim\n")

    result = pytester.runpytest("-p", "no:cacheprovider")

    tests = len(re.findall(r"^def test_", files["tests/test_orders.py"], re.MULTILINE))
    result.assert_outcomes(passed=tests)
    result.stdout.fnmatch_lines(["devkit: orders (local): 2 dependencies ready in *"])
    session = re.search(r"; session (\w+)", result.stdout.str())
    assert session is not None
    label = {"label": f"dev.devkit.test-session={session[1]}"}
    assert docker_client.containers.list(all=True, filters=label) == []
