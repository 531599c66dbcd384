"""Several engines' log streams as one: (source, line) pairs in the order the lines arrive."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

Stream = Callable[[], Iterable[bytes]]
"""Opens one log stream (called in its own thread, so a slow engine blocks none of the others)."""


def interleaved(streams: Sequence[tuple[str, Stream]]) -> Iterator[tuple[str, str]]:
    """(name, line) pairs from every stream as they come, split at newlines; ends when all end."""
    lines: queue.Queue[tuple[str, str] | None] = queue.Queue()

    def pump(name: str, stream: Stream) -> None:
        buffer = b""
        try:
            for chunk in stream():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    lines.put((name, line.decode(errors="replace")))
            if buffer:
                lines.put((name, buffer.decode(errors="replace")))
        finally:
            lines.put(None)

    for name, stream in streams:
        threading.Thread(target=pump, args=(name, stream), daemon=True).start()
    running = len(streams)
    while running:
        item = lines.get()
        if item is None:
            running -= 1
        else:
            yield item
