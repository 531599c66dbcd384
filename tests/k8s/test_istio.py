"""Istio objects checked by a real API server: the testbed has the upstream Istio CRDs
(testbed/build-istio.sh, installed by testbed/istio.sh when the cluster comes up) and no Istio
control plane nor Envoy (which cannot be had here), so devkit's VirtualServices,
DestinationRules and PeerAuthentications are applied by server-side dry-run with strict field
validation (`kubectl apply --server-side --dry-run=server --validate=strict`, which sends
`fieldValidation=Strict`): rendered and validated by a real API server, traffic not exercised.

These tests need only the API server: their fixture brings the cluster up (or finds it up) with
`cluster.sh up`, as the session fixture does, but runs no kwok and leaves every namespace but its
own alone when it ends.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from devkit import Blueprint, CircuitBreaker, ConnectionPool, Kubernetes, Port, Route, schemas
from devkit.planning.planner import plan
from devkit.project.load import load_blueprint
from devkit.render import emit, render
from tests.conftest import SHOP
from tests.k8s.conftest import TEST_LABEL, _env, cluster_sh, wait_for
from tests.unit.render.conftest import find

pytestmark = [pytest.mark.k8s]
ISTIO_KINDS = ("PeerAuthentication", "DestinationRule", "VirtualService")


@dataclass(frozen=True)
class ApiServer:
    kubeconfig: Path
    kubectl_bin: Path
    api: client.ApiClient

    def kubectl(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), "--request-timeout=30s",
             *args],
            input=stdin, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip

    def dry_run(self, objects: Sequence[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
        """Server-side apply, dry run, strict field validation: the server's verdict, nothing
        stored."""
        return self.kubectl(
            "apply", "--server-side", "--dry-run=server", "--validate=strict",
            "--field-manager=devkit", "-f", "-", stdin=emit.dump_all(objects, "dry run"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def api_server() -> Iterator[ApiServer]:
    env = _env(cluster_sh("up", timeout=900))
    api = config.new_client_from_config(config_file=env["KUBECONFIG"])
    yield ApiServer(Path(env["KUBECONFIG"]), Path(env["KUBECTL"]), api)
    api.close()
    if env["CLUSTER_CREATED"] == "1" and os.environ.get("DEVKIT_TESTBED_KEEP") != "1":
        cluster_sh("down", timeout=300)


@pytest.fixture
def own_namespace(api_server: ApiServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of this test's own (a dry run of a namespaced object needs its namespace to
    exist), deleted afterwards."""
    core = client.CoreV1Api(api_server.api)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: "1"}))
    )
    yield name
    core.delete_namespace(name)


def mesh_blueprint(namespace: str) -> Blueprint:
    app = Blueprint("meshy")
    db = app.service("db", image="db:1", ports={"pg": 5432}, stateful=True,
                     connection_pool=ConnectionPool(max_connections=20, connect_timeout=2))  # fmt: skip
    app.service(
        "api",
        image="api:1",
        ports={
            "http": Port(8000, routes=[Route(hosts="shop.example.com", paths=("/api", "/v2"),
                                             timeout=1.5, retries=2),
                                       Route(hosts="shop.example.com", paths="/old",
                                             backend="legacy")]),
            "admin": 9000,
        },
        depends_on=[db],
        circuit_breaker=CircuitBreaker(errors=3, interval=5, ejection=60, max_ejected_percent=50),
        connection_pool=ConnectionPool(
            max_connections=100, max_pending_requests=10, max_requests=200,
            max_requests_per_connection=20, max_retries=3, idle_timeout=300,
        ),
    )  # fmt: skip
    app.environment("prod", Kubernetes(mesh="istio", namespace=namespace))
    return app


def served(output: str) -> set[tuple[str, str]]:
    """(kind, name) of each object kubectl reports as applied in the dry run."""
    found = set()
    for line in output.splitlines():
        match = re.match(r"^(\w+)\.?[\w.]*/(\S+) serverside-applied \(server dry run\)$", line)
        if match:
            found.add((match[1], match[2]))
    return found


def istio_objects_stored(api_server: ApiServer, namespace: str) -> str:
    kinds = "virtualservices.networking.istio.io,destinationrules.networking.istio.io," \
            "peerauthentications.security.istio.io"  # fmt: skip
    listed = api_server.kubectl("get", kinds, "-n", namespace, "-o", "name")
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


def test_a_blueprints_istio_objects_pass_the_servers_strict_dry_run(
    api_server: ApiServer, own_namespace: str
) -> None:
    manifest = render(plan(mesh_blueprint(own_namespace), "prod"))
    kinds = [o["kind"] for o in manifest.objects]
    assert kinds.count("DestinationRule") == 2 and kinds.count("VirtualService") == 1
    started = time.monotonic()
    result = api_server.dry_run(manifest.objects)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning
    assert served(result.stdout) == {
        (o["kind"].lower(), o["metadata"]["name"]) for o in manifest.objects
    }  # every object, core ones too
    assert istio_objects_stored(api_server, own_namespace) == ""  # a dry run stores nothing
    print(f"dry run of {len(manifest.objects)} objects: {took:.2f} s")


