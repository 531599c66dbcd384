from __future__ import annotations

import pytest
from pydantic import ValidationError

from devkit import Blueprint, BlueprintError, Swarm, Verify, plan


def test_a_command_given_as_one_string_is_refused_with_the_form_to_use() -> None:
    with pytest.raises(ValidationError, match=r'give the command as a list, e\.g\. \["python"'):
        Verify("pytest smoke")


def test_verify_in_an_undefined_service_names_the_environment_and_the_services() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    app.environment("staging", Swarm(), verify=Verify(["true"], service="web"))
    with pytest.raises(BlueprintError) as caught:
        plan(app, "staging")
    text = caught.value.render()
    assert 'verify runs in service "web", which is not defined' in text
    assert "defined services: api" in text and "test_verify.py" in text


def test_the_plan_carries_verify_and_the_rollout_deadline() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    app.environment("staging", Swarm(), verify=Verify(["true"]), rollout_timeout=60)
    planned = plan(app, "staging")
    assert planned.verify == Verify(["true"]) and planned.rollout_timeout == 60
