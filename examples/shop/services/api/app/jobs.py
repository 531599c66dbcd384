"""Redis access: the job queue shared with the worker, and the hit counter."""

from __future__ import annotations

import redis

JOBS_KEY = "shop:jobs"
HITS_KEY = "shop:stats:hits"


def client(url: str) -> redis.Redis:
    """A thread-safe client (it keeps its own connection pool)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=3,
        health_check_interval=30,
    )


def ping(r: redis.Redis) -> None:
    if not _as_bool(r.ping()):
        raise RuntimeError("redis PING did not answer PONG")


def enqueue(r: redis.Redis, order_id: int) -> None:
    r.lpush(JOBS_KEY, str(order_id))


def hit(r: redis.Redis) -> int:
    """Count one page hit and return the new total."""
    return _as_int(r.incr(HITS_KEY))


# redis-py's return types differ across versions (older ones say
# ``Awaitable[Any] | Any``); these narrow them the same way for all.
def _as_int(value: object) -> int:
    if isinstance(value, (int, str, bytes)):
        return int(value)
    raise TypeError(f"expected an integer reply from redis, got {value!r}")


def _as_bool(value: object) -> bool:
    return value is True or value in (b"PONG", "PONG")
