"""examples/shop rendered for each environment: what the issue asks of every object."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from devkit.model import Egress, Kubernetes, Port
from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.render import render
from devkit.targets.kubernetes.spec import one_off_labels
from tests.unit.render.conftest import SHOP_ENVS, container, find

INSTANCE, NAME = "app.kubernetes.io/instance", "app.kubernetes.io/name"
SERVICE = "devkit.dev/service"

SPOT_LABELS = {
    "eks.amazonaws.com/capacityType": "SPOT",
    "cloud.google.com/gke-spot": "true",
    "kubernetes.azure.com/scalesetpriority": "spot",
    "karpenter.sh/capacity-type": "spot",
}


@pytest.mark.parametrize("env", SHOP_ENVS)
def test_every_object_carries_the_recommended_labels(shop: Blueprint, env: str) -> None:
    for obj in render(plan(shop, env)).objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "devkit", obj["kind"]
        assert labels["app.kubernetes.io/part-of"] == "shop"
        assert labels["app.kubernetes.io/instance"] == f"shop-{env}"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == f"shop-{env}"


@pytest.mark.parametrize("env", SHOP_ENVS)
def test_render_twice_is_byte_identical(shop: Blueprint, env: str) -> None:
    first, second = render(plan(shop, env)), render(plan(shop, env))
    assert first.to_yaml() == second.to_yaml()
    assert first.files() == second.files()


def test_each_service_gets_its_objects(shop: Blueprint) -> None:
    objects = render(plan(shop, "prod")).objects
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Namespace", "shop-prod") in kinds
    for name in ("postgres", "redis", "api", "worker"):
        assert ("ServiceAccount", name) in kinds
    assert {("StatefulSet", "postgres"), ("StatefulSet", "redis")} <= kinds
    assert {("Deployment", "api"), ("Deployment", "worker")} <= kinds
    assert {("Service", "api"), ("Service", "postgres"), ("Service", "postgres-headless")} <= kinds
    assert ("Service", "worker") not in kinds  # no ports, nothing to reach
    assert ("Ingress", "api") in kinds  # the only public port
    assert ("NetworkPolicy", "default-deny-ingress") in kinds
    assert objects[0]["kind"] == "Namespace"


def test_service_accounts_mount_no_token(shop: Blueprint) -> None:
    objects = render(plan(shop, "staging")).objects
    for obj in objects:
        if obj["kind"] == "ServiceAccount":
            assert obj["automountServiceAccountToken"] is False
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert obj["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("env", SHOP_ENVS)
def test_pods_are_hardened(shop: Blueprint, env: str) -> None:
    for obj in render(plan(shop, env)).objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["enableServiceLinks"] is False
        context = container(obj)["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsNonRoot"] is True


def test_read_only_root_with_tmp_and_scratch_mounted(shop: Blueprint) -> None:
    objects = render(plan(shop, "prod")).objects
    postgres = find(objects, "StatefulSet", "postgres")
    main = container(postgres)
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"] == "data"  # the claim
    assert {"/tmp", "/var/run/postgresql"} <= mounts.keys()
    volumes = {v["name"]: v for v in postgres["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/tmp"]] == {"name": "dk-tmp", "emptyDir": {}}
    claim = postgres["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    security = postgres["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsUser"] == security["fsGroup"] == 999


def test_live_sync_relaxes_the_root_filesystem_only_where_it_writes(shop: Blueprint) -> None:
    local = render(plan(shop, "local")).objects
    assert (
        container(find(local, "Deployment", "api"))["securityContext"]["readOnlyRootFilesystem"]
        is False
    )  # live sync writes /srv/app
    assert (
        container(find(local, "StatefulSet", "postgres"))["securityContext"][
            "readOnlyRootFilesystem"
        ]
        is True
    )


def test_secrets_are_references_and_composed_values_use_dependent_variables(
    shop: Blueprint,
) -> None:
    objects = render(plan(shop, "prod")).objects
    api = container(find(objects, "Deployment", "api"))
    env = api["env"]
    assert env[0] == {
        "name": "DEVKIT_SECRET_SHOP_DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "SHOP_DB_PASSWORD"}},
    }
    assert env[1] == {
        "name": "DATABASE_URL",
        "value": "postgresql://shop:$(DEVKIT_SECRET_SHOP_DB_PASSWORD)@postgres:5432/shop",
    }
    postgres = container(find(objects, "StatefulSet", "postgres"))
    assert {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "shop-secrets", "key": "SHOP_DB_PASSWORD"}}} in postgres["env"]  # fmt: skip
    config = find(objects, "ConfigMap", "api-env")
    assert config["data"] == {"PORT": "8000", "REDIS_URL": "redis://redis:6379/0"}
    assert api["envFrom"] == [{"configMapRef": {"name": "api-env"}}]
    assert not any(o["kind"] == "Secret" for o in objects)


def test_probes_come_from_health_checks(shop: Blueprint) -> None:
    objects = render(plan(shop, "prod")).objects
    api = container(find(objects, "Deployment", "api"))
    assert api["readinessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http"},
        "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 3,
    }  # fmt: skip
    assert api["livenessProbe"]["failureThreshold"] == 9
    redis = container(find(objects, "StatefulSet", "redis"))
    assert redis["readinessProbe"]["exec"] == {"command": ["redis-cli", "ping"]}
    worker = container(find(objects, "Deployment", "worker"))
    assert "readinessProbe" not in worker


def test_staging_on_spot_carries_tolerations_affinity_pdb_and_spread(shop: Blueprint) -> None:
    objects = render(plan(shop, "staging")).objects
    api = find(objects, "Deployment", "api")
    pod = api["spec"]["template"]["spec"]
    assert api["spec"]["replicas"] == 2
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    found = {e["key"]: e["values"][0] for t in terms for e in t["matchExpressions"]}
    assert found == SPOT_LABELS
    assert all(e["operator"] == "In" for t in terms for e in t["matchExpressions"])
    assert {(t["key"], t["value"], t["effect"]) for t in pod["tolerations"]} == {
        ("cloud.google.com/gke-spot", "true", "NoSchedule"),
        ("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule"),
    }
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert pod["terminationGracePeriodSeconds"] == 25
    assert container(api)["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    pdb = find(objects, "PodDisruptionBudget", "api")
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": api["spec"]["selector"]["matchLabels"]},
    }


def test_stateful_services_stay_off_spot_in_staging(shop: Blueprint) -> None:
    objects = render(plan(shop, "staging")).objects
    postgres = find(objects, "StatefulSet", "postgres")["spec"]["template"]["spec"]
    term = postgres["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert len(term) == 1
    assert {e["key"]: (e["operator"], e["values"]) for e in term[0]["matchExpressions"]} == {
        key: ("NotIn", [value]) for key, value in SPOT_LABELS.items()
    }
    assert "tolerations" not in postgres
    assert not any(
        o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == "postgres" for o in objects
    )  # one replica: no budget


def test_prod_autoscales_api_without_a_fixed_replica_count(shop: Blueprint) -> None:
    objects = render(plan(shop, "prod")).objects
    api = find(objects, "Deployment", "api")
    assert "replicas" not in api["spec"]
    hpa = find(objects, "HorizontalPodAutoscaler", "api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "api",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 30)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    assert find(objects, "Deployment", "worker")["spec"]["replicas"] == 3
    assert find(objects, "PodDisruptionBudget", "api")
    assert not any(
        o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "worker"
        for o in objects
    )


def test_network_policies_admit_dependents_the_ingress_controller_and_the_scraper(
    shop: Blueprint,
) -> None:
    objects = render(plan(shop, "prod")).objects
    deny = find(objects, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    postgres = find(objects, "NetworkPolicy", "postgres")["spec"]
    assert postgres["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": labels}}
        for labels in (
            {INSTANCE: "shop-prod", SERVICE: "postgres"},
            {INSTANCE: "shop-prod", NAME: "api"},
            {INSTANCE: "shop-prod", SERVICE: "api"},
            {INSTANCE: "shop-prod", NAME: "worker"},
            {INSTANCE: "shop-prod", SERVICE: "worker"},
        )
    ]
    assert postgres["ingress"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    api = find(objects, "NetworkPolicy", "api")["spec"]["ingress"]
    assert api == [
        {
            "from": [
                {"podSelector": {"matchLabels": {INSTANCE: "shop-prod", SERVICE: "api"}}},
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
        {  # the scraper, Prometheus in "monitoring", to the metrics port
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
    ]  # fmt: skip
    assert "ingress" not in find(objects, "NetworkPolicy", "worker")["spec"]  # no ports


DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}


ISTIOD = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
            "podSelector": {"matchLabels": {"app": "istiod"}},
        }
    ],
    "ports": [{"port": 15012, "protocol": "TCP"}],
}


def _to(service: str, port: int) -> dict[str, object]:
    return {
        "to": [{"podSelector": {"matchLabels": {INSTANCE: "shop-prod", NAME: service}}}],
        "ports": [{"port": port, "protocol": "TCP"}],
    }


def test_egress_is_denied_but_dns_dependencies_and_declared_destinations(shop: Blueprint) -> None:
    """A service's pods send to DNS, istiod (prod runs Istio) and what the service depends on;
    its one-off pods to the service too; nothing else leaves the namespace."""
    objects = render(plan(shop, "prod")).objects
    deny = find(objects, "NetworkPolicy", "default-deny-egress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Egress"]}
    base = [DNS, ISTIOD]
    worker = find(objects, "NetworkPolicy", "worker")["spec"]
    assert worker["policyTypes"] == ["Egress"]
    assert worker["egress"] == [*base, _to("postgres", 5432), _to("redis", 6379)]
    api = find(objects, "NetworkPolicy", "api")["spec"]
    assert api["policyTypes"] == ["Ingress", "Egress"]
    assert api["egress"] == [*base, _to("postgres", 5432), _to("redis", 6379)]
    one_off = find(objects, "NetworkPolicy", "api-one-off")["spec"]
    assert one_off["podSelector"] == {"matchLabels": {INSTANCE: "shop-prod", SERVICE: "api"}}
    assert one_off["policyTypes"] == ["Egress"]
    assert one_off["egress"] == [
        *base, _to("api", 8000), _to("postgres", 5432), _to("redis", 6379),
    ]  # fmt: skip
    assert find(objects, "NetworkPolicy", "postgres")["spec"]["egress"] == base
    staging = render(plan(shop, "staging")).objects  # no mesh: DNS only
    assert find(staging, "NetworkPolicy", "postgres")["spec"]["egress"] == [DNS]


def _small(*, restrict_egress: bool = True) -> Blueprint:
    """db, and worker (no ports) that depends on it and calls two outside destinations."""
    app = Blueprint("eg")
    db = app.service("db", image="postgres:15", ports={"pg": Port(5432)})
    app.service(
        "worker", image="example/worker:1", depends_on=[db],
        egress=[Egress("203.0.113.0/24", 443, 8443), "198.51.100.7"],
    )  # fmt: skip
    app.environment("prod", Kubernetes(restrict_egress=restrict_egress))
    return app


def test_declared_egress_destinations_are_reached_by_the_service_and_its_one_off_pods() -> None:
    objects = render(plan(_small(), "prod")).objects
    external = [
        {
            "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}],
        },
        {"to": [{"ipBlock": {"cidr": "198.51.100.7/32"}}]},  # every port
    ]
    assert find(objects, "NetworkPolicy", "worker")["spec"]["egress"][2:] == external
    assert find(objects, "NetworkPolicy", "worker-one-off")["spec"]["egress"][2:] == external
    assert find(objects, "NetworkPolicy", "db")["spec"]["egress"] == [DNS]


def test_egress_left_open_when_the_target_says_so() -> None:
    objects = render(plan(_small(restrict_egress=False), "prod")).objects
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert set(policies) == {"default-deny-ingress", "db"}
    assert policies["db"]["policyTypes"] == ["Ingress"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("example.com", '"example.com" is not an address block'),
        ("10.0.0.1/8", '"10.0.0.1/8" has host bits set; the block is "10.0.0.0/8"'),
        (("10.0.0.0/8", 70000), "egress port 70000 is out of range"),
    ],
)
def test_egress_destinations_are_checked(given: object, message: str) -> None:
    cidr, *ports = given if isinstance(given, tuple) else (given,)
    with pytest.raises(ValidationError, match=re.escape(message)):
        Egress(str(cidr), *ports)


def test_one_off_pods_are_selected_by_the_labels_the_kubernetes_target_gives_them(
    shop: Blueprint,
) -> None:
    """Verify steps and pre-deploy jobs reach their service and what it depends on; another
    service's do not."""
    objects = render(plan(shop, "prod")).objects

    def admitted(policy: str, pod_labels: dict[str, str]) -> bool:
        sources = find(objects, "NetworkPolicy", policy)["spec"]["ingress"][0]["from"]
        return any(
            source["podSelector"]["matchLabels"].items() <= pod_labels.items() for source in sources
        )

    for role in ("verify", "job"):
        assert admitted("postgres", one_off_labels("shop-prod", role, "api"))
        assert admitted("api", one_off_labels("shop-prod", role, "api"))
        assert not admitted("redis", one_off_labels("shop-prod", role, "postgres"))
        assert not admitted("api", one_off_labels("shop-staging", role, "api"))


