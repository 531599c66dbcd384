"""Custom rules in Rego, evaluated by a real Rego engine (regopy, the Python binding of
Microsoft's rego-cpp) against the documents the built-in rules see.

A module's rule is its package's `deny` set: each element a message (string), or an object
`{"msg": ..., "kind": ..., "name": ...}` naming the object that breaks it. The input document is
`{"project", "environment", "objects": [...rendered objects...], "plan": {...plan JSON...},
"policy": {...}}`. The rule's name is the package (`shop.labels`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.errors import UserError
from devkit.policy.rules import Violation
from devkit.source import SourceLocation

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)


class RegoError(UserError):
    """A Rego file that is missing, cannot be parsed, or whose rule cannot be evaluated."""


@dataclass(frozen=True)
class Module:
    """One Rego file: its path (as the user named it), text and package."""

    path: str
    text: str
    package: str


def load(
    patterns: Iterable[str], root: Path, *, location: SourceLocation | None = None
) -> list[Module]:
    """The Rego files the patterns (globs relative to `root`) name; each pattern must match."""
    modules: list[Module] = []
    for pattern in patterns:
        found = sorted(p for p in root.glob(pattern) if p.is_file())
        if not found:
            raise RegoError(
                f'policy file "{pattern}" matches no file under {root}',
                location=location,
                details=["rego= paths are globs relative to blueprint.py, e.g. policy/*.rego"],
            )
        for path in found:
            text = path.read_text()
            package = _PACKAGE.search(text)
            if package is None:
                raise RegoError(f"{path}: a Rego module starts with `package NAME`")
            modules.append(Module(path.relative_to(root).as_posix(), text, package[1]))
    return modules


def evaluate(modules: Sequence[Module], document: Mapping[str, Any]) -> list[Violation]:
    """Every module's `deny` set against `document`, as violations named after its package."""
    if not modules:
        return []
    from regopy import Interpreter  # noqa: PLC0415 - a native library, loaded when used

    found: list[Violation] = []
    for module in modules:
        engine = Interpreter()
        try:
            engine.add_module(module.path, module.text)
        except Exception as exc:  # noqa: BLE001 - regopy raises its own error type
            raise RegoError(
                f"{module.path}: the Rego engine rejected it", details=str(exc).splitlines()[:12]
            ) from None
        engine.set_input(dict(document))
        found += [_violation(module, item) for item in _deny(engine, module)]
    return found


def _deny(engine: Any, module: Module) -> list[Any]:
    try:
        output = engine.query(f"data.{module.package}.deny")
    except json.JSONDecodeError:
        # What regopy 1.5 returned is not JSON: an error it could not report as one, or a
        # string it did not escape.
        raise RegoError(
            f"{module.path}: the Rego engine returned no readable result for "
            f"data.{module.package}.deny",
            details=[
                "regopy 1.5 cannot return a string holding a double quote or a control "
                "character: build messages from names (sprintf), not from whole values",
                "nor does it find a package whose last part is a built-in function's name "
                "(count, sum, ...): rename the package",
            ],
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise RegoError(
            f"{module.path}: evaluating data.{module.package}.deny failed",
            details=str(exc).splitlines()[:12],
        ) from None
    if not output.ok():
        raise RegoError(
            f"{module.path}: evaluating data.{module.package}.deny failed",
            details=str(output).splitlines()[:12],
        )
    if str(output) == "undefined" or len(output) == 0:
        return []
    value = output[0].expressions[0]
    if not isinstance(value, list):
        raise RegoError(
            f"{module.path}: data.{module.package}.deny is not a set",
            details=["write `deny contains msg if { ... }`"],
        )
    return value


def _violation(module: Module, item: Any) -> Violation:
    if isinstance(item, str):
        return Violation(module.package, "", "", item)
    if isinstance(item, dict):
        message = item.get("msg", item.get("message"))
        if isinstance(message, str):
            kind, name = str(item.get("kind") or ""), str(item.get("name") or "")
            return Violation(module.package, kind, name, message, item.get("service"))
    raise RegoError(
        f"{module.path}: a deny element must be a message or "
        '{"msg": ..., "kind": ..., "name": ...}',
        details=[f"got: {json.dumps(item)[:200]}"],
    )
