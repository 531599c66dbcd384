"""How long work shows itself: build lines, container steps and logs, each prefixed by service."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.markup import escape

from devkit.cli.output import err, out

if TYPE_CHECKING:
    from devkit.devloop.events import Event

_PALETTE = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_green",
)
_AS_IS = {"sync", "checked", "waiting", "error", "rebuild", "watch", "restarting", "restarted"}
_WORDS = {
    "create": "created",
    "replace": "replaced (changed)",
    "keep": "unchanged",
    "start": "started",
    "remove": "removed (no longer in the blueprint)",
    "pull": "pulling",
}


class ServicePrinter:
    """Prints `service | text` lines on stderr (or stdout for logs), a colour per service."""

    def __init__(self, services: Iterable[str]) -> None:
        names = list(services)
        self.width = max((len(n) for n in names), default=8)
        self.colours = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}
        self.started = time.monotonic()

    def _prefix(self, service: str) -> str:
        colour = self.colours.get(service, "white")
        return f"[{colour}]{service.ljust(self.width)}[/] │ "

    def build_line(self, service: str, line: str) -> None:
        err().print(self._prefix(service) + f"[dim]{escape(line)}[/]", soft_wrap=True)

    def step(self, service: str, event: str, detail: str) -> None:
        if event == "healthy":
            text = f"ready in {detail}"
        elif event in _AS_IS:
            text = detail
        else:
            text = _WORDS.get(event, event) + (f" {detail}" if detail else "")
        style = {"error": "red", "waiting": "yellow", "sync": "green"}.get(event)
        body = f"[{style}]{escape(text)}[/]" if style else escape(text)
        err().print((self._prefix(service) if service else "") + body, soft_wrap=True)

    def log_line(self, service: str, line: str) -> None:
        out().print(self._prefix(service) + escape(line), soft_wrap=True)

    def show(self, event: Event) -> None:
        """Print one event of the dev loop's bus (devkit/devloop/events.py) as its line."""
        if event.kind == "step":
            self.step(event.service, event.event, event.detail)
        elif event.kind == "build":
            self.build_line(event.service, event.detail)
        elif event.kind == "log":
            self.log_line(event.service, event.detail)
