"""A check's report as SARIF 2.1.0, the format code scanning (GitHub, GitLab, Azure) reads.

Every result points at the blueprint line that declared the violating object's service (or the
environment), relative to `base` (the repository's root, where CI runs), and names the object as
a logical location.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devkit.model.policy import RULES
from devkit.policy.check import Report
from devkit.policy.rules import Violation

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION = "https://github.com/devkit-dev/devkit/blob/main/docs/policy.md"


def _uri(file: str, base: Path) -> str:
    path = Path(file).resolve()
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return (
            Path(os.path.relpath(path, base.resolve())).as_posix() if path.is_absolute() else file
        )


def _rule(rule_id: str) -> dict[str, Any]:
    text = RULES.get(rule_id, f"Rego rule {rule_id}")
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": text},
        "helpUri": f"{INFORMATION}#{rule_id if rule_id in RULES else 'custom-rules-in-rego'}",
        "defaultConfiguration": {"level": "error"},
    }


def _result(violation: Violation, index: int, base: Path, level: str) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if violation.location is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(violation.location.file, base)},
            "region": {"startLine": violation.location.line},
        }
    if violation.kind:
        location["logicalLocations"] = [
            {"name": violation.object, "kind": "resource", "fullyQualifiedName": violation.object}
        ]
    result: dict[str, Any] = {
        "ruleId": violation.rule,
        "ruleIndex": index,
        "level": level,
        "message": {"text": f"{violation.object}: {violation.message}"},
    }
    if location:
        result["locations"] = [location]
    return result


def sarif(report: Report, *, base: Path, version: str) -> dict[str, Any]:
    """The SARIF log of one check: one run, the rules applied, a result per violation."""
    ids = list(report.rules)
    for violation in report.violations:
        if violation.rule not in ids:
            ids.append(violation.rule)
    level = "error" if report.enforced else "warning"
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "devkit",
                        "version": version,
                        "informationUri": INFORMATION,
                        "rules": [_rule(rule_id) for rule_id in ids],
                    }
                },
                "automationDetails": {"id": f"devkit-check/{report.environment}/"},
                "results": [_result(v, ids.index(v.rule), base, level) for v in report.violations],
                "properties": {"environment": report.environment, "project": report.project},
            }
        ],
    }
