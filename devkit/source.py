"""Where a declaration was made in the user's code, so errors can point at file and line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path


@cache
def _not_user() -> tuple[str, ...]:
    """Frames in these trees are never the user's: devkit, its stock blueprints, and installed
    libraries. Found on first use (sysconfig is not imported by commands that never ask)."""
    import sysconfig  # noqa: PLC0415 - see the docstring

    return tuple(
        {
            str(Path(__file__).resolve().parent),
            str(Path(__file__).resolve().parent.parent / "blueprints"),
            *(
                str(Path(sysconfig.get_paths()[key]).resolve())
                for key in ("stdlib", "purelib", "platlib")
            ),
        }
    )


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A file and line in the user's code."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line}"


def display_path(file: str) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return file


@lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """False for frames in devkit, its stock blueprints, libraries and generated code (cached:
    a blueprint of 500 services asks for the same few files on every declaration)."""
    if filename.startswith("<"):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return True
    return not resolved.startswith(_not_user())


def caller_location() -> SourceLocation | None:
    """The innermost frame outside devkit: the user's line that made the current call."""
    frame = sys._getframe(1)
    while frame is not None:
        if is_user_code(frame.f_code.co_filename):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None
