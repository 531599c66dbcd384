"""Fixtures for the shop example: a real postgres, a real redis, the real services.

DATABASE_URL and REDIS_URL, when set, point the tests at servers that already run
(for instance in containers). When they are absent, a throw-away postgres and
redis are started (see shop_harness.local_postgres / local_redis), bound to
127.0.0.1 on free ports, and removed at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import redis
from shop_harness import WORKER_DIR, Api, Service, local_postgres, local_redis


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A postgres URL: $DATABASE_URL, or a throw-away local server."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    with local_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis URL: $REDIS_URL, or a throw-away local server."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    with local_redis() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "STARTUP_TIMEOUT": "20"}


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
def start_worker(service_env: dict[str, str], logs_dir: Path) -> Iterator[Callable[..., Service]]:
    """Start worker processes (``start(**env_overrides)``); stopped after the test."""
    started: list[Service] = []

    def start(**overrides: str) -> Service:
        service = Service("worker", WORKER_DIR, {**service_env, **overrides}, logs_dir)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
