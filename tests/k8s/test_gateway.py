"""Routes through a real gateway on the kind testbed: Traefik (built from source by
testbed/build-gateway.sh, installed by testbed/gateway.sh when the cluster comes up) as the
Gateway API implementation, the web app the deploy tests ship deployed by `devkit deploy` with
`Kubernetes(gateway=...)`, reached from this host through a port-forward to Traefik on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.conftest import Run, run_devkit
from tests.docker.conftest import APP, IMAGE_MAP
from tests.k8s.conftest import GATEWAY_NS, Forward, K8sTestbed, http_get, served, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

HOST = "shop.gw.test"
SECURE_HOST = "secure.gw.test"

BLUEPRINT = """
import os
from devkit import Blueprint, Build, Gateway, Http, Kubernetes, Port, Route, Secret

ROUTES = {
    "plain": Route(hosts=os.environ["TEST_HOST"], paths=("/shop", "/api"), timeout=10),
    "missing": [Route(hosts=os.environ["TEST_HOST"], paths="/shop"),
                Route(hosts=os.environ["TEST_HOST"], paths="/old", backend="legacy-shop")],
}[os.environ["TEST_ROUTES"]]
app = Blueprint("gw")
app.service(
    "web",
    build=Build("web"),
    ports={"http": Port(8000, routes=ROUTES)},
    env={"GREETING": Secret("GREETING")},
    health=Http("/healthz", port="http", interval=1, retries=2),
)
app.environment(
    "staging",
    Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
               namespace=os.environ["TEST_NS"],
               gateway=Gateway(**dict(zip(("namespace", "name"),
                                          os.environ["TEST_GATEWAY"].split("/"))),
                               controller_namespace=os.environ["TEST_GATEWAY_CONTROLLER"])),
    rollout_timeout=120,
)
"""


@dataclass
class GatewayProject:
    root: Path
    env: dict[str, str]
    namespace: str

    def devkit(self, *args: str, timeout: float = 600) -> Run:
        return run_devkit(*args, cwd=self.root, env=self.env, timeout=timeout)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def project(testbed: K8sTestbed, namespace: str, tmp_path: Path) -> GatewayProject:
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "GREETING": "hello",
        "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace, "TEST_HOST": HOST,
        "TEST_ROUTES": "plain", "TEST_GATEWAY": f"{GATEWAY_NS}/testbed",
        # Traefik's pods run there, whichever namespace a Gateway is in: the NetworkPolicies
        # (enforced by kube-router) admit them to the public port.
        "TEST_GATEWAY_CONTROLLER": GATEWAY_NS,
    }  # fmt: skip
    p = GatewayProject(tmp_path / "gw", env, namespace)
    p.write("blueprint.py", BLUEPRINT.replace("REGISTRY", testbed.registry))
    p.write(
        "web/Dockerfile",
        """
        FROM python:3.11-slim
        COPY app.py VERSION /app/
        USER 10001:10001
        CMD ["python", "/app/app.py"]
        """,
    )
    p.write("web/app.py", APP)
    p.write("web/VERSION", "v1")
    return p


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def http_route(testbed: K8sTestbed, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        testbed.kubectl("get", "httproute", name, "-n", namespace, "-o", "json").stdout
    )
    return found


def test_the_web_app_answers_through_traefik_by_host_and_path(
    project: GatewayProject, traefik: Forward, testbed: K8sTestbed
) -> None:
    run = ok(project.devkit("deploy", "staging"))
    assert "routed" in run.stderr, run.stderr
    route = http_route(testbed, project.namespace, "web")
    assert route["spec"]["hostnames"] == [HOST]
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "10s"}
    parent = route["status"]["parents"][0]
    assert parent["controllerName"] == "traefik.io/gateway-controller"
    assert {c["type"]: c["status"] for c in parent["conditions"]} == {
        "Accepted": "True", "ResolvedRefs": "True",
    }  # fmt: skip

    _, body = wait_for("the route to answer", lambda: served(traefik.web, HOST, "/shop/cart"), 20)
    assert body == "v1 hello"
    assert http_get(traefik.web, HOST, "/api/items")[0] == 200
    assert http_get(traefik.web, HOST, "/")[0] == 404  # not a path of the route
    assert http_get(traefik.web, "other.gw.test", "/shop")[0] == 404  # not its host

    metrics = wait_for(
        "Traefik's request counter for the web service",
        lambda: [
            line
            for line in http_get(traefik.metrics, "localhost", "/metrics")[1].splitlines()
            if line.startswith("traefik_service_requests_total")
            and project.namespace in line
            and 'code="200"' in line
        ],
        20,
    )
    assert metrics, "no traefik_service_requests_total for the web Service"


def test_a_route_to_a_missing_backend_fails_the_deploy_with_the_gateways_reason(
    project: GatewayProject, traefik: Forward, testbed: K8sTestbed
) -> None:
    project.env["TEST_ROUTES"] = "missing"
    began = time.monotonic()
    run = project.devkit("deploy", "staging")
    took = time.monotonic() - began
    assert run.code == 1, run.stderr
    assert 'HTTPRoute "web"' in run.stderr and "BackendNotFound" in run.stderr, run.stderr
    assert "legacy-shop" in run.stderr
    assert "Traceback" not in run.stderr
    assert took < 100, f"took {took:.0f} s: reported by a timeout (120 s), not the route status"


def _certificate(directory: Path, host: str) -> tuple[str, str]:
    """A self-signed certificate for `host` and its key, PEM (openssl)."""
    key, cert = directory / "tls.key", directory / "tls.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert.read_text(), key.read_text()


def test_https_through_a_gateway_listener_with_a_certificate_the_test_makes(
    project: GatewayProject, traefik: Forward, testbed: K8sTestbed, namespace: str, tmp_path: Path
) -> None:
    cert, key = _certificate(tmp_path, SECURE_HOST)
    core = client.CoreV1Api(testbed.api)
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="secure-cert"),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert, "tls.key": key},
        ),
    )
    # The Gateway is its owner's (here the test's): the certificate is its listener's.
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "secure", "namespace": namespace},
        "spec": {
            "gatewayClassName": "traefik",
            "listeners": [{
                "name": "https", "protocol": "HTTPS", "port": 8443, "hostname": SECURE_HOST,
                "tls": {"mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": "secure-cert"}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        },
    }  # fmt: skip
    (tmp_path / "gateway.json").write_text(json.dumps(gateway))
    testbed.kubectl("apply", "--server-side", "-f", str(tmp_path / "gateway.json"))
    testbed.kubectl(
        "wait", "--for=condition=Programmed", "--timeout=60s", "-n", namespace, "gateway/secure"
    )
    project.env.update(TEST_HOST=SECURE_HOST, TEST_GATEWAY=f"{namespace}/secure")
    ok(project.devkit("deploy", "staging"))

    trusted = ssl.create_default_context(cadata=cert)
    _, body = wait_for(
        "the route to answer over HTTPS",
        lambda: served(traefik.websecure, SECURE_HOST, "/shop", tls=trusted),
        20,
    )
    assert body == "v1 hello"
    with pytest.raises(ssl.SSLCertVerificationError):
        http_get(traefik.websecure, SECURE_HOST, "/shop", tls=ssl.create_default_context())
