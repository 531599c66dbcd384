"""Render of hand-made blueprints: the edges of what can and cannot be rendered."""

from __future__ import annotations

import pytest

from devkit import (
    Autoscale,
    Blueprint,
    Command,
    Docker,
    Http,
    Ingress,
    Kubernetes,
    Port,
    Resources,
    Scraper,
    Secret,
    Tcp,
    Uptime,
    Volume,
)
from devkit.errors import KubeVersionError, RenderError
from devkit.planning.planner import plan
from devkit.profiles import on_demand, spot
from devkit.render import render
from devkit.render.version import DEFAULT
from tests.unit.render.conftest import container, find


def one(**fields: object) -> Blueprint:
    app = Blueprint("acme")
    app.service("web", image="nginx:1.27", **fields)  # type: ignore[arg-type]
    app.environment("k", Kubernetes())
    return app


def test_pre_stop_uses_sleep_from_1_30_and_a_command_before() -> None:
    app = one(replicas=2)
    app.environment("spot", Kubernetes(), profile=spot())
    new = container(
        find(render(plan(app, "spot"), kube_version="1.30").objects, "Deployment", "web")
    )
    old = container(
        find(render(plan(app, "spot"), kube_version="1.29").objects, "Deployment", "web")
    )
    assert new["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert old["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}


def test_prefer_spot_with_fallback_is_a_preference_not_a_requirement() -> None:
    app = one()
    app.environment("cheap", Kubernetes(), profile=spot(provider="gke", fallback=True))
    pod = find(render(plan(app, "cheap")).objects, "Deployment", "web")["spec"]["template"]["spec"]
    affinity = pod["affinity"]["nodeAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {
            "weight": 100,
            "preference": {
                "matchExpressions": [
                    {"key": "cloud.google.com/gke-spot", "operator": "In", "values": ["true"]}
                ]
            },
        }
    ]
    assert pod["tolerations"] == [
        {
            "key": "cloud.google.com/gke-spot",
            "operator": "Equal",
            "value": "true",
            "effect": "NoSchedule",
        }
    ]


def test_eks_only_spot_needs_no_toleration() -> None:
    app = one()
    app.environment("eks", Kubernetes(), profile=spot(provider="eks"))
    pod = find(render(plan(app, "eks")).objects, "Deployment", "web")["spec"]["template"]["spec"]
    assert "tolerations" not in pod
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {
        "nodeSelectorTerms": [
            {"matchExpressions": [
                {"key": "eks.amazonaws.com/capacityType", "operator": "In", "values": ["SPOT"]}]}
        ]
    }  # fmt: skip


