"""Where an environment runs. These are declarations only; the engines live in devkit/targets/."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model, Name
from devkit.model.mesh import Istio
from devkit.model.reference import check_reference
from devkit.model.routes import Gateway

_DOMAIN = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Ingress(Model):
    """How a cluster serves public ports: an Ingress of `class_name`, hosts under `domain`.

    `namespace` is where the ingress controller runs; NetworkPolicies let it (and only it) reach
    public ports from outside the environment's namespace.
    """

    class_name: Name = "nginx"
    namespace: Name = "ingress-nginx"
    domain: str | None = Field(
        default=None, description="public services are served at <service>.<domain>"
    )

    @field_validator("domain")
    @classmethod
    def _dns_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 200 or not _DOMAIN.match(value)):
            raise ValueError(
                f'"{value}" is not a DNS domain: lowercase labels of letters, digits and "-", '
                'separated by ".", e.g. "shop.example.com"'
            )
        return value


class Scraper(Model):
    """A metrics scraper (Prometheus, an OpenTelemetry collector, a cloud agent) running in
    `namespace`: NetworkPolicies let it reach every service's ports named in `ports` and the port
    each service declares `metrics` on.

    `discovery` is how it finds the services that declare metrics: `"annotations"` (the default,
    and what is rendered without a Scraper) puts `prometheus.io/scrape`, `port` and `path` on
    their pods; `"ServiceMonitor"` or `"PodMonitor"` renders that Prometheus Operator object per
    service instead (the cluster must have the operator's CRDs), carrying `labels` so that the
    operator's Prometheus selects it (kube-prometheus-stack selects `release: <its release>`).
    `dashboards=True` adds a Grafana dashboard per service that declares metrics, as a ConfigMap
    for Grafana's dashboard sidecar (docs/metrics.md).
    """

    namespace: Name
    ports: tuple[Name, ...] = ("metrics",)
    discovery: Literal["annotations", "ServiceMonitor", "PodMonitor"] = "annotations"
    labels: dict[str, str] = Field(
        default_factory=dict, description="labels on the monitors, for the operator's selector"
    )
    dashboards: bool = Field(
        default=False,
        description="a Grafana dashboard per service with metrics, in a ConfigMap labelled "
        'grafana_dashboard: "1" for Grafana\'s dashboard sidecar',
    )


class Docker(Model):
    """The local Docker engine (or the one `DOCKER_HOST` names)."""

    kind: Literal["docker"] = "docker"

    @property
    def local(self) -> bool:
        return True

    def details(self) -> list[str]:
        """What `devkit plan` and `envs` say about where it runs, besides its kind."""
        return []


class Swarm(Model):
    """A Docker Swarm; `registry` is where built images are pushed for its nodes to pull.

    `routing_mesh=False` is for swarms whose kernels lack IPVS (some VMs and CI machines), where
    virtual IPs and the ingress mesh do not route: services are then found by DNS round robin
    and ports are published on the node that runs each task.
    """

    kind: Literal["swarm"] = "swarm"
    registry: str | None = None
    routing_mesh: bool = True

    @property
    def local(self) -> bool:
        return False

    def details(self) -> list[str]:
        return [f"registry {self.registry}"] if self.registry else []


class Kind(Model):
    """A local kind cluster (context `kind-<cluster>`).

    Built images reach its node by `kind load docker-image`, or, with `registry` (a registry the
    node pulls from, wired in as kind documents, e.g. "localhost:5001"), by a push there.
    `node_image` and `config` (a kind config file, relative to blueprint.py) are what
    `devkit cluster up` creates the cluster with.
    """

    kind: Literal["kind"] = "kind"
    cluster: Name
    namespace: Name | None = None
    registry: str | None = None
    node_image: str | None = None
    config: str | None = Field(default=None, description="kind config file, from blueprint.py")
    ingress: Ingress = Field(default_factory=Ingress)
    scraper: Scraper | None = None
    gateway: Gateway | None = Field(
        default=None, description='route public ports by HTTPRoutes on this Gateway ("NS/NAME")'
    )
    restrict_egress: bool = Field(
        default=True,
        description="pods reach only DNS, their dependencies and declared Egress destinations",
    )
    mesh: Istio | None = Field(
        default=None, description='the service mesh the cluster runs: "istio" (Istio objects)'
    )

    def __init__(self, cluster: str, **fields: Any) -> None:
        super().__init__(**{"cluster": cluster, **fields})

    @field_validator("node_image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        return None if value is None else check_reference(value)

    @property
    def local(self) -> bool:
        return True

    def details(self) -> list[str]:
        return [f"cluster {self.cluster}"]


class Kubernetes(Model):
    """Any Kubernetes cluster by kubeconfig context; namespace defaults to `<project>-<env>`.

    `image_pull_secrets` names Secrets (of type kubernetes.io/dockerconfigjson, created in the
    namespace outside devkit) that pods use to pull from a private `registry`. Public ports are
    served by an Ingress (`ingress`), or, with `gateway`, by Gateway API HTTPRoutes attached to
    that Gateway. `registry_from_host` is where the machine devkit runs on reaches that same
    registry when the nodes know it by another name (an in-cluster name, a port published on
    loopback): pushes, copies and the image check before a deploy go there, and pods still name
    `registry`.
    `ingress.namespace` (the entry point: ingress or gateway controller) and `scraper` (the
    metrics scraper) are the only namespaces besides the environment's own whose pods the
    NetworkPolicies admit. Pods send only to DNS, their dependencies and the `Egress`
    destinations their service declares, unless `restrict_egress=False`. `mesh="istio"` renders
    Istio's objects too (docs/traffic.md).
    """

    kind: Literal["kubernetes"] = "kubernetes"
    context: str | None = None
    namespace: Name | None = None
    registry: str | None = None
    registry_from_host: str | None = None
    image_pull_secrets: tuple[Name, ...] = ()
    ingress: Ingress = Field(default_factory=Ingress)
    scraper: Scraper | None = None
    gateway: Gateway | None = Field(
        default=None, description='route public ports by HTTPRoutes on this Gateway ("NS/NAME")'
    )
    restrict_egress: bool = Field(
        default=True,
        description="pods reach only DNS, their dependencies and declared Egress destinations",
    )
    mesh: Istio | None = Field(
        default=None, description='the service mesh the cluster runs: "istio" (Istio objects)'
    )

    @model_validator(mode="after")
    def _from_host_needs_registry(self) -> Kubernetes:
        if self.registry_from_host and not self.registry:
            raise ValueError(
                "registry_from_host names where this machine reaches the nodes' registry: "
                "set registry too"
            )
        return self

    @property
    def local(self) -> bool:
        return False

    def details(self) -> list[str]:
        registry = [f"registry {self.registry}"] if self.registry else []
        if self.registry_from_host:
            registry = [f"{registry[0]} (from this machine {self.registry_from_host})"]
        mesh = [f"mesh {self.mesh.kind}"] if self.mesh else []
        return [f"context {self.context or '(current)'}", *registry, *mesh]


Target = Annotated[Docker | Swarm | Kind | Kubernetes, Field(discriminator="kind")]
