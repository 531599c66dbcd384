"""Where output goes: results on stdout (rich, or one JSON document with --json), the rest
on stderr.

The rich consoles are made on first use, so commands that print nothing (and `--help`) never
import rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    """Human results, on stdout."""
    from rich.console import Console

    # Not a terminal (a pipe, a CI log): wide enough that tables are not cut short.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


@cache
def err() -> Console:
    """Progress, notes and errors, on stderr."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_json(document: Any) -> None:
    """One JSON document on stdout, and nothing else there."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")


def print_error(message: str) -> None:
    """`error: ...` on stderr, never interpreted as rich markup."""
    err().print("[bold red]error:[/] ", end="")
    err().print(message, markup=False, soft_wrap=True)


def print_warnings(environment: str, warnings: Iterable[str]) -> None:
    """`warning: environment "ENV": ...` on stderr, one paragraph each."""
    for warning in warnings:
        err().print("[bold yellow]warning:[/] ", end="")
        err().print(f'environment "{environment}": {warning}', markup=False, soft_wrap=True)
