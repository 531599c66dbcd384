"""The commands of the spine, run as a user runs them: a real process on examples/shop."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHOP, run_devkit


def test_validate_the_shop_example() -> None:
    result = run_devkit("validate", cwd=SHOP)
    assert result.code == 0, result.stderr
    assert (
        "ok blueprint.py: shop, 4 services (postgres, redis, api, worker), 6 environments"
        in result.stdout
    )


def test_validate_json_lists_each_environment_plan_hash() -> None:
    result = run_devkit("-f", str(SHOP), "validate", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["valid"] is True
    assert set(doc["environments"]) == {
        "local",
        "dev",
        "staging",
        "prod",
        "swarm-staging",
        "swarm-prod",
    }
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in doc["environments"].values())


def test_plan_json_twice_is_byte_identical() -> None:
    first = run_devkit("plan", "prod", "--json", cwd=SHOP)
    second = run_devkit("plan", "prod", "--json", cwd=SHOP)
    assert first.code == 0, first.stderr
    assert first.stdout == second.stdout
    plan = json.loads(first.stdout)
    assert plan["environment"] == "prod"
    assert plan["namespace"] == "shop-prod"
    assert [s["name"] for s in plan["services"]] == ["postgres", "redis", "api", "worker"]
    assert first.stderr == ""


def test_plan_masks_connection_urls_with_passwords() -> None:
    result = run_devkit("plan", "staging", cwd=SHOP, env=None)
    assert result.code == 0, result.stderr
    assert "DATABASE_URL = postgresql://shop:****@postgres:5432/shop" in result.stdout


def test_plan_never_prints_a_secret_value(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "SHOP_DB_PASSWORD": "never-print-me"}
    human = run_devkit("plan", "local", cwd=SHOP, env=env)
    machine = run_devkit("plan", "local", "--json", cwd=SHOP, env=env)
    assert human.code == machine.code == 0
    assert "never-print-me" not in human.stdout + human.stderr + machine.stdout


def test_plan_shows_what_live_sync_relaxes() -> None:
    result = run_devkit("plan", "local", cwd=SHOP)
    assert "relaxed    writable for live sync: /srv/app\n" in result.stdout
    prod = run_devkit("plan", "prod", cwd=SHOP)
    assert prod.code == 0, prod.stderr
    assert "relaxed" not in prod.stdout  # no live sync, nothing relaxed


def test_plan_shows_the_capabilities_a_service_keeps(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(
        "from devkit import Blueprint, Docker\n"
        'app = Blueprint("edge")\n'
        'app.service("proxy", image="haproxy:3", capabilities=["NET_BIND_SERVICE"])\n'
        'app.environment("local", Docker())\n'
    )
    result = run_devkit("plan", "local", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "relaxed    capabilities kept: NET_BIND_SERVICE\n" in result.stdout


def test_plan_shows_egress_destinations_and_refuses_a_host_name(tmp_path: Path) -> None:
    source = (
        "from devkit import Blueprint, Egress, Kubernetes\n"
        'app = Blueprint("calls")\n'
        'app.service("worker", image="acme/worker:1", egress=[Egress("203.0.113.0/24", 443), DEST])\n'
        'app.environment("prod", Kubernetes())\n'
    )
    (tmp_path / "blueprint.py").write_text(source.replace("DEST", '"198.51.100.7"'))
    result = run_devkit("plan", "prod", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "  egress     203.0.113.0/24 tcp 443\n" in result.stdout
    assert "  egress     198.51.100.7/32 any port\n" in result.stdout

    (tmp_path / "blueprint.py").write_text(source.replace("DEST", '"api.example.com"'))
    result = run_devkit("plan", "prod", cwd=tmp_path)
    assert result.code == 2
    assert 'blueprint.py:3: service "worker": egress[1].cidr: "api.example.com" is not an' in (
        result.stderr
    )


TENANTS = """
from devkit import Blueprint, Kubernetes, Port, Resources
from devkit.model import Tenant
app = Blueprint("saas")
app.service("api", image="acme/api:1", ports={"http": Port(8000)},
            resources=Resources(cpu="1", memory="1Gi"))
app.environment("prod", Kubernetes(), replicas=2,
                tenants=[Tenant("acme", tier="standard", replicas=3), Tenant("globex")])
