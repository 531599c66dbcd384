"""Blueprints in application tests: start a blueprint environment's dependencies for pytest.

The pytest plugin (`devkit.testing.plugin`, registered as `devkit` through the `pytest11` entry
point) gives tests the `devkit_stack` and `devkit_database` fixtures; `start_stack` is the same
thing for code that manages its own lifetime. See docs/testing.md.

Names are imported lazily: pytest loads the plugin in every session, and a session that uses no
devkit fixture should not pay for importing testcontainers and the Docker SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.testing.containers import (
        PostgresContainer,
        RabbitMQContainer,
        RedisContainer,
        ServiceContainer,
    )
    from devkit.testing.readiness import DependencyFailedError
    from devkit.testing.stack import Database, Stack, start_stack, sweep_stale

_EXPORTS = {
    "devkit.testing.containers": (
        "PostgresContainer", "RabbitMQContainer", "RedisContainer", "ServiceContainer",
    ),
    "devkit.testing.readiness": ("DependencyFailedError",),
    "devkit.testing.stack": ("Database", "Stack", "start_stack", "sweep_stale"),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "Database", "DependencyFailedError", "PostgresContainer", "RabbitMQContainer", "RedisContainer",
    "ServiceContainer", "Stack", "start_stack", "sweep_stale",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'devkit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
