"""`devkit plan ENV` shows how a canary release of the environment goes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import run_devkit

BLUEPRINT = """
from devkit import Blueprint, Canary, Header, Hook, Kubernetes, Latency, Port, Step, SuccessRate

app = Blueprint("shop")
app.service("api", image="shop/api:1", ports={"http": Port(8000, public=True)})
app.environment(
    "prod",
    Kubernetes(gateway="edge/public"),
    canary=Canary(
        service="api",
        steps=[Step(10, pause=30), Step(50, pause="manual"), 100],
        checks=[SuccessRate(min=0.99), Latency(max=0.5)],
        failures=1,
        match=Header(name="x-canary", value="always"),
        hooks=[Hook(["./confirm.sh"], at="promote")],
        prometheus="monitoring/prometheus:9090",
    ),
)
"""


def test_plan_shows_the_steps_checks_match_and_hooks(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(textwrap.dedent(BLUEPRINT))
    run = run_devkit("plan", "prod", cwd=tmp_path)
    assert run.code == 0, run.stderr
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert "step     1. 10% for 30s" in lines
    assert "step     2. 50% until --continue" in lines
    assert "step     3. 100% for 60s" in lines
    assert "check    success rate >= 0.99 over 30s, every 10s" in lines
    assert "check    p99 latency <= 0.5s over 30s, every 10s" in lines
    assert (
        "abort    after more than 1 failed evaluations: weight 0 at once, canary removed" in lines
    )
    assert "A/B      requests with header x-canary: always reach the canary" in lines
    assert "hook     ./confirm.sh (before promotion)" in lines

    as_json = json.loads(run_devkit("plan", "prod", "--json", cwd=tmp_path).stdout)
    assert [s["weight"] for s in as_json["canary"]["steps"]] == [10, 50, 100]
    assert as_json["canary"]["steps"][1]["pause"] == "manual"
