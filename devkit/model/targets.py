"""Where an environment runs. These are declarations only; the engines live in devkit/targets/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from devkit.model.base import Model, Name


class Docker(Model):
    """The local Docker engine (or the one `DOCKER_HOST` names)."""

    kind: Literal["docker"] = "docker"

    @property
    def local(self) -> bool:
        return True


class Swarm(Model):
    """A Docker Swarm; `registry` is where built images are pushed for its nodes to pull."""

    kind: Literal["swarm"] = "swarm"
    registry: str | None = None

    @property
    def local(self) -> bool:
        return False


class Kind(Model):
    """A local kind cluster; images are loaded into it rather than pushed."""

    kind: Literal["kind"] = "kind"
    cluster: Name
    namespace: Name | None = None

    def __init__(self, cluster: str, **fields: Any) -> None:
        super().__init__(**{"cluster": cluster, **fields})

    @property
    def local(self) -> bool:
        return True


class Kubernetes(Model):
    """Any Kubernetes cluster by kubeconfig context; namespace defaults to `<project>-<env>`."""

    kind: Literal["kubernetes"] = "kubernetes"
    context: str | None = None
    namespace: Name | None = None
    registry: str | None = None

    @property
    def local(self) -> bool:
        return False


Target = Annotated[Docker | Swarm | Kind | Kubernetes, Field(discriminator="kind")]
