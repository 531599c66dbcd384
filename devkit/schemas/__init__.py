"""Validation of rendered objects against the official Kubernetes schemas, offline.

The schemas of core kinds are the JSON schemas generated from Kubernetes' OpenAPI definitions that
the `kubernetes-validate` package ships, strict flavour (an unknown field is an error), one set per
minor version (1.25 to 1.37 in kubernetes-validate 1.37.0). The kinds of CRDs devkit renders
(Gateway API HTTPRoute, Istio VirtualService, DestinationRule and PeerAuthentication, Prometheus
Operator ServiceMonitor and PodMonitor) are checked against the OpenAPI v3 schemas of their
upstream CRDs, vendored in `crds/` with their versions and licence by
`tests/setup/vendor_crd_schemas.py` (strict too; their `metadata` is the core ObjectMeta of the
Kubernetes version validated against; CEL rules are left to the API server). Nothing is
downloaded. Schemas are read once per version and kind, then cached.

Every object is checked by a compiled validator (jsonschema-rs), one per version and kind: the
3,000 objects of 200 services in three environments take a few hundredths of a second, against
1.75 s with the pure-Python validator. Only an object the compiled validator rejects is walked
again by python-jsonschema, whose messages (`field.path: message`) are what devkit reports, so
the output does not depend on which validator found the problem.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema_rs

from devkit.errors import KubeVersionError, SchemaError
from devkit.render.version import KubeVersion, parse

_SCHEMA_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")
_MAX_SHOWN = 5
_CRDS = Path(__file__).resolve().parent / "crds"


@dataclass(frozen=True)
class CrdSchema:
    """The vendored schema of one CRD kind and where it comes from."""

    schema: Any
    module: str
    """The Go module the CRD ships in."""
    version: str
    """That module's version."""


@cache
def crd_schemas() -> dict[str, CrdSchema]:
    """The vendored CRD schemas, by "apiVersion/kind" ("networking.istio.io/v1/VirtualService")."""
    found: dict[str, CrdSchema] = {}
    for path in sorted(_CRDS.glob("*.json")):
        vendored = json.loads(path.read_text())
        upstream = vendored["upstream"]
        for key, schema in vendored["schemas"].items():
            found[key] = CrdSchema(schema, upstream["module"], upstream["version"])
    return found


def crd_kinds(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """The kinds among `objects` that are validated against a vendored CRD schema, sorted."""
    vendored = crd_schemas()
    return sorted(
        {str(o["kind"]) for o in objects if f"{o.get('apiVersion')}/{o.get('kind')}" in vendored}
    )


@cache
def _root() -> Traversable:
    # Found without importing kubernetes_validate, whose __init__ imports python-jsonschema
    # (a third of a second of start-up that a valid render never needs).
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def _directories() -> dict[KubeVersion, str]:
    found: dict[KubeVersion, str] = {}
    for entry in _root().iterdir():
        match = _SCHEMA_DIR.match(entry.name)
        if match:
            found[KubeVersion(int(match[1]), int(match[2]))] = entry.name
    return dict(sorted(found.items()))


def available_versions() -> tuple[str, ...]:
    """The Kubernetes minor versions there are schemas for, oldest first ("1.25", ...)."""
    return tuple(str(version) for version in _directories())


def resolve(text: str) -> KubeVersion:
    """The version to validate against; KubeVersionError (exit 2) when there is no schema."""
    available = available_versions()
    version = parse(text, available)
    if version not in _directories():
        raise KubeVersionError(
            text,
            available,
            f"the installed kubernetes-validate ships schemas for {available[0]} to "
            f"{available[-1]}",
        )
    return version


@cache
def _definitions(version: KubeVersion) -> Any:
    return json.loads(_root().joinpath(_directories()[version], "_definitions.json").read_text())


@cache
def _schema(version: KubeVersion, kind: str, api_version: str) -> Any:
    crd = crd_schemas().get(f"{api_version}/{kind}")
    if crd is not None:
        return crd.schema
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _root().joinpath(_directories()[version], f"{kind.lower()}-{group}.json")
    if not path.is_file():
        raise SchemaError(
            f"no Kubernetes {version} schema for {kind} ({api_version})",
            details=[
                "the renderer emitted a kind or API version this Kubernetes does not serve, or a "
                "CRD kind whose schema is not vendored in devkit/schemas/crds/ "
                "(tests/setup/vendor_crd_schemas.py)"
            ],
        )
    return json.loads(path.read_text())


@cache
def _compiled_registry(version: KubeVersion) -> Any:
    definitions = _definitions(version)
    return jsonschema_rs.Registry([(definitions["$id"], definitions)])


@cache
def _compiled(version: KubeVersion, kind: str, api_version: str) -> Any:
    """The compiled validator of one kind; formats are not asserted, as python-jsonschema's
    validator without a format checker does not assert them."""
    return jsonschema_rs.Draft202012Validator(
        _schema(version, kind, api_version),
        registry=_compiled_registry(version),
        validate_formats=False,
    )


@cache
def _validator(version: KubeVersion, kind: str, api_version: str) -> Any:
    """python-jsonschema's validator of one kind: the messages devkit reports."""
    # Lazy: imported only when an object fails (python-jsonschema takes a third of a second).
    from jsonschema import Draft202012Validator  # noqa: PLC0415
    from referencing import Registry, Resource  # noqa: PLC0415

    definitions = _definitions(version)
    registry: Registry[Any] = Registry().with_resource(
        definitions["$id"], Resource.from_contents(definitions)
    )
    return Draft202012Validator(_schema(version, kind, api_version), registry=registry)


def problems(obj: Mapping[str, Any], version: KubeVersion) -> list[str]:
    """What is wrong with one object (empty when it is valid): `field.path: message`."""
    if _compiled(version, obj["kind"], obj["apiVersion"]).is_valid(obj):
        return []
    validator = _validator(version, obj["kind"], obj["apiVersion"])
    found = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        found.append(f"{path.lstrip('.') or '(object)'}: {error.message}")
    return found


def validate(objects: Iterable[Mapping[str, Any]], version: KubeVersion) -> None:
    """Every object valid against the schemas of `version`, or SchemaError naming each problem."""
    failures: list[str] = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        failures += [f"{where}: {problem}" for problem in problems(obj, version)]
    if not failures:
        return
    shown = failures[:_MAX_SHOWN]
    if len(failures) > _MAX_SHOWN:
        shown.append(f"... and {len(failures) - _MAX_SHOWN} more")
    raise SchemaError(
        f"{len(failures)} rendered field(s) fail their schemas (Kubernetes {version}, or the "
        "CRD's); nothing was written",
        details=[*shown, "this is a devkit bug: please report it with the blueprint"],
    )
