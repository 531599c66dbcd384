"""`devkit check ENV` as CI runs it: exit codes, one JSON document, a SARIF file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import SHOP, Run

DIGEST = "ghcr.io/acme/api@sha256:" + "a" * 64
BLUEPRINT = """
from devkit import Blueprint, Http, Kubernetes, Policy, Resources, Swarm

app = Blueprint("shop")
app.service(
    "api",
    image="ghcr.io/acme/api:1.4",
    ports={"http": 8000},
    health=Http("/healthz", port="http"),
    resources=Resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
)
app.environment("staging", Swarm(registry="127.0.0.1:5000"), policy=Policy(enforce=False))
app.environment("prod", Kubernetes(), replicas=3,
                policy=Policy(min_replicas=3, registries=["ghcr.io/acme"], rego=["policy/*.rego"]))
"""
REGO = """
package shop.owner

import rego.v1

deny contains {"msg": "no owner annotation", "kind": obj.kind, "name": obj.metadata.name} if {
    some obj in input.objects
    obj.kind == "Deployment"
    not obj.metadata.annotations["example.com/owner"]
}
"""


def project(write_blueprint: Callable[[str], Path]) -> Path:
    root = write_blueprint(BLUEPRINT).parent
    (root / "policy").mkdir()
    (root / "policy" / "owner.rego").write_text(REGO)
    return root


def test_a_violation_is_exit_3_naming_rule_object_and_line(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = project(write_blueprint)
    run = devkit("check", "prod", cwd=root)
    assert run.code == 3, run.stderr
    lines = run.stdout.splitlines()
    assert (
        'blueprint.py:4: mutable-tag: Deployment/api: container "api" runs ghcr.io/acme/api:1.4, '
        'whose tag "1.4" can move' in run.stdout
    )
    assert "blueprint.py:4: shop.owner: Deployment/api: no owner annotation" in lines
    assert "prod: 2 policy violations" in run.stderr
    assert "Traceback" not in run.stderr


def test_pinned_images_pass_except_the_rego_rule_and_json_is_one_document(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = project(write_blueprint)
    run = devkit("check", "prod", "--image", f"api={DIGEST}", "--json", cwd=root)
    assert run.code == 3, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] is False and report["enforced"] is True
    assert report["rules"][-1] == "shop.owner" and "min-replicas" in report["rules"]
    [violation] = report["violations"]
    assert violation["rule"] == "shop.owner"
    assert violation["object"] == {"kind": "Deployment", "name": "api"}
    assert violation["service"] == "api" and violation["line"] == 4
    assert violation["file"].endswith("blueprint.py")
    (root / "policy" / "owner.rego").write_text("package shop.owner\n")  # no rule: nothing denied
    passing = devkit("check", "prod", "--image", f"api={DIGEST}", "--json", cwd=root)
    assert passing.code == 0, passing.stderr
    assert json.loads(passing.stdout)["passed"] is True


def test_sarif_is_written_for_code_scanning(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = project(write_blueprint)
    run = devkit("check", "prod", "--sarif", "out/check.sarif", cwd=root)
    assert run.code == 3
    log = json.loads((root / "out" / "check.sarif").read_text())
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "devkit"
    assert {"mutable-tag", "shop.owner"} <= {r["id"] for r in driver["rules"]}
    for result in log["runs"][0]["results"]:
        assert result["ruleId"] in {r["id"] for r in driver["rules"]}
        assert result["level"] == "error"
        location = result["locations"][0]["physicalLocation"]
        assert location == {"artifactLocation": {"uri": "blueprint.py"}, "region": {"startLine": 4}}


def test_a_policy_that_only_advises_still_fails_the_check_as_a_warning(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = project(write_blueprint)
    run = devkit("check", "staging", "--sarif", "s.sarif", cwd=root)
    assert run.code == 3
    assert "staging: 1 policy violation (advice: deploys of it are not refused)" in run.stderr
    log = json.loads((root / "s.sarif").read_text())
    assert {r["level"] for r in log["runs"][0]["results"]} == {"warning"}


def test_bad_input_is_exit_2(
    devkit: Callable[..., Run], write_blueprint: Callable[[str], Path]
) -> None:
    root = write_blueprint(BLUEPRINT).parent
    missing = devkit("check", "prod", cwd=root)
    assert missing.code == 2 and '"policy/*.rego" matches no file' in missing.stderr
    unknown = devkit("check", "qa", cwd=root)
    assert unknown.code == 2 and 'unknown environment "qa"' in unknown.stderr
    since = devkit("releases", "staging", "--since", "last tuesday", cwd=root)
    assert since.code == 2 and "is neither a duration nor a date" in since.stderr


def test_the_shop_example_names_what_stands_between_it_and_a_policy(
    devkit: Callable[..., Run],
) -> None:
    run = devkit("check", "prod", "--json", cwd=SHOP)
    assert run.code == 3
    found = {(v["rule"], v["object"]["name"]) for v in json.loads(run.stdout)["violations"]}
    assert found == {("mutable-tag", "postgres"), ("mutable-tag", "redis"), ("probes", "worker")}
