"""A test session's identity on the engine, and which sessions are gone. The decisions are pure.

Everything a session creates carries its labels: `dev.devkit.project` and `dev.devkit.service`
(as the Docker target's containers do), `dev.devkit.test-session` (its id) and
`dev.devkit.test-owner` (host, process id and process start time of the pytest process). No
`dev.devkit.env` label: a test session's containers are never mistaken for the `devkit up` stack
of the same project.

A session removes what it created when it ends. A session that could not (killed, the machine
lost power) leaves its containers behind; the next session on the same host sweeps them: a
session is stale when its owner process no longer runs. Sessions of other hosts (a shared
remote engine) are never touched.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devkit.targets import labels

SESSION = "dev.devkit.test-session"
OWNER = "dev.devkit.test-owner"
TEST_ENV = "dev.devkit.test-env"


@dataclass(frozen=True)
class Owner:
    """The process that owns a session: host name, pid and the pid's start time (clock ticks)."""

    host: str
    pid: int
    started: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        host, _, rest = text.rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host=host, pid=int(pid), started=rest)


def process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None if it runs not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?"
    # the command name (field 2) may hold spaces and parentheses: count from the last ")"
    return stat.rsplit(")", 1)[1].split()[19]


def current_owner() -> Owner:
    pid = os.getpid()
    return Owner(host=socket.gethostname(), pid=pid, started=process_start(pid) or "?")


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


def session_labels(project: str, session: str, owner: Owner, env: str) -> dict[str, str]:
    """Labels of a session's network (a container adds dev.devkit.service)."""
    return {labels.PROJECT: project, SESSION: session, OWNER: str(owner), TEST_ENV: env}


def is_alive(owner: Owner) -> bool:
    """Whether the owner process still runs (same pid *and* same start time: pids are reused)."""
    started = process_start(owner.pid)
    if started is None:
        return False
    return started in ("?", owner.started) or owner.started == "?"


def stale_sessions(
    found: Mapping[str, str],
    *,
    host: str,
    alive: Callable[[Owner], bool] = is_alive,
) -> set[str]:
    """Of the sessions found (session id -> owner label), those whose owner process is gone.

    Only sessions owned by this host are judged; an unreadable owner label is left alone.
    """
    stale = set()
    for session, text in found.items():
        owner = Owner.parse(text)
        if owner is None or owner.host != host:
            continue
        if not alive(owner):
            stale.add(session)
    return stale
