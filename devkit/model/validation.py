"""Turn pydantic validation errors into the field-path messages devkit prints."""

from __future__ import annotations

from pydantic import ValidationError

# Location parts that name a union member or validator rather than a field.
_NOISE = ("function-", "tagged-union", "union[", "lax-or-strict", "json-or-python")
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "tuple", "Ref", "Secret"})
# Discriminated unions put the tag in the location after the field that holds them.
_TAGGED = {
    "health": {"http", "tcp", "command"},
    "target": {"docker", "swarm", "kind", "kubernetes"},
    "then": {"restart", "run"},
    "checks": {"success-rate", "latency", "query"},
    "match": {"header", "cookie"},
}


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    kept: list[int | str] = []
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            kept.append(part)
            continue
        if part in _TYPE_NAMES or part.startswith(_NOISE):
            continue
        holder = [p for p in kept if isinstance(p, str)][-1:] if kept else []
        if holder and part in _TAGGED.get(str(holder[0]), ()):
            continue
        path += f".{part}" if path else part
        kept.append(part)
    return path


def error_lines(exc: ValidationError, *, prefix: str = "") -> list[str]:
    """One line per distinct problem: `field.path: what is wrong`, first error per field only."""
    lines: list[str] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        path = _field_path(error["loc"])
        if path in seen:
            continue
        seen.add(path)
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required field is missing"
        full = ".".join(p for p in (prefix, path) if p)
        lines.append(f"{full}: {message}" if full else message)
    return lines
