"""Each built-in rule on an object that passes it and one that breaks it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from devkit import Blueprint, Http, Kubernetes, Policy, Resources, Secret
from devkit.model.policy import RULES
from devkit.planning.planner import plan
from devkit.policy import rules
from devkit.policy.rules import BUILT_IN, split_image
from devkit.render.manifest import render

DIGEST = "ghcr.io/acme/api@sha256:" + "a" * 64


def deployment(name: str = "api", replicas: int = 1, **container: Any) -> dict[str, Any]:
    """A Deployment as devkit renders one: hardened, sized, probed, pinned."""
    main = {
        "name": name,
        "image": DIGEST,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
        "livenessProbe": {"httpGet": {"path": "/", "port": 80}},
        **container,
    }
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "shop-prod"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop-prod", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [main],
                },
            },
        },
    }


def pdb(name: str = "api") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "shop-prod"}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "shop-prod"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def broken(change: Any) -> dict[str, Any]:
    obj = copy.deepcopy(deployment())
    change(obj)
    return obj


def violations(rule: str, objects: list[dict[str, Any]], policy: Policy | None = None) -> list[str]:
    return [v.message for v in BUILT_IN[rule](objects, policy or Policy())]


def test_every_rule_the_model_names_has_a_function() -> None:
    assert set(BUILT_IN) == set(RULES)


def test_a_hardened_deployment_passes_every_rule() -> None:
    strict = Policy(min_replicas=1, registries=["ghcr.io/acme"])
    chosen, found = rules.apply([deployment()], strict)
    assert chosen == list(RULES)
    assert found == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda o: container(o)["securityContext"].update(privileged=True), "runs privileged"),
        (
            lambda o: container(o)["securityContext"].pop("allowPrivilegeEscalation"),
            "allowPrivilegeEscalation: false",
        ),
        (
            lambda o: (
                container(o)["securityContext"].pop("runAsNonRoot"),
                pod(o)["securityContext"].pop("runAsNonRoot"),
            ),
            "runAsNonRoot: true",
        ),
        (lambda o: pod(o)["securityContext"].update(runAsUser=0), "runs as uid 0"),
        (lambda o: pod(o)["securityContext"].pop("seccompProfile"), "seccomp"),
        (
            lambda o: container(o)["securityContext"]["capabilities"].update(drop=[]),
            "does not drop ALL",
        ),
        (
            lambda o: container(o)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
            "adds capabilities NET_ADMIN",
        ),
        (
            lambda o: pod(o).update(volumes=[{"name": "share", "nfs": {"server": "x"}}]),
            'volume "share" is of type nfs',
        ),
    ],
)
def test_pod_security_refuses_what_restricted_refuses(change: Any, expected: str) -> None:
    assert violations("pod-security", [deployment()]) == []
    found = violations("pod-security", [broken(change)])
    assert len(found) == 1 and expected in found[0]


def test_pod_security_admits_net_bind_service() -> None:
    obj = broken(lambda o: container(o)["securityContext"]["capabilities"].update(add=["NET_BIND_SERVICE"]))  # fmt: skip
    assert violations("pod-security", [obj]) == []


def test_resources_need_cpu_and_memory_requests_and_a_memory_limit() -> None:
    assert violations("resources", [deployment()]) == []
    obj = broken(lambda o: container(o)["resources"].pop("limits"))
    assert violations("resources", [obj]) == ['container "api" sets no limits.memory']
    bare = broken(lambda o: container(o).pop("resources"))
    assert "requests.cpu, requests.memory, limits.memory" in violations("resources", [bare])[0]


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        (DIGEST, True),
        ("127.0.0.1:5000/shop-api:dk-0123456789ab", True),
        ("ghcr.io/acme/api:1.4@sha256:" + "b" * 64, True),
        ("postgres:16", False),
        ("ghcr.io/acme/api", False),
        ("ghcr.io/acme/api:dk-latest", False),
    ],
)
def test_mutable_tags_are_refused_digests_and_build_tags_are_not(image: str, ok: bool) -> None:
    obj = deployment(image=image)
    assert (violations("mutable-tag", [obj]) == []) is ok


def test_image_references_split_with_docker_hubs_defaults() -> None:
    assert split_image("postgres:16") == ("docker.io", "library/postgres", "16", None)
    assert split_image("bitnami/redis") == ("docker.io", "bitnami/redis", None, None)
    assert split_image("127.0.0.1:5000/shop-api:dk-1@sha256:9") == (
        "127.0.0.1:5000", "shop-api", "dk-1", "sha256:9",
    )  # fmt: skip
    assert split_image("localhost/app") == ("localhost", "app", None, None)


def test_registries_allow_only_the_named_ones_and_paths_below_them() -> None:
    allowed = Policy(registries=["ghcr.io/acme", "docker.io/library"])
    assert violations("registries", [deployment()], allowed) == []
    assert violations("registries", [deployment(image="postgres:16")], allowed) == []
    elsewhere = deployment(image="ghcr.io/acme-evil/api@sha256:" + "c" * 64)
    found = violations("registries", [elsewhere], allowed)
    assert len(found) == 1 and "from ghcr.io, which the environment does not allow" in found[0]
    assert violations("registries", [elsewhere], Policy()) == []  # no list: any registry


def test_host_ports_paths_and_namespaces_are_refused() -> None:
    assert violations("host-access", [deployment()]) == []
    port = deployment(ports=[{"containerPort": 80, "hostPort": 8080}])
    assert violations("host-access", [port]) == ['container "api" publishes host port 8080']
    path = broken(lambda o: pod(o).update(volumes=[{"name": "d", "hostPath": {"path": "/var"}}]))
    assert violations("host-access", [path]) == ['volume "d" mounts host path /var']
    net = broken(lambda o: pod(o).update(hostNetwork=True, hostPID=True))
    assert len(violations("host-access", [net])) == 2


def test_long_running_services_need_probes_jobs_do_not() -> None:
    assert violations("probes", [deployment()]) == []
    obj = broken(lambda o: container(o).pop("livenessProbe"))
    assert violations("probes", [obj])[0].startswith('container "api" has no livenessProbe')
    job = {
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": DIGEST}]}}},
    }
    assert violations("probes", [job]) == []


def test_several_replicas_need_a_disruption_budget_selecting_them() -> None:
    assert violations("disruption-budget", [deployment(replicas=1)]) == []
    assert violations("disruption-budget", [deployment(replicas=3), pdb()]) == []
    found = violations("disruption-budget", [deployment(replicas=3), pdb("other")])
    assert len(found) == 1 and "runs up to 3 replicas" in found[0]


def test_an_autoscaled_workload_counts_its_autoscalers_range() -> None:
    scaled = broken(lambda o: o["spec"].pop("replicas"))
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api", "namespace": "shop-prod"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "minReplicas": 2,
                 "maxReplicas": 10},
    }  # fmt: skip
    assert len(violations("disruption-budget", [scaled, hpa])) == 1
    assert violations("min-replicas", [scaled, hpa], Policy(min_replicas=2)) == []
    assert len(violations("min-replicas", [scaled, hpa], Policy(min_replicas=3))) == 1


def test_a_minimum_replica_count_applies_to_stateless_workloads() -> None:
    floor = Policy(min_replicas=3)
    assert violations("min-replicas", [deployment(replicas=3)], floor) == []
    assert violations("min-replicas", [deployment(replicas=1)], Policy()) == []  # no floor
    found = violations("min-replicas", [deployment(replicas=1)], floor)
    assert found == [
        "runs 1 replica; the environment requires at least 3 (set replicas= or autoscale min "
        "on the service or the environment)"
    ]
    stateful = broken(lambda o: o.update(kind="StatefulSet"))
    assert violations("min-replicas", [stateful], floor) == []


def test_secrets_only_by_reference() -> None:
    by_reference = deployment(
        env=[
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "DATABASE_URL", "value": "postgresql://u:$(DEVKIT_SECRET_P)@db/shop"},
        ]
    )
    assert violations("secret-references", [by_reference]) == []
    literal = deployment(env=[{"name": "API_TOKEN", "value": "abc123"}])
    assert "API_TOKEN looks like a secret" in violations("secret-references", [literal])[0]
    config = {
        "kind": "ConfigMap",
        "metadata": {"name": "api-env"},
        "data": {"PORT": "8000", "DATABASE_URL": "postgresql://shop:hunter2@db/shop"},
    }
    found = violations("secret-references", [config])
    assert len(found) == 1 and "DATABASE_URL holds a URL with a password" in found[0]
    secret = {"kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "dg=="}}
    assert len(violations("secret-references", [secret])) == 1


def shop(policy: Policy | None = None, **api: Any) -> Blueprint:
    app = Blueprint("shop")
    fields: dict[str, Any] = {
        "image": "ghcr.io/acme/api:1.4",
        "health": Http("/healthz", port="http"),
        "resources": Resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
        "ports": {"http": 8000},
        "env": {"TOKEN": Secret("API_TOKEN")},
    }
    app.service("api", **{**fields, **api})
    app.environment("prod", Kubernetes(), policy=policy, replicas=3)
    return app


def test_devkits_own_rendering_passes_every_rule_once_images_are_pinned() -> None:
    planned = plan(shop(Policy(min_replicas=3, registries=["ghcr.io/acme"])), "prod")
    objects = render(planned, {"api": DIGEST}).objects
    _, found = rules.apply(objects, planned.policy or Policy())
    assert found == []


def test_a_policy_names_only_known_rules() -> None:
    with pytest.raises(ValidationError, match='unknown rule "probe"; built-in rules: '):
        Policy(disable=["probe"])
    assert Policy(disable="probes").disable == ("probes",)
    with pytest.raises(ValidationError, match="is not a registry"):
        Policy(registries=["https://ghcr.io"])