def test_on_demand_pins_off_spot_for_the_chosen_provider() -> None:
    app = one()
    app.environment("prod", Kubernetes(), profile=on_demand(provider="karpenter"))
    pod = find(render(plan(app, "prod")).objects, "Deployment", "web")["spec"]["template"]["spec"]
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [
            {"matchExpressions": [
                {"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["spot"]}]}
        ]
    }  # fmt: skip
    assert "terminationGracePeriodSeconds" not in pod


def test_uptime_schedule_renders_the_downscaler_annotation() -> None:
    app = one()
    schedule = Uptime("Mon-Fri", "08:00", stop="18:30", timezone="Europe/Berlin")
    app.environment("dev", Kubernetes(), profile=spot(uptime=schedule))
    namespace = find(render(plan(app, "dev")).objects, "Namespace", "acme-dev")
    assert namespace["metadata"]["annotations"] == {
        "downscaler/uptime": "Mon-Fri 08:00-18:30 Europe/Berlin"
    }


def test_a_service_with_volumes_is_a_stateful_set_with_its_own_claims() -> None:
    app = one(volumes={"cache": Volume("/var/cache/nginx", size="2Gi")})
    objects = render(plan(app, "k")).objects
    web = find(objects, "StatefulSet", "web")
    assert web["spec"]["serviceName"] == "web-headless"
    assert find(objects, "Service", "web-headless")["spec"]["clusterIP"] == "None"
    assert web["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "2Gi"
    }


def test_read_only_root_filesystem_can_be_opted_out() -> None:
    app = one(read_only_root_filesystem=False)
    web = container(find(render(plan(app, "k")).objects, "Deployment", "web"))
    assert web["securityContext"]["readOnlyRootFilesystem"] is False
    assert "volumeMounts" not in web  # no /tmp needed when the root is writable


def test_image_pull_secrets_named_by_the_target_are_in_every_pod_and_schema_valid() -> None:
    from devkit.schemas import resolve, validate

    app = one(volumes={"data": "/data"})
    app.service("api", image="registry.example.com/api:1")
    app.environment("private", Kubernetes(image_pull_secrets=("regcred", "mirror-cred")))
    objects = render(plan(app, "private")).objects
    validate(objects, resolve(DEFAULT))
    for kind, name in (("StatefulSet", "web"), ("Deployment", "api")):
        pod = find(objects, kind, name)["spec"]["template"]["spec"]
        assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror-cred"}]
    plain = find(render(plan(app, "k")).objects, "Deployment", "api")["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in plain


def test_service_account_token_only_when_asked() -> None:
    app = one(service_account_token=True)
    objects = render(plan(app, "k")).objects
    assert find(objects, "ServiceAccount", "web")["automountServiceAccountToken"] is True
    pod = find(objects, "Deployment", "web")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True


def test_tcp_check_start_period_and_command_become_probes_and_args() -> None:
    app = one(
        ports={"redis": 6379},
        command=["redis-server", "--port", "6379"],
        health=Tcp("redis", interval=0.5, timeout=1.5, retries=2, start_period=30),
    )
    web = container(find(render(plan(app, "k")).objects, "Deployment", "web"))
    assert web["args"] == ["redis-server", "--port", "6379"]
    assert "command" not in web  # the image's entrypoint stays, as with Docker's CMD
    assert web["readinessProbe"] == {
        "tcpSocket": {"port": "redis"}, "periodSeconds": 1, "timeoutSeconds": 2,
        "failureThreshold": 2,
    }  # fmt: skip
    assert web["startupProbe"]["failureThreshold"] == 30 + 2


def test_dollar_in_a_composed_value_is_escaped() -> None:
    app = one(env={"DSN": "x"})
    app.service(
        "job", image="busybox:1",
        env={"TOKEN_URL": Secret("TOKEN")},
    )  # fmt: skip
    objects = render(plan(app, "k")).objects
    job = container(find(objects, "Deployment", "job"))
    assert job["env"] == [
        {
            "name": "TOKEN_URL",
            "valueFrom": {"secretKeyRef": {"name": "acme-secrets", "key": "TOKEN"}},
        }
    ]
    db = Blueprint("acme")
    db.service(
        "db", image="postgres:16", ports={"pg": 5432}, env={"PASSWORD": Secret("PW")},
        url_template="postgresql://u:{env.PASSWORD}@{host}:{port}/a$b",
    )  # fmt: skip
    db.service("app", image="app:1", env={"URL": db.services["db"].url}, depends_on=["db"])
    db.environment("k", Kubernetes())
    entry = container(find(render(plan(db, "k")).objects, "Deployment", "app"))["env"][1]
    assert entry == {"name": "URL", "value": "postgresql://u:$(DEVKIT_SECRET_PW)@db:5432/a$$b"}


def test_ingress_class_and_domain_are_configurable() -> None:
    app = Blueprint("acme")
    app.service("web", image="nginx:1", ports={"http": Port(80, public=True)})
    app.service(
        "admin", image="admin:1",
        ports={"http": Port(80, public=True), "metrics": Port(9100, public=True)},
    )  # fmt: skip
    app.environment(
        "k",
        Kubernetes(ingress=Ingress(class_name="traefik", namespace="traefik", domain="acme.dev")),
    )
    objects = render(plan(app, "k")).objects
    web = find(objects, "Ingress", "web")["spec"]
    assert web["ingressClassName"] == "traefik"
    assert [r["host"] for r in web["rules"]] == ["web.acme.dev"]
    admin = find(objects, "Ingress", "admin")["spec"]
    assert [r["host"] for r in admin["rules"]] == ["http.admin.acme.dev", "metrics.admin.acme.dev"]
    policy = find(objects, "NetworkPolicy", "web")["spec"]["ingress"][1]["from"][0]
    assert policy == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}
    }


def test_the_metrics_scraper_namespace_reaches_only_the_ports_it_scrapes() -> None:
    app = Blueprint("acme")
    app.service("web", image="web:1", ports={"http": Port(80, public=True), "metrics": Port(9100)})
    app.service("db", image="db:1", ports={"sql": Port(5432)}, stateful=True)
    app.environment("k", Kubernetes(scraper=Scraper(namespace="monitoring")))
    objects = render(plan(app, "k")).objects
    web = find(objects, "NetworkPolicy", "web")["spec"]["ingress"]
    assert web[2] == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "ports": [{"port": 9100, "protocol": "TCP"}],
    }
    assert web[1]["ports"] == [{"port": 80, "protocol": "TCP"}]  # the entry point: public only
    db = find(objects, "NetworkPolicy", "db")["spec"]["ingress"]
    assert len(db) == 1 and "namespaceSelector" not in str(db)  # no port named "metrics"


