"""Plain data (dicts, lists, strings, numbers, booleans, None) as YAML, the same bytes every time.

Keys are sorted, collections are in block style, and a string is written plain only when no YAML
reader could take it for anything but that string; otherwise it is double-quoted with escapes.
Written here rather than with PyYAML so that the output depends on nothing installed (PyYAML's C
and Python emitters differ in corner cases) and stays fast for thousands of objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
# YAML 1.1 (PyYAML, kubectl's go-yaml v2 heritage) reads these as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def scalar(value: object) -> str:
    """One scalar in its YAML form."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


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


def _is_collection(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _lines(value: Any, indent: str, out: list[str]) -> None:
    """Lines of a non-empty mapping or sequence at `indent`."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            item = value[key]
            head = f"{indent}{_string(str(key))}:"
            if _is_collection(item):
                out.append(head)
                _lines(item, indent if isinstance(item, list | tuple) else indent + "  ", out)
            else:
                out.append(f"{head} {_empty_or_scalar(item)}")
        return
    for item in value:
        if _is_collection(item):
            start = len(out)
            _lines(item, indent + "  ", out)
            out[start] = f"{indent}- {out[start][len(indent) + 2 :]}"
        else:
            out.append(f"{indent}- {_empty_or_scalar(item)}")


def _empty_or_scalar(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)


def dump(document: Mapping[str, Any] | Sequence[Any]) -> str:
    """One YAML document (without the `---` marker), ending in a newline."""
    if not _is_collection(document):
        return _empty_or_scalar(document) + "\n"
    out: list[str] = []
    _lines(document, "", out)
    return "\n".join(out) + "\n"


def dump_all(documents: Sequence[Mapping[str, Any]], header: str = "") -> str:
    """A stream of documents, each after a `---` line; `header` lines become comments on top."""
    parts = [f"# {line}\n" if line else "#\n" for line in header.splitlines()]
    for document in documents:
        parts.append("---\n")
        parts.append(dump(document))
    return "".join(parts)
