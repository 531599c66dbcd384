"""Vendor the OpenAPI v3 schemas of the CRD kinds devkit renders into devkit/schemas/crds/.

    .venv/bin/python tests/setup/vendor_crd_schemas.py          write the files
    .venv/bin/python tests/setup/vendor_crd_schemas.py --check  exit 1 when they would change

The CRDs come from their upstream Go modules through the Go module proxy (`go mod download`,
read from Go's module cache); nothing else is fetched. Only the kinds and versions devkit renders
are kept, and of each schema only what validation needs (descriptions, defaults, formats,
`status` and the `x-kubernetes-*` markers are dropped, the markers turned into JSON Schema first):

- `x-kubernetes-preserve-unknown-fields: true` keeps an object open; every other object with
  properties gets `additionalProperties: false`, as the API server's strict field validation
  refuses unknown fields;
- `x-kubernetes-int-or-string: true` becomes `anyOf` integer or string, `nullable` a `null` type;
- `metadata` refers to the ObjectMeta of the Kubernetes schemas devkit validates core objects
  with (kubernetes-validate's `_definitions.json`), and `apiVersion` and `kind` are fixed.

CEL rules (`x-kubernetes-validations`) are not vendored: the API server checks them (the k8s
tests apply the objects by server-side dry-run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "devkit" / "schemas" / "crds"
OBJECT_META = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
ISTIO_VERSION = "v0.0.0-20260827124520-eed52ebb66ad"
"""istio.io/istio at commit eed52ebb66ad (2026-08-27, master after 1.30: VERSION says 1.31), the
version `@latest` resolves to on the Go module proxy, which serves no tagged Istio release (its
tags, "1.28.0", are not Go semantic versions). tests/k8s/testbed/build-istio.sh installs the
CRDs of the same version on the testbed."""

_KEPT = frozenset({
    "type", "properties", "additionalProperties", "items", "required", "enum", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "minProperties", "maxProperties", "uniqueItems", "multipleOf",
    "oneOf", "anyOf", "allOf", "not",
})  # fmt: skip


@dataclass(frozen=True)
class Source:
    """One upstream module and the kinds of it devkit renders."""

    name: str
    module: str
    version: str
    files: tuple[str, ...]
    kinds: tuple[tuple[str, str, str], ...]  # group, version, kind
    copyright: str
    what: str


SOURCES = (
    Source(
        "gateway-api",
        "sigs.k8s.io/gateway-api",
        "v1.6.3",
        ("config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",),
        (("gateway.networking.k8s.io", "v1", "HTTPRoute"),),
        "Copyright The Kubernetes Authors",
        "Gateway API, standard channel",
    ),
    Source(
        "istio",
        "istio.io/istio",
        ISTIO_VERSION,
        ("manifests/charts/base/files/crd-all.gen.yaml",),
        (
            ("networking.istio.io", "v1", "VirtualService"),
            ("networking.istio.io", "v1", "DestinationRule"),
            ("security.istio.io", "v1", "PeerAuthentication"),
        ),
        "Copyright Istio Authors",
        "Istio (1.31 development, commit eed52ebb66ad)",
    ),
    Source(
        "prometheus-operator",
        "github.com/prometheus-operator/prometheus-operator",
        "v0.85.0",
        (
            "example/prometheus-operator-crd-full/monitoring.coreos.com_servicemonitors.yaml",
            "example/prometheus-operator-crd-full/monitoring.coreos.com_podmonitors.yaml",
        ),
        (
            ("monitoring.coreos.com", "v1", "ServiceMonitor"),
            ("monitoring.coreos.com", "v1", "PodMonitor"),
        ),
        "Copyright The prometheus-operator Authors",
        "Prometheus Operator",
    ),
)


def module_dir(module: str, version: str) -> Path:
    """The module's directory in Go's module cache (downloaded through the proxy when missing)."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return Path(json.loads(out)["Dir"])


def convert(node: Any) -> Any:
    """One OpenAPI v3 (structural) schema node as a strict JSON Schema node."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    found: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            found[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in _KEPT or key == "additionalProperties":
            found[key] = convert(value)
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in found:
        found.pop("type", None)
        found["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in found:
        found["type"] = [found["type"], "null"]
    open_object = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in found and "additionalProperties" not in found and not open_object:
        found["additionalProperties"] = False
    return dict(sorted(found.items()))


def kind_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    served = {v["name"]: v for v in crd["spec"]["versions"]}
    schema = convert(served[version]["schema"]["openAPIV3Schema"])
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    properties = schema["properties"]
    properties.pop("status", None)
    properties["apiVersion"] = {"const": f"{group}/{version}"}
    properties["kind"] = {"const": kind}
    properties["metadata"] = {"$ref": OBJECT_META}
    schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", ())})
    schema["additionalProperties"] = False
    return dict(sorted(schema.items()))


def vendored(source: Source) -> dict[str, Any]:
    root = module_dir(source.module, source.version)
    crds: dict[tuple[str, str], dict[str, Any]] = {}
    for name in source.files:
        for doc in yaml.safe_load_all((root / name).read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                crds[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    schemas = {
        f"{group}/{version}/{kind}": kind_schema(crds[(group, kind)], version)
        for group, version, kind in source.kinds
    }
    return {
        "licence": (
            f"{source.what}: the OpenAPI v3 schemas of the CustomResourceDefinitions in "
            f"{', '.join(source.files)} of the Go module {source.module}@{source.version}. "
            f"{source.copyright}. Licensed under the Apache License, Version 2.0 "
            "(https://www.apache.org/licenses/LICENSE-2.0; LICENSE in that module). Reduced to "
            "the kinds devkit renders, without descriptions, by tests/setup/vendor_crd_schemas.py "
            "(re-run it to update); do not edit."
        ),
        "upstream": {
            "module": source.module,
            "version": source.version,
            "files": list(source.files),
            "license": "Apache-2.0",
        },
        "schemas": schemas,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a file would change")
    check = parser.parse_args().check
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for source in SOURCES:
        path = OUT / f"{source.name}.json"
        text = json.dumps(vendored(source), separators=(",", ":")) + "\n"
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.write_text(text)
        print(f"{'stale' if check else 'wrote'} {path.relative_to(REPO)} ({len(text):,} bytes)")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
