"""Plain data (dicts, lists, strings, numbers, booleans, None) as YAML, the same bytes every time.

Keys are sorted, collections are in block style, and a string is written plain only when no YAML
reader could take it for anything but that string; otherwise it is double-quoted with escapes.
Written here rather than with PyYAML so that the output depends on nothing installed (PyYAML's C
and Python emitters differ in corner cases) and stays fast for thousands of objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
# YAML 1.1 (PyYAML, kubectl's go-yaml v2 heritage) reads these as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def scalar(value: object) -> str:
    """One scalar in its YAML form."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    raise TypeError(f"cannot write {kind.__name__} as YAML")


@lru_cache(maxsize=1 << 16)
def _string(text: str) -> str:
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _mapping(value: dict[Any, Any], indent: str, out: list[str], first: str) -> None:
    """A non-empty mapping: its first line starts with `first`, the others with `indent`."""
    prefix = first
    for key in sorted(value):
        item = value[key]
        head = f"{prefix}{_string(str(key))}:"
        prefix = indent
        kind = type(item)
        if kind is dict:
            if item:
                out.append(head)
                _mapping(item, indent + "  ", out, indent + "  ")
            else:
                out.append(head + " {}")
        elif kind is list or kind is tuple:
            if item:
                out.append(head)
                _sequence(item, indent, out, indent)
            else:
                out.append(head + " []")
        else:
            out.append(f"{head} {scalar(item)}")


def _sequence(value: Sequence[Any], indent: str, out: list[str], first: str) -> None:
    """A non-empty sequence: items are `- ...` at `indent` (the first one after `first`)."""
    prefix = first
    for item in value:
        line = prefix + "- "
        prefix = indent
        kind = type(item)
        if kind is dict and item:
            _mapping(item, indent + "  ", out, line)
        elif (kind is list or kind is tuple) and item:
            _sequence(item, indent + "  ", out, line)
        elif kind is dict:
            out.append(line + "{}")
        elif kind is list or kind is tuple:
            out.append(line + "[]")
        else:
            out.append(line + scalar(item))


def _plain(document: Any) -> Any:
    """Other mappings and sequences as dicts and lists, for the fast paths above."""
    if isinstance(document, Mapping) and type(document) is not dict:
        return {key: _plain(item) for key, item in document.items()}
    if type(document) is dict:
        return {key: _plain(item) for key, item in document.items()}
    if isinstance(document, list | tuple):
        return [_plain(item) for item in document]
    return document


def dump(document: Mapping[str, Any] | Sequence[Any]) -> str:
    """One YAML document (without the `---` marker), ending in a newline."""
    if type(document) is not dict and type(document) is not list:
        document = _plain(document)
    out: list[str] = []
    if type(document) is dict:
        if not document:
            return "{}\n"
        _mapping(document, "", out, "")
    else:
        if not document:
            return "[]\n"
        _sequence(document, "", out, "")  # type: ignore[arg-type]
    return "\n".join(out) + "\n"


def dump_all(documents: Sequence[Mapping[str, Any]], header: str = "") -> str:
    """A stream of documents, each after a `---` line; `header` lines become comments on top."""
    parts = [f"# {line}\n" if line else "#\n" for line in header.splitlines()]
    for document in documents:
        parts.append("---\n")
        parts.append(dump(document))
    return "".join(parts)