def test_ingress_defaults_to_nginx(shop: Blueprint) -> None:
    ingress = find(render(plan(shop, "prod")).objects, "Ingress", "api")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    rule = ingress["spec"]["rules"][0]
    assert "host" not in rule
    assert rule["http"]["paths"][0]["backend"] == {
        "service": {"name": "api", "port": {"name": "http"}}
    }


def test_images_given_win_and_build_placeholders_are_the_same_in_every_env(shop: Blueprint) -> None:
    staging = render(plan(shop, "staging")).objects
    prod = render(plan(shop, "prod")).objects
    api_image = container(find(staging, "Deployment", "api"))["image"]
    assert re.fullmatch(r"shop/api:dk-[0-9a-f]{12}", api_image)
    assert container(find(prod, "Deployment", "api"))["image"] == api_image
    assert container(find(prod, "StatefulSet", "postgres"))["image"] == "postgres:16"
    digest = "ghcr.io/acme/api@sha256:" + "a" * 64
    given = render(plan(shop, "prod"), {"api": digest}).objects
    deployment = find(given, "Deployment", "api")
    assert container(deployment)["image"] == digest
    assert "app.kubernetes.io/version" not in deployment["metadata"]["labels"]


def test_config_change_rolls_pods_but_scaling_does_not(shop: Blueprint) -> None:
    staging = find(render(plan(shop, "staging")).objects, "Deployment", "worker")
    prod = find(render(plan(shop, "prod")).objects, "Deployment", "worker")
    annotation = "devkit.dev/config-hash"
    # Same ConfigMap data in both, different replica counts: the pod template annotation agrees.
    assert (
        staging["spec"]["template"]["metadata"]["annotations"][annotation]
        == (prod["spec"]["template"]["metadata"]["annotations"][annotation])
    )
    assert (
        staging["metadata"]["annotations"]["devkit.dev/spec-hash"]
        != (prod["metadata"]["annotations"]["devkit.dev/spec-hash"])
    )
