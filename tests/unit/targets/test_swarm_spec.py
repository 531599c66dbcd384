from __future__ import annotations

import subprocess
from pathlib import Path

from blueprints import postgres
from devkit import Blueprint, Http, Port, Resources, Secret, Swarm, plan
from devkit.planning.planner import EnvValue, SecretPart
from devkit.targets.swarm.spec import (
    SecretRef,
    env_script,
    needs_image_config,
    secret_name,
    stack_changes,
    stack_specs,
)

DIGEST = "@sha256:" + "a" * 64


def planned(mesh: bool = True, api_port: Port | None = None):
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", password=Secret("PG_PASSWORD")))
    app.service(
        "api", image="api:1", ports={"http": api_port or Port(8000, public=True)},
        env={"DATABASE_URL": db.url, "MODE": "it's $HOME"}, depends_on=[db],
        health=Http("/healthz", port="http", interval=2),
        resources=Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
    )  # fmt: skip
    app.environment("staging", Swarm(registry="reg:5000", routing_mesh=mesh), replicas=2)
    return plan(app, "staging")


def specs(mesh: bool = True, image: str = "reg:5000/shop-api" + DIGEST, **kw):
    p = planned(mesh, **kw)
    images = {"postgres": "reg:5000/postgres" + DIGEST, "api": image}
    secrets = {"PG_PASSWORD": SecretRef("PG_PASSWORD", "shop-staging-pg-password-1234", "id1")}
    configs = {"api": (None, ["python", "-m", "app"]), "postgres": (["docker-entrypoint"], None)}
    return stack_specs(p, images, secrets, configs)


def test_services_are_named_labelled_and_run_their_image_by_digest() -> None:
    api = specs()["api"]
    assert api["Name"] == "shop-staging-api"
    assert api["Labels"]["dev.devkit.project"] == "shop"
    assert api["Labels"]["dev.devkit.env"] == "staging"
    container = api["TaskTemplate"]["ContainerSpec"]
    assert container["Image"].endswith(DIGEST)
    assert container["Labels"]["dev.devkit.spec-hash"] == api["Labels"]["dev.devkit.spec-hash"]
    assert api["TaskTemplate"]["Networks"] == [{"Target": "shop-staging", "Aliases": ["api"]}]
    assert api["Mode"] == {"Replicated": {"Replicas": 2}}
    assert api["TaskTemplate"]["Resources"] == {
        "Limits": {"MemoryBytes": 512 * 2**20},
        "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 256 * 2**20},
    }


def test_no_secret_value_is_in_any_spec_and_secrets_are_mounted_by_reference() -> None:
    api = specs()["api"]
    container = api["TaskTemplate"]["ContainerSpec"]
    assert container["Secrets"] == [
        {
            "File": {"Name": "PG_PASSWORD", "UID": "0", "GID": "0", "Mode": 0o444},
            "SecretID": "id1",
            "SecretName": "shop-staging-pg-password-1234",
        }
    ]
    assert not any(e.startswith("DATABASE_URL=") for e in container["Env"])
    assert "MODE=it's $HOME" in container["Env"]
    # The wrapper composes the URL at start, then runs the image's own command.
    assert container["Command"][:2] == ["/bin/sh", "-c"]
    assert container["Args"] == ["python", "-m", "app"]
    assert needs_image_config(planned()) == ["postgres", "api"]


