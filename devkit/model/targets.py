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


class Cluster(Model):
    """One cluster of a Kubernetes environment that spans several (`Kubernetes(clusters=...)`):
    its name (for `--cluster` and the terminal), its kubeconfig context and its own registry
    (`registry`, `registry_from_host` and `image_pull_secrets` as on `Kubernetes`)."""

    name: Name
    context: str | None = None
    registry: str | None = None
    registry_from_host: str | None = None
    image_pull_secrets: tuple[Name, ...] = ()

    def __init__(self, name: str, **fields: Any) -> None:
        super().__init__(**{"name": name, **fields})

    @model_validator(mode="after")
    def _from_host_needs_registry(self) -> Cluster:
        if self.registry_from_host and not self.registry:
            raise ValueError(
                f'cluster "{self.name}": registry_from_host names where this machine reaches '
                "the nodes' registry: set registry too"
            )
        return self


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

    `clusters` spreads the environment over several clusters, deployed and promoted one wave
    per cluster in the order given (docs/clusters.md); each names its own
    context and registry, so `context`, `registry`, `registry_from_host` and
    `image_pull_secrets` are then set per cluster. `after_failure` says what the clusters
    already done do when a later wave fails: `"keep"` the new release, or `"rollback"` too.
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

    clusters: tuple[Cluster, ...] = Field(
        default=(), description="deploy and promote wave by wave, one cluster after another"
    )
    after_failure: Literal["keep", "rollback"] = Field(
        default="keep",
        description="when a wave fails, the clusters already done keep the new release, or "
        "are rolled back too",
    )

    @model_validator(mode="after")
    def _clusters(self) -> Kubernetes:
        names = [c.name for c in self.clusters]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"clusters: each name once; given twice: {', '.join(twice)}")
        per_cluster = ("context", "registry", "registry_from_host", "image_pull_secrets")
        both = [f for f in per_cluster if self.clusters and f in self.model_fields_set]
        if both:
            raise ValueError(
                f"with clusters, set {', '.join(both)} on each Cluster, not on Kubernetes"
            )
        return self

    def wave_targets(self) -> tuple[tuple[str, Kubernetes], ...]:
        """Each cluster as the single-cluster target a wave deploys to, in declared order;
        nothing for a single-cluster environment."""
        return tuple(
            (
                c.name,
                self.model_copy(
                    update={
                        "context": c.context,
                        "registry": c.registry,
                        "registry_from_host": c.registry_from_host,
                        "image_pull_secrets": c.image_pull_secrets,
                        "clusters": (),
                    }
                ),
            )
            for c in self.clusters
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
        if self.clusters:
            waves = ", ".join(
                f"{c.name} (context {c.context or '(current)'}"
                + (f", registry {c.registry})" if c.registry else ")")
                for c in self.clusters
            )
            return [
                f"clusters in waves: {waves}",
                f"after a failed wave: {self.after_failure}",
                *mesh,
            ]
        return [f"context {self.context or '(current)'}", *registry, *mesh]


Target = Annotated[Docker | Swarm | Kind | Kubernetes, Field(discriminator="kind")]
