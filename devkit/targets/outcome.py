"""How a rollout or a one-off run (a verify step) ended, and how targets report progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str, str, str], None]
"""progress(service, event, detail): what a target tells the terminal while it works."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str = ""
    logs: tuple[str, ...] = ()
    seconds: float = 0.0