def test_the_env_wrapper_composes_secret_values_and_execs_the_command(tmp_path: Path) -> None:
    (tmp_path / "PW").write_text("p@ss 'word'\n")
    script = env_script(
        {"URL": EnvValue(parts=("postgresql://u:", SecretPart(secret="PW"), "@db/$x"))},
        secrets_dir=str(tmp_path),
    )
    done = subprocess.run(
        ["/bin/sh", "-c", script, "devkit-env", "sh", "-c", 'printf %s "$URL"'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout == "postgresql://u:p@ss 'word'@db/$x"


def test_stateless_services_start_first_and_stateful_ones_stop_first() -> None:
    all_specs = specs()
    assert all_specs["api"]["UpdateConfig"]["Order"] == "start-first"
    assert all_specs["postgres"]["UpdateConfig"]["Order"] == "stop-first"
    assert all_specs["api"]["UpdateConfig"]["FailureAction"] == "rollback"
    assert all_specs["api"]["UpdateConfig"]["Monitor"] == 5_000_000_000
    volume = all_specs["postgres"]["TaskTemplate"]["ContainerSpec"]["Mounts"][0]
    assert volume["Type"] == "volume" and volume["Source"] == "shop-staging-postgres-data"


def test_ports_go_through_the_routing_mesh_or_onto_the_node() -> None:
    meshed = specs(mesh=True)["api"]["EndpointSpec"]
    assert meshed == {
        "Mode": "vip",
        "Ports": [{"Protocol": "tcp", "TargetPort": 8000, "PublishMode": "ingress"}],
    }
    direct = specs(mesh=False)["api"]["EndpointSpec"]
    assert direct["Mode"] == "dnsrr" and direct["Ports"][0]["PublishMode"] == "host"
    # A pinned port bound on the node cannot be shared by the old and the new task.
    pinned = specs(mesh=False, api_port=Port(8000, host=18000))["api"]
    assert pinned["EndpointSpec"]["Ports"][0]["PublishedPort"] == 18000
    assert pinned["UpdateConfig"]["Order"] == "stop-first"


def test_spec_hash_is_stable_and_follows_the_image() -> None:
    first, again = specs()["api"], specs()["api"]
    assert first == again
    other = specs(image="reg:5000/shop-api@sha256:" + "b" * 64)["api"]
    assert other["Labels"]["dev.devkit.spec-hash"] != first["Labels"]["dev.devkit.spec-hash"]


def test_secret_names_change_with_the_value_without_showing_it() -> None:
    one = secret_name("shop", "prod", "PG_PASSWORD", "hunter2")
    assert one.startswith("shop-prod-pg-password-") and "hunter2" not in one
    assert one == secret_name("shop", "prod", "PG_PASSWORD", "hunter2")
    assert one != secret_name("shop", "prod", "PG_PASSWORD", "hunter3")


def test_stack_changes_create_update_keep_and_remove_only_owned_services() -> None:
    desired = specs()
    hashes = {name: spec["Labels"]["dev.devkit.spec-hash"] for name, spec in desired.items()}
    changes = stack_changes(
        desired, {"postgres": hashes["postgres"], "old": "x"}, ["postgres", "old"]
    )
    assert changes.create == ("api",) and changes.keep == ("postgres",)
    assert changes.update == () and changes.remove == ("old",)
    changed = stack_changes(desired, {**hashes, "api": "stale"}, list(hashes))
    assert changed.update == ("api",) and not changed.remove
    assert stack_changes(desired, hashes, list(hashes)).nothing_to_do


def test_tasks_drop_every_capability_but_the_declared_ones() -> None:
    app = Blueprint("edge")
    app.service("proxy", image="haproxy:3", capabilities=["NET_BIND_SERVICE"])
    app.service("plain", image="haproxy:3")
    app.environment("staging", Swarm(registry="reg:5000"))
    images = {"proxy": "reg:5000/haproxy" + DIGEST, "plain": "reg:5000/haproxy" + DIGEST}
    configs = {"proxy": (None, ["haproxy"]), "plain": (None, ["haproxy"])}
    found = stack_specs(plan(app, "staging"), images, {}, configs)
    proxy = found["proxy"]["TaskTemplate"]["ContainerSpec"]
    plain = found["plain"]["TaskTemplate"]["ContainerSpec"]
    assert proxy["CapabilityDrop"] == ["ALL"] and proxy["CapabilityAdd"] == ["NET_BIND_SERVICE"]
    assert plain["CapabilityDrop"] == ["ALL"] and "CapabilityAdd" not in plain
