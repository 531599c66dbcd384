"""The policy gate on the real testbed: a deploy records its policy check, a promotion that
breaks the destination's policy is refused with nothing applied, and `releases --since` is the
audit trail."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.k8s.test_deploy import KubeProject, build_push, kube_project, ok

pytestmark = [pytest.mark.k8s, pytest.mark.docker]
__all__ = ["kube_project"]  # the fixture, shared with test_deploy


def test_promotion_breaking_the_destinations_policy_is_refused_and_audited(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    text = (p.root / "blueprint.py").read_text()
    text = text.replace("from devkit import Blueprint,", "from devkit import Policy, Blueprint,")
    text = text.replace(
        'app.environment("prod", cluster("prod"),',
        'app.environment("prod", cluster("prod"), policy=Policy(min_replicas=3, '
        f'registries=["{p.testbed.registry}"], disable=["resources"]),',
    )
    (p.root / "blueprint.py").write_text(text)
    images = build_push(p, "images.json")

    deployed = json.loads(ok(p.devkit("deploy", "staging", "--images", "images.json",
                                      "--json")).stdout)  # fmt: skip
    recorded = deployed["release"]["policy"]
    assert recorded["enforced"] is False and recorded["passed"] is False  # advice only
    assert any(v.startswith("resources: Deployment/web: ") for v in recorded["violations"])

    dry = json.loads(ok(p.devkit("promote", "staging", "prod", "--dry-run", "--json")).stdout)
    assert dry["policy"]["enforced"] is True and dry["policy"]["passed"] is False
    refused = p.devkit("promote", "staging", "prod", "--json")
    assert refused.code == 3, refused.stderr
    assert "policy violation" in refused.stderr and "nothing was applied" in refused.stderr
    assert "min-replicas: Deployment/web: runs 1 replica" in refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert error["type"] == "PolicyViolationError" and error["exit_code"] == 3
    assert {v["rule"] for v in error["policy"]["violations"]} == {"min-replicas"}
    with pytest.raises(client.exceptions.ApiException) as gone:
        client.CoreV1Api(p.testbed.api).read_namespace(f"{p.namespace}-prod")
    assert gone.value.status == 404  # nothing applied, not even the namespace

    audit = json.loads(ok(p.devkit("releases", "staging", "--json", "--since", "1h")).stdout)
    [release] = audit["releases"]
    assert release["images"] == images and release["status"] == "healthy"
    assert release["by"] and release["origin"] == "deploy" and release["source"] is None
    assert release["policy"] == recorded
    later = json.loads(
        ok(p.devkit("releases", "staging", "--json", "--since", "2099-01-01")).stdout
    )
    assert later["releases"] == [] and later["current"] == 1
