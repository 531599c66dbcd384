from __future__ import annotations

import pytest

from blueprints import postgres, redis
from devkit import (
    Autoscale,
    Blueprint,
    Build,
    Command,
    Docker,
    Http,
    Port,
    Resources,
    Restart,
    Run,
    Secret,
    Sync,
)
from devkit.errors import BlueprintError
from devkit.model.service import Service


def test_ports_accept_plain_numbers_and_port_objects() -> None:
    app = Blueprint("shop")
    api = app.service("api", image="api:1", ports={"http": 8000, "admin": Port(9000, host=19000)})
    assert api.ports["http"].container == 8000
    assert api.ports["http"].host is None
    assert api.ports["admin"].host == 19000


def test_exactly_one_of_image_or_build() -> None:
    app = Blueprint("shop")
    with pytest.raises(BlueprintError, match="give exactly one of image= or build="):
        app.service("api")
    with pytest.raises(BlueprintError, match="give exactly one of image= or build="):
        app.service("api", image="a", build=Build("."))


def test_service_names_must_work_as_dns_names() -> None:
    with pytest.raises(BlueprintError, match='"Api_1" is not a valid name'):
        Blueprint("shop").service("Api_1", image="a")


def test_depends_on_takes_services_or_names() -> None:
    app = Blueprint("shop")
    db = app.service("db", image="postgres:16")
    api = app.service("api", image="api:1", depends_on=[db, "cache"])
    assert api.depends_on == ("db", "cache")


def test_service_objects_can_key_overrides() -> None:
    app = Blueprint("shop")
    api = app.service("api", image="api:1")
    env = app.environment("prod", Docker(), overrides={api: {"replicas": 3}})
    assert env.overrides == {"api": {"replicas": 3}}


def test_override_of_a_fixed_field_is_refused() -> None:
    app = Blueprint("shop")
    api = app.service("api", image="api:1")
    with pytest.raises(BlueprintError, match='"name" cannot be overridden'):
        app.environment("prod", Docker(), overrides={api: {"name": "web"}})


def test_replicas_and_autoscale_are_exclusive() -> None:
    with pytest.raises(BlueprintError, match="either replicas= or autoscale="):
        Blueprint("shop").service("api", image="a", replicas=2, autoscale={"max": 3})


def test_secret_named_variables_refuse_plain_text_but_take_secrets_and_flags() -> None:
    app = Blueprint("shop")
    api = app.service(
        "api", image="a",
        env={"DB_PASSWORD": Secret("DB_PASSWORD"), "TOKEN_TTL": 60, "USE_TOKEN": True},
    )  # fmt: skip
    assert isinstance(api.env["DB_PASSWORD"], Secret)
    with pytest.raises(
        BlueprintError, match=r"env\.GITHUB_TOKEN: a plain-text value where a secret"
    ):
        app.service("web", image="a", env={"GITHUB_TOKEN": "ghp_x"})


def test_sync_rules_take_one_action_or_several() -> None:
    one = Sync("src", "/srv/src", then=Restart())
    many = Sync("src", "/srv/src", then=[Run("make"), Restart()])
    assert [a.kind for a in one.then] == ["restart"]
    assert [a.kind for a in many.then] == ["run", "restart"]


@pytest.mark.parametrize(
    ("src", "dest", "message"),
    [("/abs", "/srv", "must be relative"), ("../up", "/srv", "must be relative"),
     ("src", "srv", "must be an absolute path")],
)  # fmt: skip
def test_sync_paths_are_checked(src: str, dest: str, message: str) -> None:
    with pytest.raises(BlueprintError, match=message):
        Blueprint("shop").service("api", image="a", sync=[{"src": src, "dest": dest}])


def test_health_checks_keep_their_kind() -> None:
    app = Blueprint("shop")
    api = app.service("api", image="a", ports={"http": 80}, health=Http("/healthz", port="http"))
    db = app.service("db", image="b", health=Command("pg_isready", interval=1))
    assert api.health is not None and api.health.kind == "http"
    assert db.health is not None and db.health.kind == "command" and db.health.interval == 1


