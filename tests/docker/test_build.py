"""`devkit build ENV [--push]` on the real engine and a real registry (tests/setup/registry.sh)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker
REGISTRY = "127.0.0.1:5000"

BLUEPRINT = """
from devkit import Blueprint, Build, Docker, Swarm
app = Blueprint("{name}")
app.service("web", build=Build("web"))
app.service("db", image="postgres:16")
app.environment("local", Docker())
app.environment("shared", Swarm(registry="{registry}/devkit-tests"))
"""


def setup(project: Callable[[str], Project]) -> Project:
    p = project("push")
    p.write("blueprint.py", BLUEPRINT.format(name=p.name, registry=REGISTRY))
    p.write("web/Dockerfile", f'FROM python:3.11-slim\nRUN echo "{p.name}" > /id\n')
    return p


def registry_digest(repository: str, tag: str) -> str:
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", method="HEAD"
    )
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def test_build_then_build_again_is_up_to_date(project) -> None:
    p = setup(project)
    first = p.devkit("build", "local", "--json")
    assert first.code == 0, first.stderr
    image = json.loads(first.stdout)["images"]["web"]
    assert image["built"] is True and image["image"].startswith(f"{p.name}-web:dk-")
    second = json.loads(p.devkit("build", "local", "--json").stdout)["images"]["web"]
    assert second == {**image, "built": False}


def test_push_sends_the_image_to_the_environment_registry_by_digest(project) -> None:
    p = setup(project)
    result = p.devkit("build", "shared", "--push", "--json")
    assert result.code == 0, result.stderr
    web = json.loads(result.stdout)["images"]["web"]
    repository, digest = web["pushed"].split("@")
    assert repository == f"{REGISTRY}/devkit-tests/{p.name}-web"
    tag = web["image"].rsplit(":", 1)[1]
    assert registry_digest(repository.removeprefix(f"{REGISTRY}/"), tag) == digest


def test_push_without_a_registry_is_refused_before_building(project) -> None:
    p = setup(project)
    result = p.devkit("build", "local", "--push")
    assert result.code == 2
    assert 'environment "local" has no registry to push to' in result.stderr
    assert "nothing was built" in result.stderr
