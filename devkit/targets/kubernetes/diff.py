"""What a deploy would change in a Kubernetes environment, object by object. Pure.

The target asks the API server for a server-side dry-run of each object (what it would hold
after the apply, defaults and other managers' fields included) and reads the live object;
this module compares the two with what the server manages itself left out, and keeps secret
values out of every diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from devkit.render import emit

Change = Literal["created", "changed", "unchanged", "pruned", "conflict"]
SERVER_MANAGED = (
    "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
)  # fmt: skip
HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden: changed>"


@dataclass(frozen=True)
class LiveChange:
    """One object: created, changed (with a unified diff), unchanged, pruned, or in conflict."""

    kind: str
    name: str
    change: Change
    diff: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "diff": self.diff}


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what the server manages: status and bookkeeping metadata."""
    found = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_MANAGED}
    found["metadata"] = meta
    cleaned: dict[str, Any] = _without_empty(found)
    return cleaned


def _without_empty(value: Any) -> Any:
    """None-valued fields dropped (the client's to_dict() writes absent fields as None)."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _masked(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Secret values replaced by markers that say only whether each one changes."""
    old, new = before.get("data") or {}, after.get("data") or {}
    masked_old = dict.fromkeys(old, HIDDEN)
    masked_new = {k: HIDDEN if old.get(k) == v else HIDDEN_CHANGED for k, v in new.items()}
    return {**before, "data": masked_old}, {**after, "data": masked_new}


def _hidden(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "data": dict.fromkeys(obj.get("data") or {}, HIDDEN)}


def _text(obj: Mapping[str, Any] | None) -> str:
    return emit.dump(obj) if obj else ""


def compare(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, dry: Mapping[str, Any] | None
) -> LiveChange:
    """How the live object (None: absent) differs from the server's dry-run of the apply (None:
    not possible, e.g. its namespace does not exist yet; the desired object stands in)."""
    kind, name = desired["kind"], desired["metadata"]["name"]
    before = comparable(live) if live is not None else None
    after = comparable(dry if dry is not None else desired)
    if kind == "Secret":
        # The server turns stringData into data; only the desired object (no dry-run) has it.
        after["data"] = {**(after.get("data") or {}), **(after.pop("stringData", None) or {})}
        before, after = _masked(before, after) if before is not None else (None, _hidden(after))
    if before is None:
        return LiveChange(kind, name, "created", _diff(kind, name, "", _text(after)))
    old, new = _text(before), _text(after)
    if old == new:
        return LiveChange(kind, name, "unchanged")
    return LiveChange(kind, name, "changed", _diff(kind, name, old, new))


def pruned(live: Mapping[str, Any]) -> LiveChange:
    """A live object the environment applied before and no longer renders."""
    obj = comparable(live)
    if obj["kind"] == "Secret":
        obj = _hidden(obj)
    kind, name = obj["kind"], obj["metadata"]["name"]
    return LiveChange(kind, name, "pruned", _diff(kind, name, _text(obj), ""))


def _diff(kind: str, name: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"live/{kind}/{name}",
            tofile=f"deploy/{kind}/{name}",
        )
    )
