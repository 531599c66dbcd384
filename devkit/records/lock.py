"""The deploy lock of an environment: one deploy, promotion or rollback at a time. Pure.

A lock names its owner (who, on which host, which process) and expires; a lock whose owner process
is gone from this very host, or whose time is up, is stale and may be taken over.
"""

from __future__ import annotations

import json
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from devkit.errors import RefusedError

DEFAULT_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class Lock:
    owner: str  # who: CI run or user
    host: str
    pid: int
    operation: str  # "deploy staging", "promote staging -> prod", ...
    acquired: str
    expires: str
    paused: int = 0
    """A paused canary release that holds the lock with no process running: only `--continue`,
    `--abort` or the lock's expiry end it."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Lock:
        return cls(**json.loads(text))

    def describe(self) -> str:
        if self.paused:
            return (
                f"release #{self.paused} is paused ({self.operation} by {self.owner}) since "
                f"{self.acquired}, held until {self.expires}"
            )
        return (
            f"{self.operation} by {self.owner} (host {self.host}, pid {self.pid}) "
            f"since {self.acquired}, expires {self.expires}"
        )


def new_lock(owner: str, operation: str, ttl: timedelta = DEFAULT_TTL) -> Lock:
    now = datetime.now(UTC)
    return Lock(
        owner=owner,
        host=socket.gethostname(),
        pid=os.getpid(),
        operation=operation,
        acquired=_iso(now),
        expires=_iso(now + ttl),
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(
    lock: Lock,
    *,
    now: datetime | None = None,
    host: str | None = None,
    alive: Callable[[int], bool] = _alive,
) -> str | None:
    """Why the lock may be taken over (expired, or its owner process is gone), else None."""
    now = now or datetime.now(UTC)
    expires = datetime.strptime(lock.expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if now >= expires:
        return f"it expired at {lock.expires}"
    if lock.paused:
        return None
    if lock.host == (host or socket.gethostname()) and not alive(lock.pid):
        return f"its process {lock.pid} on {lock.host} is gone"
    return None


class LockStore(ABC):
    """Where a target keeps an environment's lock; taking it must be atomic (create-if-absent)."""

    env: str

    @abstractmethod
    def holder(self) -> Lock | None:
        """The lock as stored, or None."""

    @abstractmethod
    def create_lock(self, lock: Lock) -> bool:
        """Store the lock unless one exists; False when one does."""

    @abstractmethod
    def remove_lock(self) -> bool:
        """Remove the stored lock; False when there was none."""

    def break_lock(self) -> Lock | None:
        """Remove the lock whoever holds it; returns what it was."""
        held = self.holder()
        return held if self.remove_lock() else None

    def hand_over(self, lock: Lock) -> None:
        """Replace the stored lock with `lock` (a paused release keeps the environment locked
        after its process ends)."""
        self.remove_lock()
        self.create_lock(lock)

    @contextmanager
    def locked(
        self,
        lock: Lock,
        *,
        on_stale: Callable[[Lock, str], None] | None = None,
        resume: bool = False,
    ) -> Iterator[None]:
        """Hold the environment's lock for the block; RefusedError if someone else holds it.

        A stale lock (expired, or its process gone from this host) is taken over, and
        `on_stale` is told whose it was and why; so is a paused release's lock with `resume`
        (`--continue`, `--abort`).
        """
        if not self.create_lock(lock):
            held = self.holder()
            why = stale(held) if held else "it was just released"
            if why is None and resume and held is not None and held.paused:
                why = f"resuming paused release #{held.paused}"
            if why is None:
                assert held is not None
                hint = (
                    "continue it with --continue, or roll it back with --abort"
                    if held.paused
                    else "wait for it to finish, or, if it is gone, take the lock over with "
                    "--break-lock"
                )
                raise RefusedError(
                    f'environment "{self.env}" is locked: {held.describe()}',
                    details=[hint, "nothing was changed"],
                )
            if on_stale is not None and held is not None:
                on_stale(held, why)
            self.remove_lock()
            if not self.create_lock(lock):
                raise RefusedError(f'environment "{self.env}" was locked by another deploy')
        try:
            yield
        finally:
            if self.holder() == lock:
                self.remove_lock()