"""


def test_tenants_in_plan_cost_and_release_commands(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(TENANTS)
    listed = run_devkit("plan", "prod", cwd=tmp_path)
    assert listed.code == 0, listed.stderr
    assert "tenants: acme, globex (--tenant NAME)" in listed.stdout
    acme = run_devkit("plan", "prod", "--tenant", "acme", cwd=tmp_path)
    assert "namespace saas-prod-acme" in acme.stdout
    assert "tenant acme, tier standard: quota 8 CPU, 16Gi, 60 pods" in acme.stdout

    cost = run_devkit("cost", "prod", "--json", cwd=tmp_path)
    assert cost.code == 0, cost.stderr
    per = json.loads(cost.stdout)
    assert [(t["tenant"], t["services"][0]["replicas"]["min"]) for t in per["tenants"]] == [
        ("acme", 3), ("globex", 2),
    ]  # fmt: skip
    assert per["total"]["min"] == round(sum(t["total"]["min"] for t in per["tenants"]), 2)

    unknown = run_devkit("deploy", "prod", "--tenant", "initech", cwd=tmp_path)
    assert unknown.code == 2
    assert 'environment "prod" has no tenant "initech"' in unknown.stderr
    assert "its tenants: acme, globex" in unknown.stderr
    moved = run_devkit("deploy", "prod", "-n", "elsewhere", cwd=tmp_path)
    assert moved.code == 2 and "give --tenant NAME with --namespace" in moved.stderr
    history = run_devkit("rollback", "prod", cwd=tmp_path)
    assert history.code == 2 and "give --tenant NAME" in history.stderr


def test_envs_lists_targets_and_profiles() -> None:
    result = run_devkit("envs", "--json", cwd=SHOP)
    assert result.code == 0, result.stderr
    envs = {e["name"]: e for e in json.loads(result.stdout)["environments"]}
    assert envs["local"]["target"]["kind"] == "docker"
    assert envs["staging"]["profile"]["capacity"] == "spot"
    assert envs["prod"]["overrides"] == ["api"]


def test_version() -> None:
    result = run_devkit("--version")
    assert result.code == 0
    assert re.fullmatch(r"devkit \d+\.\d+\.\d+\n", result.stdout)


def test_usage_errors_exit_2() -> None:
    result = run_devkit("plan", cwd=SHOP)
    assert result.code == 2
    assert "Missing argument 'ENV'" in result.stderr


def test_env_given_the_other_commands_way_is_answered_with_this_commands_form() -> None:
    """`plan -e prod` and `status prod` are the two guesses a new user makes."""
    for args, said in [
        (("plan", "-e", "prod"), "devkit plan takes the environment as its argument, not -e"),
        (("deploy", "--env", "prod"), "devkit deploy takes the environment as its argument"),
        (("status", "prod"), "the environment is chosen with -e: devkit status -e ENV"),
    ]:
        result = run_devkit(*args, cwd=SHOP)
        assert result.code == 2, result.stderr
        assert said in result.stderr
        assert "Possible options" not in result.stderr
    other = run_devkit("plan", "--bogus", cwd=SHOP)
    assert other.code == 2
    assert "No such option: --bogus" in other.stderr


def test_help_does_not_import_heavy_libraries() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "devkit", "--help"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    for heavy in ("docker", "kubernetes", "pydantic", "jinja2", "rich"):
        assert heavy not in imported, f"--help imported {heavy}"
    assert "Commands:" in proc.stdout


def test_init_scaffolds_a_blueprint_that_validates(tmp_path: Path) -> None:
    repo = tmp_path / "My Store"
    (repo / "services" / "web").mkdir(parents=True)
    (repo / "services" / "web" / "Dockerfile").write_text("FROM nginx:1.27\nEXPOSE 80 443/tcp\n")
    (repo / "services" / "jobs").mkdir()
    (repo / "services" / "jobs" / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (repo / "node_modules" / "x").mkdir(parents=True)
    (repo / "node_modules" / "x" / "Dockerfile").write_text("FROM scratch\n")

    result = run_devkit("init", cwd=repo)
    assert result.code == 0, result.stderr
    assert (repo / "blueprint.py").is_file()
    assert "web: build services/web (http 80, port443 443)" in result.stdout

    docstring = (repo / "blueprint.py").read_text().split('"""')[1]
    assert "docs/blueprints.md in the devkit repository" in docstring
    assert "http" not in docstring, "no links to a website the project does not have"
    ruff = str(Path(sys.executable).with_name("ruff"))
    for lint in (["check", "--select", "E,F,I,W"], ["format", "--check"]):
        # what a user's linter with its defaults says of the file devkit wrote
        checked = subprocess.run(
            [ruff, *lint, "--isolated", "blueprint.py"],
            cwd=repo, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr

    planned = run_devkit("plan", "local", "--json", cwd=repo)
    assert planned.code == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc["project"] == "my-store"
    assert sorted(s["name"] for s in doc["services"]) == ["jobs", "web"]
    assert run_devkit("validate", cwd=repo).code == 0


def test_validate_counts_in_the_singular_for_one(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(
        'from devkit import Blueprint, Docker\napp = Blueprint("one")\n'
        'app.service("api", image="api:1")\napp.environment("local", Docker())\n'
    )
    result = run_devkit("validate", cwd=tmp_path)
    assert result.stdout.strip() == "ok blueprint.py: one, 1 service (api), 1 environment (local)"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nEXPOSE 8000\n")
    (tmp_path / "blueprint.py").write_text("# mine\n")
    refused = run_devkit("init", cwd=tmp_path)
    assert refused.code == 2
    assert "already exists; nothing was written" in refused.stderr
    assert (tmp_path / "blueprint.py").read_text() == "# mine\n"
    forced = run_devkit("init", "--force", cwd=tmp_path)
    assert forced.code == 0, forced.stderr
    assert "Blueprint(" in (tmp_path / "blueprint.py").read_text()


def test_init_without_a_dockerfile_says_so(tmp_path: Path) -> None:
    result = run_devkit("init", str(tmp_path))
    assert result.code == 2
    assert "no Dockerfile found" in result.stderr
    assert not (tmp_path / "blueprint.py").exists()
