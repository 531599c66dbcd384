"""The dev loop's events, one stream for every reader: the terminal printer and `devkit ui`.

What the loop reports (`report(service, event, detail)`, build lines, log lines, the status of
what runs) is published once on an `EventBus`; each reader subscribes. The bus keeps a bounded
history so a reader that arrives late (a page opened after `up`) sees what happened before.
Nothing here prints or does I/O.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["step", "build", "log", "status", "usage", "action", "command", "job", "canary"]
HISTORY = 5000
"""Events kept for late readers; older ones are dropped (the terminal already showed them)."""
LATEST_ONLY: frozenset[Kind] = frozenset({"usage", "canary"})
"""Kinds whose every event supersedes the one before (a reading of every service every few
seconds; an environment's canary, per `data["environment"]`): only the newest is kept for late
readers, so they never push the rest out, nor are pushed out by it."""


@dataclass(frozen=True)
class Event:
    """One thing the dev loop reports.

    kind "step": `event` is what happened to `service` (created, healthy, sync, error, ...);
    "build"/"log": `detail` is one line of build or runtime output; "status": `data` holds the
    engine's view of the service; "usage": `data` holds what each service uses (CPU, memory);
    "action"/"command"/"job": progress of what the UI asked for; "canary": `data` holds an
    environment's canary as its release record has it (`devkit.ui.canaries`).
    """

    seq: int
    at: float
    kind: Kind
    service: str
    event: str = ""
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq, "at": round(self.at, 3), "kind": self.kind, "service": self.service,
            "event": self.event, "detail": self.detail,
        }  # fmt: skip
        if self.data:
            out["data"] = self.data
        return out


Subscriber = Callable[[Event], None]


class EventBus:
    """Fans each published event out to every subscriber, in order, and keeps recent history.

    Thread-safe: the sync loop, the log follower and the UI server publish from their own
    threads. Subscribers run in the publishing thread and must be quick (queue, print).
    """

    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.Lock()
        self._history: deque[Event] = deque(maxlen=history)
        # the newest event of each LATEST_ONLY kind (and environment)
        self._latest: dict[tuple[Kind, str], Event] = {}
        self._subscribers: list[Subscriber] = []
        self._seq = 0

    def publish(
        self,
        kind: Kind,
        service: str,
        event: str = "",
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> Event:
        with self._lock:
            self._seq += 1
            found = Event(self._seq, time.time(), kind, service, event, detail, data or {})
            if kind in LATEST_ONLY:
                self._latest[kind, str(found.data.get("environment", ""))] = found
            else:
                self._history.append(found)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(found)
        return found

    # The callbacks the dev loop already takes (progress, build_line, log_line), publishing.
    def step(self, service: str, event: str, detail: str) -> None:
        self.publish("step", service, event, detail)

    def build_line(self, service: str, line: str) -> None:
        self.publish("build", service, detail=line)

    def log_line(self, service: str, line: str) -> None:
        self.publish("log", service, detail=line)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every later event; returns what unsubscribes it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def history(self, after: int = 0) -> list[Event]:
        """The kept events with a sequence number above `after`, oldest first."""
        with self._lock:
            return self._kept(after)

    def subscribe_from(self, after: int, subscriber: Subscriber) -> Callable[[], None]:
        """History after `after`, then every later event, none lost or repeated in between
        (the history is handed over under the lock: `subscriber` must only queue)."""
        with self._lock:
            for event in self._kept(after):
                subscriber(event)
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def _kept(self, after: int) -> list[Event]:
        """History and the newest LATEST_ONLY events after `after`, in order (under the lock)."""
        kept = [e for e in self._history if e.seq > after]
        latest = [e for e in self._latest.values() if e.seq > after]
        return sorted(kept + latest, key=lambda e: e.seq) if latest else kept
