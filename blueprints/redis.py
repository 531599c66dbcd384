"""Redis, as the official `redis` image runs it."""

from __future__ import annotations

from devkit.model.backup import RedisSnapshot
from devkit.model.blueprint import declare_service
from devkit.model.health import Command
from devkit.model.refs import Secret
from devkit.model.resources import Resources
from devkit.model.service import Service


def redis(
    *,
    version: str = "7",
    name: str = "redis",
    password: Secret | None = None,
    resources: Resources | None = None,
) -> Service:
    """A Redis server; `url` is its connection URL. With `password`, clients must authenticate.

    It runs as the official image's `redis` user (uid 999) with a read-only root filesystem; its
    working directory /data (where snapshots go) is scratch space, not kept: this is a cache.
    """
    auth = password is not None
    return declare_service(
        {
            "name": name,
            "image": f"redis:{version}",
            "ports": {"redis": 6379},
            "env": {"REDIS_PASSWORD": password} if auth else {},
            "command": (
                ("sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD"') if auth else None
            ),
            "health": (
                Command("sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping')
                if auth
                else Command("redis-cli", "ping")
            ),
            # its RDB snapshot (BGSAVE), restored by replication (docs/backup.md)
            "backup": RedisSnapshot(password_env="REDIS_PASSWORD" if auth else None),
            "stateful": True,  # replicas would be separate stores, not copies
            "run_as_user": 999,
            "scratch": ("/data",),
            "resources": resources or Resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
            "url_template": "redis://:{env.REDIS_PASSWORD}@{host}:{port}/0"
            if auth
            else "redis://{host}:{port}/0",
        }
    )