def test_the_shops_prod_render_passes_the_servers_strict_dry_run(
    api_server: ApiServer, own_namespace: str
) -> None:
    planned = plan(load_blueprint(SHOP), "prod").model_copy(update={"namespace": own_namespace})
    manifest = render(planned)
    assert {o["kind"] for o in manifest.objects} >= set(ISTIO_KINDS)
    result = api_server.dry_run(manifest.objects)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert {("virtualservice", "api"), ("destinationrule", "api"),
            ("peerauthentication", "default")} <= served(result.stdout)  # fmt: skip


def wrong(objects: Sequence[dict[str, Any]], kind: str, name: str, mutate: Any) -> dict[str, Any]:
    obj = copy.deepcopy(find(objects, kind, name))
    mutate(obj)
    return obj


def test_a_wrong_istio_object_is_refused_by_the_server_and_by_devkit(
    api_server: ApiServer, own_namespace: str
) -> None:
    """Each wrong object is refused by a server-side apply (devkit's own way of applying) and by
    a create with fieldValidation=Strict, and devkit's schemas name the same field."""
    objects = render(plan(mesh_blueprint(own_namespace), "prod")).objects
    namespace = objects[0]
    cases = [
        (  # an unknown field
            wrong(objects, "VirtualService", "api",
                  lambda o: o["spec"]["http"][0].update(timeoutz="3s")),
            ".spec.http[0].timeoutz: field not declared in schema",
            'strict decoding error: unknown field "spec.http[0].timeoutz"',
            "spec.http[0]: Additional properties are not allowed ('timeoutz' was unexpected)",
        ),
        (  # a wrong type
            wrong(objects, "DestinationRule", "api",
                  lambda o: o["spec"]["trafficPolicy"]["outlierDetection"].update(
                      consecutive5xxErrors="five")),
            ".spec.trafficPolicy.outlierDetection.consecutive5xxErrors: expected numeric (int or "
            "float), got string",
            "spec.trafficPolicy.outlierDetection.consecutive5xxErrors in body must be of type "
            "integer",
            "spec.trafficPolicy.outlierDetection.consecutive5xxErrors: 'five' is not of type "
            "'integer', 'null'",
        ),
        (  # a value outside the enum
            wrong(objects, "PeerAuthentication", "default",
                  lambda o: o["spec"]["mtls"].update(mode="STRICTEST")),
            'spec.mtls.mode: Unsupported value: "STRICTEST"',
            'spec.mtls.mode: Unsupported value: "STRICTEST"',
            "spec.mtls.mode: 'STRICTEST' is not one of ['UNSET', 'DISABLE', 'PERMISSIVE', "
            "'STRICT']",
        ),
    ]  # fmt: skip
    for obj, apply_says, create_says, devkit_says in cases:
        applied = api_server.dry_run([namespace, obj])
        assert applied.returncode != 0, (obj["kind"], applied.stdout)
        assert apply_says in applied.stderr, applied.stderr
        created = api_server.kubectl(
            "create", "--dry-run=server", "--validate=strict", "-f", "-",
            stdin=emit.dump_all([obj], "dry run"),
        )  # fmt: skip
        assert created.returncode != 0, (obj["kind"], created.stdout)
        assert create_says in created.stderr, created.stderr
        assert schemas.problems(obj, schemas.resolve("1.37")) == [devkit_says]
    assert istio_objects_stored(api_server, own_namespace) == ""

    # Without strict validation the server would drop the unknown field and accept the object:
    # the check above is the strictness, not the CRD alone.
    unknown = cases[0][0]
    lenient = api_server.kubectl(
        "create", "--dry-run=server", "--validate=false", "-o", "yaml", "-f", "-",
        stdin=emit.dump_all([unknown], "dry run"),
    )  # fmt: skip
    assert lenient.returncode == 0, lenient.stderr
    assert "timeoutz" not in lenient.stdout


def test_the_istio_crds_are_installed_and_established(api_server: ApiServer) -> None:
    ext = client.ApiextensionsV1Api(api_server.api)
    for name in ("virtualservices.networking.istio.io", "destinationrules.networking.istio.io",
                 "peerauthentications.security.istio.io"):  # fmt: skip
        crd = wait_for(f"the CRD {name}", lambda n=name: ext.read_custom_resource_definition(n), 10)
        assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
        assert "v1" in [v.name for v in crd.spec.versions if v.served]
        assert crd.metadata.labels["devkit.dev/testbed-istio"]
