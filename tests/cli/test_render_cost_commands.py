"""`devkit render`, `diff` and `cost` run as a user runs them, on examples/shop and bad input."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHOP, run_devkit

SECRET_VALUE = "pa55-never-rendered-7731"


def test_render_stream_is_valid_yaml_and_byte_identical() -> None:
    first = run_devkit("render", "staging", cwd=SHOP)
    second = run_devkit("render", "staging", cwd=SHOP)
    assert first.code == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stderr == ""
    objects = list(yaml.safe_load_all(first.stdout))
    assert objects[0]["kind"] == "Namespace"
    assert {o["kind"] for o in objects} >= {"Deployment", "StatefulSet", "PodDisruptionBudget"}


def test_render_to_a_directory_replaces_only_its_own_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "99-deployment-gone.yaml").write_text("# Rendered by devkit from shop ...\n---\n{}\n")
    (out / "kustomization.yaml").write_text("resources: []\n")  # the user's own
    result = run_devkit("render", "prod", "-o", str(out), cwd=SHOP)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert "wrote 34 objects to" in result.stderr  # prod runs Istio: 3 of them Istio's
    assert (
        "valid against the Kubernetes 1.33 schemas and their CRDs' (DestinationRule, "
        "PeerAuthentication, VirtualService)"
    ) in result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "99-deployment-gone.yaml" not in names
    assert "kustomization.yaml" in names
    assert "00-namespace-shop-prod.yaml" in names
    assert "08-horizontalpodautoscaler-api.yaml" in names
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert run_devkit("render", "prod", "-o", str(out), cwd=SHOP).code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_render_for_an_older_kubernetes() -> None:
    result = run_devkit("render", "staging", "--kube-version", "1.28", cwd=SHOP)
    assert result.code == 0, result.stderr
    assert "for Kubernetes 1.28." in result.stdout
    objects = list(yaml.safe_load_all(result.stdout))
    api = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "api")
    lifecycle = api["spec"]["template"]["spec"]["containers"][0]["lifecycle"]
    assert lifecycle == {"preStop": {"exec": {"command": ["sleep", "5"]}}}


def test_kube_version_without_schemas_is_exit_2_listing_the_available_ones(tmp_path: Path) -> None:
    result = run_devkit(
        "render", "prod", "--kube-version", "1.24", "-o", str(tmp_path / "out"), cwd=SHOP
    )
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith('error: no Kubernetes schema for version "1.24"')
    assert "available versions: 1.25, 1.26, 1.27, 1.28, 1.29, 1.30" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing may be written"


def test_compose_export(tmp_path: Path) -> None:
    result = run_devkit("render", "local", "--format", "compose", "-o", str(tmp_path), cwd=SHOP)
    assert result.code == 0, result.stderr
    document = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    context = Path(tmp_path, document["services"]["api"]["build"]["context"]).resolve()
    assert context == (SHOP / "services" / "api").resolve()
    stdout = run_devkit("render", "local", "--format", "compose", cwd=SHOP)
    assert yaml.safe_load(stdout.stdout)["services"]["api"]["build"]["context"] == "services/api"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "compose", "--kube-version", "1.30"],
            "--kube-version applies to Kubernetes objects",
        ),
        (["--image", "api"], '--image "api": expected SERVICE=REFERENCE'),
        (
            ["--image", "apii=ghcr.io/acme/api:1"],
            'an image is given for "apii", which is not a service',
        ),
        (["--format", "helm"], "Invalid value for '--format'"),
    ],
)
def test_bad_render_flags_are_exit_2(args: list[str], message: str) -> None:
    result = run_devkit("render", "prod", *args, cwd=SHOP)
    assert result.code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_no_secret_value_in_any_output(tmp_path: Path) -> None:
    env = {**os.environ, "SHOP_DB_PASSWORD": SECRET_VALUE}
    outputs: list[str] = []
    for env_name in ("local", "staging", "prod"):
        for args in (
            ["render", env_name],
            ["render", env_name, "-o", str(tmp_path / env_name)],
            ["render", env_name, "--format", "compose"],
            ["cost", env_name, "--json"],
            ["plan", env_name, "--json"],
        ):
            result = run_devkit(*args, cwd=SHOP, env=env)
            assert result.code == 0, (args, result.stderr)
            outputs += [result.stdout, result.stderr]
    outputs += [run_devkit("diff", "staging", "prod", cwd=SHOP, env=env).stdout]
    outputs += [p.read_text() for p in tmp_path.rglob("*.yaml")]
    assert len(outputs) > 40
    assert not [text for text in outputs if SECRET_VALUE in text]
    assert any("SHOP_DB_PASSWORD" in text for text in outputs)  # referenced, by name


def test_diff_between_environments() -> None:
    result = run_devkit("diff", "staging", "prod", cwd=SHOP)
    assert result.code == 0, result.stderr
    assert "+++ prod/Deployment/api" in result.stdout
    assert "-  replicas: 2" in result.stdout
    assert result.stdout.rstrip().endswith(
        "16 objects differ from staging to prod: 4 added, 0 removed, 12 changed"
    )
    machine = json.loads(run_devkit("diff", "staging", "prod", "--json", cwd=SHOP).stdout)
    assert [(c["kind"], c["name"], c["change"]) for c in machine["changes"]] == [
        ("Namespace", "<namespace>", "changed"),  # prod runs Istio: sidecar injection
        ("Deployment", "api", "changed"),
        ("Deployment", "worker", "changed"),
        ("HorizontalPodAutoscaler", "api", "added"),
        # prod's sidecars reach istiod: one more egress rule in every policy
        *[
            ("NetworkPolicy", f"{name}{suffix}", "changed")
            for name in ("api", "postgres", "redis", "worker")
            for suffix in ("", "-one-off")
        ],
        ("Ingress", "api", "changed"),  # prod's route: a timeout and retries
        ("PeerAuthentication", "default", "added"),
        ("DestinationRule", "api", "added"),
        ("VirtualService", "api", "added"),
    ]
    same = run_devkit("diff", "prod", "prod", cwd=SHOP)
    assert same.stdout.strip() == "no differences between prod and prod"


# The default sheet (OpenCost's defaults): on-demand 0.031611/vCPU-h, 0.004237/GiB-h; spot
# 0.006655 and 0.000892. Per replica and month (730 h):
#   postgres (on demand, 250m, 256Mi): 730 x (0.25 x 0.031611 + 0.25 x 0.004237) = 6.54226
#   redis    (on demand, 100m, 128Mi): 730 x (0.1 x 0.031611 + 0.125 x 0.004237) = 2.69422925
#   api      (spot,      250m, 256Mi): 730 x (0.25 x 0.006655 + 0.25 x 0.000892) = 1.3773275
#   worker   (spot,      100m, 128Mi): 730 x (0.1 x 0.006655 + 0.125 x 0.000892) = 0.56721
# staging: postgres + redis + 2 api + 2 worker = 13.12556425 -> 13.13
# prod (on demand): api 3-30 x 6.54226, worker 3 x 2.69422925:
#   6.54226 + 2.69422925 + 3 x 6.54226 + 3 x 2.69422925 = 36.945957 -> 36.95
#   6.54226 + 2.69422925 + 30 x 6.54226 + 3 x 2.69422925 = 213.586977 -> 213.59
def test_cost_matches_hand_computed_figures() -> None:
    staging = json.loads(run_devkit("cost", "staging", "--json", cwd=SHOP).stdout)
    assert staging["total"] == {"min": 13.13, "max": 13.13}
    by_service = {s["service"]: s for s in staging["services"]}
    assert by_service["api"]["monthly"] == {"min": 2.75, "max": 2.75}
    assert by_service["api"]["capacity"] == "spot"
    assert by_service["postgres"]["capacity"] == "on-demand"
    prod = json.loads(run_devkit("cost", "prod", "--json", cwd=SHOP).stdout)
    assert prod["total"] == {"min": 36.95, "max": 213.59}
    assert {s["service"]: s["replicas"] for s in prod["services"]}["api"] == {"min": 3, "max": 30}


def test_cost_table_and_comparison() -> None:
    table = run_devkit("cost", "prod", cwd=SHOP)
    assert table.code == 0, table.stderr
    assert "api" in table.stdout and "19.63-196.27 USD" in table.stdout
    assert "36.95-213.59 USD" in table.stdout
    assert "prices: GCP us-central1 N1 list prices (illustrative)" in table.stdout
    compared = json.loads(
        run_devkit("cost", "staging", "--compare", "prod", "--json", cwd=SHOP).stdout
    )
    assert compared["change"] == {"min": 23.82, "max": 200.46}
    human = run_devkit("cost", "staging", "--compare", "prod", cwd=SHOP)
    assert "+23.82 to +200.46" in human.stdout


def test_cost_with_own_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "prices.json"
    sheet.write_text(
        json.dumps(
            {"on_demand": {"cpu": 0.04, "memory": 0.005}, "spot": {"cpu": 0.01, "memory": 0.002}}
        )
    )
    result = run_devkit("cost", "prod", "--prices", str(sheet), "--json", cwd=SHOP)
    assert result.code == 0, result.stderr
    # postgres 730 x (0.25 x 0.04 + 0.25 x 0.005) = 8.2125; redis 730 x (0.004 + 0.000625) = 3.37625
    # api 3 x 8.2125 .. 30 x 8.2125; worker 3 x 3.37625
    # total 46.355 -> 46.36 and 268.0925 -> 268.09 (cents, half up)
    assert json.loads(result.stdout)["total"] == {"min": 46.36, "max": 268.09}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[on_demand]\ncpu = 23.08\nmemory = 3.09\n[spot]\ncpu = 4.86\nmemory = 0.65\n",
         "on_demand.cpu: 23.08 per vCPU-hour looks like a monthly price"),
        ("[on_demand]\ncpu = 0.04\nmemory = -0.005\n", "on_demand.memory: -0.005 is negative"),
        ("[on_demand]\ncpu = 0.04\n", "on_demand.memory: missing"),
        ("[on_demand]\ncpu = 0.04\nmemory = 0.005\n", 'no [spot] prices, but environment "staging" runs api, worker on spot'),
        ("[on_demand\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_price_sheets_are_exit_2(tmp_path: Path, text: str, message: str) -> None:
    sheet = tmp_path / "prices.toml"
    sheet.write_text(text)
    result = run_devkit("cost", "staging", "--prices", str(sheet), cwd=SHOP)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {sheet}") or "no [spot] prices" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_price_sheet_file(tmp_path: Path) -> None:
    result = run_devkit("cost", "prod", "--prices", str(tmp_path / "nope.toml"), cwd=SHOP)
    assert result.code == 2
    assert "cannot read it: No such file or directory" in result.stderr


HEADER = """\
from devkit import Autoscale, Blueprint, Kubernetes, Resources
from devkit.profiles import spot
app = Blueprint("acme")
"""


def _run(tmp_path: Path, body: str, *args: str):  # type: ignore[no-untyped-def]
    (tmp_path / "blueprint.py").write_text(HEADER + textwrap.dedent(body).lstrip("\n"))
    return run_devkit(*args, cwd=tmp_path)


def test_autoscale_min_above_max_is_exit_2_at_its_line(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        'app.service("api", image="api:1", autoscale=Autoscale(min=5, max=2))\n',
        "render",
        "k",
    )
    assert result.code == 2
    assert "blueprint.py:4: invalid Autoscale: autoscale min 5 is above max 2" in result.stderr


def test_autoscale_min_above_max_in_an_override_names_the_environment(tmp_path: Path) -> None:
    body = """
    api = app.service("api", image="api:1")
    app.environment("prod", Kubernetes(), overrides={api: {"autoscale": {"min": 9, "max": 3}}})
    """
    result = _run(tmp_path, body, "cost", "prod")
    assert result.code == 2
    assert (
        'blueprint.py:5: environment "prod": overrides.api: autoscale: autoscale min 9 is above max 3'
        in result.stderr
    )


def test_unknown_provider_is_exit_2_at_its_line(tmp_path: Path) -> None:
    body = """
    app.service("api", image="api:1")
    app.environment("staging", Kubernetes(), profile=spot(provider="hetzner"))
    """
    result = _run(tmp_path, body, "render", "staging")
    assert result.code == 2
    assert (
        'blueprint.py:5: spot(): provider: unknown provider "hetzner"; known providers: '
        'aks, eks, gke, karpenter (or "all")'
    ) in result.stderr


def test_spot_with_one_replica_asked_explicitly_warns_and_says_why(tmp_path: Path) -> None:
    body = """
    app.service("api", image="api:1", replicas=1, resources=Resources(cpu="100m"))
    app.environment("staging", Kubernetes(), profile=spot())
    """
    for command in (["render", "staging"], ["plan", "staging"], ["cost", "staging"], ["validate"]):
        result = _run(tmp_path, body, *command)
        assert result.code == 0, result.stderr
        assert (
            'warning: environment "staging": service "api" runs 1 replica on spot capacity '
            "(replicas=1 is set explicitly, so the spot profile's floor does not raise it): it is "
            "down each time its node is reclaimed"
        ) in result.stderr, command
    rendered = list(yaml.safe_load_all(_run(tmp_path, body, "render", "staging").stdout))
    api = next(o for o in rendered if o["kind"] == "Deployment")
    assert api["spec"]["replicas"] == 1
    assert not any(o["kind"] == "PodDisruptionBudget" for o in rendered)


def test_render_access_prints_the_deploy_account_and_the_admins_namespace_apart(
    tmp_path: Path,
) -> None:
    account = run_devkit("render", "prod", "--access", "--promotes-from", "staging", cwd=SHOP)
    assert account.code == 0, account.stderr
    assert account.stdout.startswith("# Rendered by devkit from shop environment prod: the deploy")
    objects = list(yaml.safe_load_all(account.stdout))
    assert [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects] == [
        ("ServiceAccount", "shop-prod", "devkit-deployer"),
        ("Role", "shop-prod", "devkit-deployer"),
        ("RoleBinding", "shop-prod", "devkit-deployer"),
        ("Role", "shop-staging", "devkit-promote-to-shop-prod"),
        ("RoleBinding", "shop-staging", "devkit-promote-to-shop-prod"),
    ]
    admin = run_devkit("render", "prod", "--access-admin", cwd=SHOP)
    assert admin.code == 0, admin.stderr
    (namespace,) = yaml.safe_load_all(admin.stdout)
    assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", "shop-prod")

    out = tmp_path / "access"
    written = run_devkit("render", "prod", "--access", "-o", str(out), cwd=SHOP)
    assert written.code == 0, written.stderr
    assert "wrote 3 objects to" in written.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "00-serviceaccount-shop-prod-devkit-deployer.yaml",
        "01-role-shop-prod-devkit-deployer.yaml",
        "02-rolebinding-shop-prod-devkit-deployer.yaml",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("prod", "--access", "--access-admin"), "choose one of --access"),
        (("prod", "--access-admin", "--promotes-from", "staging"), "--promotes-from goes with"),
        (("prod", "--access", "--promotes-from", "prod"), "prod cannot promote from itself"),
        (("swarm-prod", "--access"), "cannot render a least-privilege deploy account"),
        (("prod", "--access", "--promotes-from", "nowhere"), 'unknown environment "nowhere"'),
    ],
)
def test_render_access_refuses_what_it_cannot_render(args: tuple[str, ...], message: str) -> None:
    result = run_devkit("render", *args, cwd=SHOP)
    assert result.code == 2, result.stderr
    assert message in " ".join(result.stderr.split())
    assert result.stdout == ""


def test_render_writes_a_grafana_dashboard_per_service_with_metrics(tmp_path: Path) -> None:
    out = tmp_path / "dashboards"
    result = run_devkit("render", "staging", "--dashboards", str(out), cwd=SHOP)
    assert result.code == 0, result.stderr
    assert yaml.safe_load_all(result.stdout)  # the objects still go to stdout
    assert "wrote 1 Grafana dashboards" in result.stderr
    (written,) = out.glob("*.json")
    assert written.name == "shop-staging-api.json"  # only the api declares metrics
    board = json.loads(written.read_text())
    assert board["uid"] == "devkit-shop-staging-api"
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    assert (
        'sum by (code) (rate(http_requests_total{namespace="shop-staging", job="api"}'
        "[$__rate_interval]))" in exprs
    )
    again = tmp_path / "again"
    run_devkit("render", "staging", "--dashboards", str(again), cwd=SHOP)
    assert (again / written.name).read_bytes() == written.read_bytes()


def test_dashboards_go_with_kubernetes_objects_not_compose(tmp_path: Path) -> None:
    result = run_devkit(
        "render", "local", "--format", "compose", "--dashboards", str(tmp_path), cwd=SHOP
    )
    assert result.code == 2
    assert "--dashboards goes with Kubernetes objects" in result.stderr
