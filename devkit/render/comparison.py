"""What differs between two environments' renders, object by object.

Objects are matched by kind and name. The namespace and the environment's instance label differ
between any two environments by design, so both are replaced by placeholders before comparing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from devkit.render import emit
from devkit.render.manifest import KIND_ORDER, KubeObject, Manifest

NAMESPACE = "<namespace>"
INSTANCE = "<instance>"
INSTANCE_LABEL = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class ObjectChange:
    """One object that is only in one render, or differs between the two."""

    kind: str
    name: str
    change: Literal["added", "removed", "changed"]
    diff: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "diff": self.diff}


def _normalised(value: Any) -> Any:
    """A copy with every instance label value replaced by a placeholder."""
    if isinstance(value, dict):
        return {
            key: INSTANCE if key == INSTANCE_LABEL else _normalised(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def _keyed(manifest: Manifest) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for obj in manifest.objects:
        normal: KubeObject = _normalised(obj)
        normal["metadata"].pop("namespace", None)
        if normal["kind"] == "Namespace":
            normal["metadata"]["name"] = NAMESPACE
        found[(normal["kind"], normal["metadata"]["name"])] = emit.dump(normal)
    return found


def diff(before: Manifest, after: Manifest) -> list[ObjectChange]:
    """The objects that differ from `before` to `after`, in apply order, with unified diffs."""
    old, new = _keyed(before), _keyed(after)
    changes: list[ObjectChange] = []
    keys = sorted(old.keys() | new.keys(), key=lambda k: (KIND_ORDER.index(k[0]), k[1]))
    for key in keys:
        a, b = old.get(key, ""), new.get(key, "")
        if a == b:
            continue
        change: Literal["added", "removed", "changed"] = (
            "added" if not a else "removed" if not b else "changed"
        )
        text = "".join(
            difflib.unified_diff(
                a.splitlines(keepends=True),
                b.splitlines(keepends=True),
                fromfile=f"{before.environment}/{key[0]}/{key[1]}",
                tofile=f"{after.environment}/{key[0]}/{key[1]}",
            )
        )
        changes.append(ObjectChange(key[0], key[1], change, text))
    return changes