def test_url_template_fields_are_checked() -> None:
    with pytest.raises(BlueprintError, match=r'unknown field "\{user\}"'):
        Blueprint("shop").service(
            "db", image="a", ports={"pg": 5432}, url_template="pg://{user}@{host}"
        )
    with pytest.raises(BlueprintError, match=r"\{env\.PASS\}, which is not in env"):
        Blueprint("shop").service(
            "db", image="a", ports={"pg": 5432}, url_template="pg://{env.PASS}@{host}"
        )


def test_url_of_a_service_without_template_points_at_the_caller() -> None:
    api = Blueprint("shop").service("api", image="a", ports={"http": 80})
    with pytest.raises(BlueprintError, match='service "api" has no url') as info:
        _ = api.url
    assert info.value.location is not None
    assert info.value.location.file == __file__


def test_port_reference_without_name_needs_a_single_port() -> None:
    app = Blueprint("shop")
    api = app.service("api", image="a", ports={"http": 80, "admin": 81})
    with pytest.raises(BlueprintError, match="has 2 ports; name one"):
        api.port()
    assert api.port("admin").port == "admin"


def test_references_refuse_f_strings() -> None:
    db = Blueprint("shop").use(postgres(password=Secret("PG")))
    with pytest.raises(TypeError, match="cannot be formatted into a string"):
        _ = f"{db.host}:5432"


def test_stock_postgres_and_redis_are_ordinary_services() -> None:
    db = postgres(version="15", database="shop", password=Secret("PG"))
    cache = redis()
    assert isinstance(db, Service) and isinstance(cache, Service)
    assert db.image == "postgres:15"
    assert db.env["POSTGRES_PASSWORD"] == Secret("PG")
    assert db.health is not None and db.health.kind == "command"
    assert db.stateful and "data" in db.volumes
    assert cache.url_template == "redis://{host}:{port}/0"


def test_stock_redis_with_password_requires_auth_in_url_and_health() -> None:
    cache = redis(password=Secret("REDIS_PASSWORD"))
    assert cache.url_template == "redis://:{env.REDIS_PASSWORD}@{host}:{port}/0"
    assert cache.command is not None and "--requirepass" in cache.command[-1]


def test_resources_refuse_limits_below_requests() -> None:
    with pytest.raises(ValueError, match=r"cpu limit 100m is below its request 0\.5"):
        Resources(cpu="0.5", cpu_limit="100m")
    assert Resources(cpu=1, memory="1Gi").cpu == "1"


def test_use_can_rename_a_stock_service() -> None:
    app = Blueprint("shop")
    db = app.use(postgres(password=Secret("PG")), name="db")
    assert db.name == "db" and set(app.services) == {"db"}


def test_capabilities_are_linux_names_kept_once_each() -> None:
    app = Blueprint("acme")
    web = app.service("web", image="nginx:1", capabilities=["cap_net_bind_service", "CHOWN"])
    assert web.capabilities == ("CHOWN", "NET_BIND_SERVICE")
    with pytest.raises(BlueprintError, match=r'capability "ALL" is not a Linux capability name'):
        app.service("all", image="nginx:1", capabilities=["ALL"])
    with pytest.raises(BlueprintError, match=r'capability "net bind" is not'):
        app.service("odd", image="nginx:1", capabilities=["net bind"])


def test_autoscale_windows_are_bounded_and_unset_ones_leave_the_plan_form_as_before() -> None:
    with pytest.raises(BlueprintError, match="scale_down_window"):
        Blueprint("shop").service("api", image="a", autoscale={"max": 3, "scale_down_window": -1})
    with pytest.raises(BlueprintError, match="scale_up_window"):
        Blueprint("shop").service("api", image="a", autoscale={"max": 3, "scale_up_window": 3601})
    plain = Autoscale(max=3)
    assert plain.model_dump(mode="json") == {"min": 1, "max": 3, "cpu": 80}  # hashes keep
    quick = Autoscale(max=3, scale_down_window=15)
    assert quick.model_dump(mode="json") == {"min": 1, "max": 3, "cpu": 80, "scale_down_window": 15}
