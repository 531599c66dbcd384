from __future__ import annotations

from blueprints import postgres
from devkit import (
    Blueprint,
    Docker,
    Http,
    Kubernetes,
    Port,
    Resources,
    Restart,
    Secret,
    Sync,
    Tcp,
    plan,
)
from devkit.render.healthcheck import probe_command
from devkit.targets.docker.spec import ActualContainer, changes_to_apply, container_specs


def planned():
    app = Blueprint("shop")
    db = app.use(postgres(database="shop", password=Secret("PG_PASSWORD")))
    app.service(
        "api", image="api:1", ports={"http": Port(8000, host=8080)},
        env={"DATABASE_URL": db.url}, depends_on=[db], health=Http("/healthz", port="http"),
        resources=Resources(cpu_limit="500m", memory_limit="256Mi"),
    )  # fmt: skip
    app.service("tcp", image="t:1", ports={"raw": 9000}, health=Tcp("raw"))
    app.environment("local", Docker())
    return plan(app, "local")


def specs(secret: str = "s3cret", image_ids: dict[str, str] | None = None):
    p = planned()
    images = {"postgres": "devkit-local/postgres:15", "api": "api:1", "tcp": "t:1"}
    return {
        s.service: s for s in container_specs(p, images, image_ids or {}, {"PG_PASSWORD": secret})
    }


def test_secrets_are_composed_into_the_container_environment() -> None:
    api = specs()["api"]
    assert api.env["DATABASE_URL"] == "postgresql://app:s3cret@postgres:5432/shop"
    assert specs()["postgres"].env["POSTGRES_PASSWORD"] == "s3cret"


def test_names_labels_network_ports_volumes_and_limits() -> None:
    api, db = specs()["api"], specs()["postgres"]
    assert api.name == "shop-local-api" and api.network == "shop-local"
    assert api.labels == {
        "dev.devkit.project": "shop",
        "dev.devkit.env": "local",
        "dev.devkit.service": "api",
    }
    assert [(p.container, p.host) for p in api.ports] == [(8000, 8080)]
    assert db.volumes == {"shop-local-postgres-data": "/var/lib/postgresql/data"}
    assert api.nano_cpus == 500_000_000 and api.mem_limit == 256 * 2**20
    assert api.depends_on == ("postgres",)


def test_health_checks_become_docker_healthchecks() -> None:
    all_specs = specs()
    db = all_specs["postgres"].healthcheck
    assert db is not None and db["Test"][0] == "CMD" and db["Test"][1] == "pg_isready"
    assert db["Interval"] == 2_000_000_000 and db["Retries"] == 3
    http = all_specs["api"].healthcheck
    assert http is not None and http["Test"][0] == "CMD-SHELL"
    assert "http://127.0.0.1:8000/healthz" in http["Test"][1]
    assert probe_command(http)[:2] == ["sh", "-c"]
    # curl, wget, python3, then bash alone (a GET over /dev/tcp) for images with nothing else
    assert "elif command -v bash" in http["Test"][1]
    assert "/dev/tcp/127.0.0.1/8000" in http["Test"][1]
    tcp = all_specs["tcp"].healthcheck
    assert tcp is not None and "9000" in tcp["Test"][1]


def test_spec_hash_follows_image_and_secret_changes() -> None:
    base = specs()["api"].spec_hash
    assert specs()["api"].spec_hash == base
    assert specs(secret="other")["api"].spec_hash != base
    assert specs(image_ids={"api": "sha256:new"})["api"].spec_hash != base
    assert (
        specs(image_ids={"api": "sha256:new"})["postgres"].spec_hash
        == specs()["postgres"].spec_hash
    )


def test_changes_create_replace_keep_and_remove() -> None:
    desired = list(specs().values())
    by = {s.service: s for s in desired}
    actual = [
        ActualContainer("1", "shop-local-api", "api", by["api"].spec_hash, "running"),
        ActualContainer("2", "shop-local-postgres", "postgres", "stale", "running"),
        ActualContainer("3", "shop-local-old", "old", "x", "exited"),
    ]
    changes = changes_to_apply(desired, actual, planned_services=set(by))
    assert changes.keep == ("api",)
    assert changes.replace == ("postgres",)
    assert changes.create == ("tcp",)
    assert [c.service for c in changes.remove] == ["old"]
    assert not changes.nothing_to_do


def live(**fields: object):
    """A synced service (and postgres) planned for a local Docker and for a cluster."""
    app = Blueprint("shop")
    app.use(postgres(password=Secret("PG_PASSWORD")))
    app.service(
        "api", image="api:1", sync=[Sync("src", "/srv/app", then=Restart())],
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    app.environment("local", Docker())
    app.environment("prod", Kubernetes())
    return app


def hardened(app: Blueprint, env: str = "local"):
    p = plan(app, env)
    images = {"postgres": "devkit-local/postgres:15", "api": "api:1"}
    return {s.service: s.security for s in container_specs(p, images, {}, {"PG_PASSWORD": "x"})}


def test_containers_are_hardened_as_pods_are() -> None:
    db = hardened(live())["postgres"]
    assert db.user == "999:999"
    assert db.cap_drop == ("ALL",) and db.cap_add == ()
    assert db.security_opt == ("no-new-privileges:true",)
    assert db.read_only is True
    # scratch paths and /tmp: empty tmpfs owned by the service's uid, as emptyDir with fsGroup
    assert db.tmpfs == {
        "/var/run/postgresql": "uid=999,gid=999,mode=1777",
        "/tmp": "uid=999,gid=999,mode=1777",
    }
    assert db.volume_owner == "999:999"  # its data volume belongs to it
    assert db.synced == ()


def test_image_user_stays_when_the_blueprint_names_none() -> None:
    api = hardened(live())["api"]
    assert api.user is None and api.volume_owner is None
    assert api.tmpfs == {"/tmp": "mode=1777"}


def test_live_sync_relaxes_only_the_synced_paths_and_only_locally() -> None:
    local = hardened(live())["api"]
    assert local.read_only is True and local.synced == ("/srv/app",)
    prod = hardened(live(), "prod")["api"]
    assert prod.read_only is True and prod.synced == ()


def test_declared_capabilities_are_kept_and_a_writable_root_is_an_opt_out() -> None:
    api = hardened(live(capabilities=["cap_net_bind_service"], read_only_root_filesystem=False))
    assert api["api"].cap_add == ("NET_BIND_SERVICE",) and api["api"].cap_drop == ("ALL",)
    assert api["api"].read_only is False
    assert api["api"].tmpfs == {} and api["api"].synced == ()  # the whole root is writable


def test_hardening_is_part_of_the_spec_hash() -> None:
    base = {s.service: s.spec_hash for s in container_specs(
        plan(live(), "local"), {"postgres": "p", "api": "a"}, {}, {"PG_PASSWORD": "x"})}  # fmt: skip
    other = {s.service: s.spec_hash for s in container_specs(
        plan(live(capabilities=["NET_BIND_SERVICE"]), "local"), {"postgres": "p", "api": "a"}, {},
        {"PG_PASSWORD": "x"})}  # fmt: skip
    assert base["api"] != other["api"] and base["postgres"] == other["postgres"]
