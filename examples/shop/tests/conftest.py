"""Fixtures for the shop example: its real postgres and redis, the real services.

postgres and redis are the ones the shop's own blueprint declares: devkit's pytest plugin
(devkit.testing) starts what the `backend` group (the api and the worker) depends on, once per
session, in containers, healthy, and removes them at the end. The api and worker get the
environment the blueprint declares for them, with addresses that reach those containers from
here. The database password is SHOP_DB_PASSWORD when it is set (environment or
examples/shop/.env), else one made up for the session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from shop_harness import SHOP_DIR, WORKER_DIR, Api, Service

if TYPE_CHECKING:
    from devkit.testing import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the containers are engine tests (`-m "not docker"` leaves them out)."""
    for item in items:
        if "devkit_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def devkit_blueprint() -> Path:
    return SHOP_DIR / "blueprint.py"


@pytest.fixture(scope="session")
def devkit_services() -> list[str]:
    return ["backend"]  # what the api and the worker need: postgres and redis


@pytest.fixture(scope="session")
def service_env(devkit_stack: Stack) -> dict[str, str]:
    """The api's environment as the blueprint declares it, reaching postgres and redis."""
    return {**devkit_stack.env("api"), "STARTUP_TIMEOUT": "20"}


@pytest.fixture(scope="session")
def worker_env(devkit_stack: Stack) -> dict[str, str]:
    return {**devkit_stack.env("worker"), "STARTUP_TIMEOUT": "20"}


@pytest.fixture(scope="session")
def database_url(service_env: dict[str, str]) -> str:
    return service_env["DATABASE_URL"]


@pytest.fixture(scope="session")
def redis_url(service_env: dict[str, str]) -> str:
    return service_env["REDIS_URL"]


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def api(service_env: dict[str, str], logs_dir: Path) -> Iterator[Api]:
    """The api, running for the whole session against the real postgres and redis."""
    service = Api(service_env, logs_dir)
    try:
        service.wait_healthy()
        yield service
    finally:
        service.stop()


@pytest.fixture
def start_api(logs_dir: Path) -> Iterator[Callable[[Mapping[str, str]], Api]]:
    """Start extra api processes with a given environment; stopped after the test."""
    started: list[Api] = []

    def start(env: Mapping[str, str]) -> Api:
        service = Api(env, logs_dir)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def start_worker(worker_env: dict[str, str], logs_dir: Path) -> Iterator[Callable[..., Service]]:
    """Start worker processes (``start(**env_overrides)``); stopped after the test."""
    started: list[Service] = []

    def start(**overrides: str) -> Service:
        service = Service("worker", WORKER_DIR, {**worker_env, **overrides}, logs_dir)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
