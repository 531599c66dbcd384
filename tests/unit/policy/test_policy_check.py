"""`check(plan, images)`: rules chosen per environment, Rego rules by a real engine, each
violation at the blueprint line that declared its object, and the SARIF log of a report."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from devkit.delivery.deploy import policy_result
from devkit.errors import UserError
from devkit.planning.planner import plan
from devkit.policy import rego
from devkit.policy.check import PolicyViolationError, check
from devkit.policy.rego import RegoError
from devkit.policy.sarif import sarif
from devkit.project.load import load_blueprint

DIGEST = "ghcr.io/acme/api@sha256:" + "a" * 64
BLUEPRINT = """
from devkit import Blueprint, Http, Kubernetes, Policy, Resources

app = Blueprint("shop")
app.service(
    "api",
    image="ghcr.io/acme/api:1.4",
    ports={"http": 8000},
    health=Http("/healthz", port="http"),
    resources=Resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
)
app.service("worker", image="ghcr.io/acme/worker:1.4", resources=Resources(cpu="1", memory="1Gi", memory_limit="1Gi"))
app.environment("staging", Kubernetes())
app.environment(
    "prod",
    Kubernetes(),
    replicas=3,
    policy=Policy(min_replicas=3, registries=["ghcr.io/acme"], disable=["probes"], rego=REGO),
)
"""
TEAM_LABEL = """
package shop.team

import rego.v1

deny contains {"msg": "workloads carry a team label", "kind": obj.kind, "name": obj.metadata.name} if {
    some obj in input.objects
    obj.kind in {"Deployment", "StatefulSet"}
    not obj.metadata.labels.team
}

deny contains sprintf("%s runs %d services; at most 1", [input.environment, n]) if {
    n := count(input.plan.services)
    n > 1
}
"""


def project(tmp_path: Path, rego: list[str] | None = None) -> Path:
    (tmp_path / "blueprint.py").write_text(
        textwrap.dedent(BLUEPRINT).replace("REGO", repr(rego or []))
    )
    return tmp_path


def test_an_environment_without_a_policy_gets_the_defaults_as_advice(tmp_path: Path) -> None:
    app = load_blueprint(project(tmp_path) / "blueprint.py")
    report = check(plan(app, "staging"), {"api": DIGEST, "worker": DIGEST}, root=tmp_path)
    assert not report.enforced
    assert "min-replicas" in report.rules  # on, with no floor to apply
    [missing] = report.violations
    assert (missing.rule, missing.object) == ("probes", "Deployment/worker")
    assert missing.location is not None
    assert (Path(missing.location.file).name, missing.location.line) == ("blueprint.py", 12)


def test_a_declared_policy_is_tuned_and_enforced(tmp_path: Path) -> None:
    app = load_blueprint(project(tmp_path) / "blueprint.py")
    report = check(plan(app, "prod"), {"api": DIGEST, "worker": DIGEST}, root=tmp_path)
    assert report.enforced and report.passed
    assert "probes" not in report.rules and report.disabled == ("probes",)
    tagged = check(plan(app, "prod"), {"worker": "docker.io/acme/worker:2"}, root=tmp_path)
    found = {(v.rule, v.object, v.location.line if v.location else None) for v in tagged.violations}
    assert found == {
        ("mutable-tag", "Deployment/api", 5),
        ("mutable-tag", "Deployment/worker", 12),
        ("registries", "Deployment/worker", 12),
    }
    error = PolicyViolationError(tagged)
    assert error.exit_code == 3
    assert "3 policy violations; deploy refused, nothing was applied" in error.message
    assert error.to_dict()["policy"]["passed"] is False  # type: ignore[index]
    recorded = policy_result(tagged)
    assert not recorded.passed and recorded.enforced
    assert recorded.violations[0].startswith("mutable-tag: Deployment/api: ")


def test_rego_rules_run_on_the_rendered_objects_and_the_plan(tmp_path: Path) -> None:
    root = project(tmp_path, ["policy/*.rego"])
    (root / "policy").mkdir()
    (root / "policy" / "team.rego").write_text(TEAM_LABEL)
    app = load_blueprint(root / "blueprint.py")
    report = check(plan(app, "prod"), {"api": DIGEST, "worker": DIGEST}, root=root)
    assert "shop.team" in report.rules
    found = sorted((v.rule, v.object, v.message) for v in report.violations)
    assert found == [
        ("shop.team", "(environment)", "prod runs 2 services; at most 1"),
        ("shop.team", "Deployment/api", "workloads carry a team label"),
        ("shop.team", "Deployment/worker", "workloads carry a team label"),
    ]
    lines = {v.object: v.location.line for v in report.violations if v.location}
    assert lines == {"Deployment/api": 5, "Deployment/worker": 12, "(environment)": 14}


def test_a_missing_or_broken_rego_file_is_bad_input_at_the_environment(tmp_path: Path) -> None:
    root = project(tmp_path, ["policy/*.rego"])
    app = load_blueprint(root / "blueprint.py")
    with pytest.raises(RegoError, match=r'"policy/\*\.rego" matches no file') as missing:
        check(plan(app, "prod"), root=root)
    assert isinstance(missing.value, UserError) and missing.value.location is not None
    (root / "policy").mkdir()
    (root / "policy" / "bad.rego").write_text("package bad\n\ndeny contains v if { v := }\n")
    with pytest.raises(RegoError, match=r"policy/bad\.rego: the Rego engine rejected it"):
        check(plan(app, "prod"), root=root)


def test_sarif_names_rules_results_and_blueprint_lines(tmp_path: Path) -> None:
    app = load_blueprint(project(tmp_path) / "blueprint.py")
    report = check(plan(app, "prod"), {"worker": "docker.io/acme/worker:2"}, root=tmp_path)
    log = json.loads(json.dumps(sarif(report, base=tmp_path, version="0.1.0")))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert "mutable-tag" in ids and "probes" not in ids
    assert all(rule["shortDescription"]["text"] for rule in driver["rules"])
    assert len(run["results"]) == 3
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error" and result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "blueprint.py"
        assert physical["region"]["startLine"] in (5, 12)


def test_what_regopy_cannot_return_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "echo.rego").write_text(
        "package shop.echo\n\nimport rego.v1\n\ndeny contains input.greeting if { true }\n"
    )
    [module] = rego.load(["*.rego"], tmp_path)
    assert rego.evaluate([module], {"greeting": "hello"})[0].message == "hello"
    with pytest.raises(RegoError, match=r"echo\.rego: the Rego engine returned no readable"):
        rego.evaluate([module], {"greeting": 'say "hi"'})
