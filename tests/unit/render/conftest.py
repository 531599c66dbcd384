"""The examples/shop blueprint, loaded once, and helpers to find rendered objects."""

from __future__ import annotations

from typing import Any

import pytest

from devkit.model.blueprint import Blueprint
from devkit.project.load import load_blueprint
from tests.conftest import SHOP

SHOP_ENVS = ("local", "staging", "prod")


@pytest.fixture(scope="session")
def shop() -> Blueprint:
    return load_blueprint(SHOP)


def find(objects: Any, kind: str, name: str) -> dict[str, Any]:
    """The one object of `kind` named `name` (KeyError naming what exists otherwise)."""
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return dict(obj)
    raise KeyError(f"{kind}/{name} not in {[(o['kind'], o['metadata']['name']) for o in objects]}")


def container(workload: dict[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"]["containers"][0])
