"""The stock blueprints plan to ordinary services: images by version, health checks, URLs,
sizing; bad arguments are refused with the blueprint and the field named."""

from __future__ import annotations

import pytest

from blueprints import minio, nginx, postgres, rabbitmq, redis, web_service
from devkit import Blueprint, BlueprintError, Build, Docker, Http, Secret, plan
from devkit.planning.images import ImageMap
from devkit.planning.planner import show_env
from devkit.render.healthcheck import healthcheck


def planned(*services, env: str = "local"):
    app = Blueprint("demo")
    for service in services:
        app.use(service)
    app.environment("local", Docker())
    return plan(app, env)


@pytest.mark.parametrize(
    ("service", "image"),
    [
        (postgres(version="15"), "postgres:15"),
        (redis(version="7.2"), "redis:7.2"),
        (rabbitmq(version="3.13"), "rabbitmq:3.13"),
        (minio(version="RELEASE.2025-04-22T22-12-26Z"), "minio/minio:RELEASE.2025-04-22T22-12-26Z"),
        (nginx(version="1.27"), "nginx:1.27"),
    ],
)
def test_version_picks_the_image_tag_the_image_map_can_substitute(service, image) -> None:
    assert service.image == image
    local = ImageMap.from_rules({image: "devkit-local/substitute:1"})
    assert local.resolve(service.image) == "devkit-local/substitute:1"


def test_every_stock_blueprint_declares_health_resources_and_a_url() -> None:
    app = Blueprint("demo")
    api = app.use(web_service("api", image="ghcr.io/acme/api:1"))
    for service in (postgres(), redis(), rabbitmq(), minio(), nginx(proxy=api)):
        app.use(service)
    app.environment("local", Docker())
    result = plan(app, "local")
    for service in result.services:
        assert service.health is not None, service.name
        assert service.resources is not None and service.resources.memory_limit, service.name
        assert healthcheck(service.health, service) is not None
    for name in ("postgres", "redis", "rabbitmq", "minio", "nginx", "api"):
        assert app.services[name].url_template, name


def test_rabbitmq_url_is_amqp_with_the_vhost_encoded_and_the_password_masked() -> None:
    app = Blueprint("demo")
    mq = app.use(rabbitmq(user="shop", password=Secret("MQ_PASSWORD"), vhost="/"))
    app.service("api", image="api:1", env={"AMQP_URL": mq.url})
    app.environment("local", Docker())
    url = plan(app, "local").service("api").env["AMQP_URL"]
    assert show_env(url) == "amqp://shop:****@rabbitmq:5672/%2F"
    broker = plan(app, "local").service("rabbitmq")
    assert broker.secrets == ("MQ_PASSWORD",)
    assert broker.stateful and broker.volumes["data"].path == "/var/lib/rabbitmq"
    assert broker.health is not None and broker.health.kind == "command"


def test_rabbitmq_refuses_a_vhost_that_cannot_be_named_in_a_url() -> None:
    with pytest.raises(BlueprintError, match=r'rabbitmq "rabbitmq": vhost "a b" is not a usable'):
        rabbitmq(vhost="a b")


def test_minio_serves_s3_and_console_with_a_readiness_check() -> None:
    server = planned(minio()).service("minio")
    assert server.ports["s3"].container == 9000 and server.ports["console"].container == 9001
    assert server.health == Http("/minio/health/ready", port="s3")
    assert server.command == ("server", "/data", "--address", ":9000", "--console-address", ":9001")
    assert show_env(server.env["MINIO_ROOT_PASSWORD"]) == "****"


def test_minio_refuses_an_access_key_it_would_refuse_itself() -> None:
    with pytest.raises(BlueprintError, match=r'minio "minio": user "ab" must be 3 to 128'):
        minio(user="ab")


def test_nginx_proxy_depends_on_its_upstream_and_resolves_its_address() -> None:
    app = Blueprint("demo")
    api = app.use(web_service("api", image="api:1", port=9000))
    app.use(nginx(proxy=api))
    app.environment("local", Docker())
    proxy = plan(app, "local").service("nginx")
    assert proxy.depends_on == ("api",)
    assert proxy.env["NGINX_UPSTREAM_HOST"] == "api"
    assert proxy.env["NGINX_UPSTREAM_PORT"] == "9000"
    assert "proxy_pass http://@UPSTREAM_HOST@:@UPSTREAM_PORT@;" in str(proxy.env["NGINX_CONF"])
    assert proxy.health == Http("/nginx-health", port="http")
    assert proxy.ports["http"].public


def test_nginx_static_site_serves_the_image_files() -> None:
    site = planned(nginx(name="site", build=Build("site"))).service("site")
    assert site.image is None and site.build == Build("site")
    conf = str(site.env["NGINX_CONF"])
    assert "root /usr/share/nginx/html;" in conf and "proxy_pass" not in conf


def test_nginx_proxy_to_a_service_with_several_ports_must_name_one() -> None:
    app = Blueprint("demo")
    api = app.service("api", image="api:1", ports={"http": 8000, "admin": 9000})
    with pytest.raises(BlueprintError, match=r'service "api" has 2 ports; name one'):
        nginx(proxy=api)
    with pytest.raises(BlueprintError, match=r'reference to port "web" of service "api"'):
        nginx(proxy=api, proxy_port="web")
    assert nginx(proxy=api, proxy_port="admin").env["NGINX_UPSTREAM_PORT"].port == "admin"


def test_nginx_refuses_proxy_and_static_site_at_once() -> None:
    api = web_service("api", image="api:1")
    with pytest.raises(BlueprintError, match=r"give proxy= .* or build= .*, not both"):
        nginx(proxy=api, build=Build("site"))
    with pytest.raises(BlueprintError, match=r"proxy= takes a service"):
        nginx(proxy="api")  # type: ignore[arg-type]


def test_web_service_has_an_http_port_health_check_and_url() -> None:
    app = Blueprint("demo")
    db = app.use(postgres())
    api = app.use(web_service("api", build=Build("api"), env={"DATABASE_URL": db.url}))
    app.service("client", image="c:1", env={"API": api.url})
    app.environment("local", Docker())
    result = plan(app, "local")
    assert result.service("client").env["API"] == "http://api:8000"
    assert result.service("api").health == Http("/healthz", port="http")
    assert result.service("api").env["PORT"] == "8000"
    assert not result.service("api").stateful


def test_web_service_takes_a_custom_check_or_none() -> None:
    assert web_service("a", image="a:1", health=None).health is None
    assert web_service("a", image="a:1", health="/ready").health == Http("/ready", port="http")


def test_web_service_errors_name_the_service_and_field() -> None:
    with pytest.raises(
        BlueprintError, match=r'service "api": give exactly one of image= or build='
    ):
        web_service("api")
    with pytest.raises(
        BlueprintError, match=r'service "api": ports.http: port 70000 is out of range'
    ):
        web_service("api", image="a:1", port=70000)