def test_several_public_ports_without_a_domain_are_refused() -> None:
    app = Blueprint("acme")
    app.service("web", image="nginx:1", ports={"http": Port(80, public=True)})
    app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
    app.environment("k", Kubernetes())
    with pytest.raises(
        RenderError, match=r"2 public ports \(api.http, web.http\) would share"
    ) as info:
        render(plan(app, "k"))
    assert info.value.exit_code == 2
    assert "Ingress(domain=" in info.value.render()


def test_public_udp_port_is_refused() -> None:
    app = one(ports={"dns": Port(53, protocol="udp", public=True)})
    with pytest.raises(RenderError, match='public port "dns" is udp'):
        render(plan(app, "k"))


def test_port_name_kubernetes_cannot_take_is_refused() -> None:
    app = one(ports={"HTTP_main": 80})
    with pytest.raises(RenderError, match='port name "HTTP_main" cannot be a Kubernetes port name'):
        render(plan(app, "k"))


def test_a_name_kubernetes_services_cannot_have_is_refused() -> None:
    app = Blueprint("acme")
    app.service("3d", image="render:1", ports={"http": 80})
    app.environment("k", Kubernetes())
    with pytest.raises(RenderError, match='service "3d": a Kubernetes object name must start'):
        render(plan(app, "k"))


def test_autoscale_from_zero_keeps_one_replica_as_an_hpa_must() -> None:
    app = one(autoscale=Autoscale(min=0, max=3), resources=Resources(cpu="100m"))
    hpa = find(render(plan(app, "k")).objects, "HorizontalPodAutoscaler", "web")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert "behavior" not in hpa["spec"]  # no windows declared: the cluster's defaults


def test_autoscale_windows_render_as_the_autoscalers_behavior() -> None:
    scale = Autoscale(max=3, cpu=50, scale_down_window=15, scale_up_window=0)
    app = one(autoscale=scale, resources=Resources(cpu="100m"))
    hpa = find(render(plan(app, "k")).objects, "HorizontalPodAutoscaler", "web")
    assert hpa["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0},
        "scaleDown": {"stabilizationWindowSeconds": 15},
    }
    down_only = one(autoscale=Autoscale(max=3, scale_down_window=30), resources=Resources(cpu="1"))
    hpa = find(render(plan(down_only, "k")).objects, "HorizontalPodAutoscaler", "web")
    assert hpa["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 30}}


def test_image_for_an_unknown_service_is_refused() -> None:
    with pytest.raises(RenderError, match='an image is given for "wbe"'):
        render(plan(one(), "k"), {"wbe": "nginx:1"})
    with pytest.raises(RenderError, match='"not an image" is not an image reference'):
        render(plan(one(), "k"), {"web": "not an image"})


def test_malformed_kube_version() -> None:
    with pytest.raises(KubeVersionError, match=r'"1\.x"'):
        render(plan(one(), "k"), kube_version="1.x")


def test_docker_environments_render_too_with_a_default_namespace() -> None:
    app = one(health=Command("true"), ports={"http": Port(80, host=8080)})
    app.environment("local", Docker())
    manifest = render(plan(app, "local"))
    assert manifest.namespace == "acme-local"
    assert find(manifest.objects, "Service", "web")["spec"]["ports"][0]["port"] == 80


def test_http_check_on_named_port() -> None:
    app = one(ports={"http": 80}, health=Http("/ready", port="http"))
    web = container(find(render(plan(app, "k")).objects, "Deployment", "web"))
    assert web["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_declared_capabilities_are_added_and_only_those_restricted_pods_admit() -> None:
    app = one(capabilities=["NET_BIND_SERVICE"])
    web = container(find(render(plan(app, "k")).objects, "Deployment", "web"))
    assert web["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    with pytest.raises(RenderError, match=r'"web": capabilities SYS_PTRACE cannot be added'):
        render(plan(one(capabilities=["SYS_PTRACE"]), "k"))
