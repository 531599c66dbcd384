"""How a rollout or a one-off run (a verify step) ended, as every target reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str = ""
    logs: tuple[str, ...] = ()
    seconds: float = 0.0
