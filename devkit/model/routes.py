"""How a public port is reached from outside a cluster: its routes (hosts, path prefixes,
timeouts, retries, TLS), and the Gateway API Gateway a target may attach them to.

Declarations only: `devkit/render/routes.py` turns them into an Ingress or Gateway API HTTPRoutes.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model, Name

_DOMAIN = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


def check_domain(value: str, what: str = "DNS domain") -> str:
    """A lowercase DNS name; a host may start with one "*." label (a wildcard)."""
    bare = value.removeprefix("*.")
    if len(value) > 253 or not _DOMAIN.match(bare):
        raise ValueError(
            f'"{value}" is not a {what}: lowercase labels of letters, digits and "-", '
            'separated by ".", e.g. "shop.example.com"'
        )
    return value


class TLS(Model):
    """HTTPS for a route's hosts: a certificate Secret, or a cert-manager issuer that makes one.

    On an Ingress: `secret` is the `tls` secretName; `issuer` adds the cert-manager annotation
    (`cert-manager.io/issuer`, or `cert-manager.io/cluster-issuer` with `cluster_issuer=True`) and
    names the Secret it writes (`secret`, else `<route name>-tls`). On a Gateway the certificate
    belongs to the Gateway's listener (its owner's certificateRefs), so devkit refuses `tls` there.
    """

    secret: Name | None = None
    issuer: Name | None = None
    cluster_issuer: bool = False

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.secret is None and self.issuer is None:
            raise ValueError(
                "give secret= (a certificate Secret) or issuer= (a cert-manager issuer)"
            )
        if self.cluster_issuer and self.issuer is None:
            raise ValueError("cluster_issuer=True needs issuer= (the ClusterIssuer's name)")
        return self


class Route(Model):
    """How a public port is served: `hosts` (default `<service>.<domain>` when the target has a
    domain, else any host), path prefixes, a request timeout, retries, TLS.

    `backend` sends the route to another Service of the namespace (one devkit does not manage,
    e.g. the old application during a migration) on the same port number.
    """

    hosts: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/",)
    timeout: float | None = Field(
        default=None, gt=0, le=86400, description="seconds for the whole request"
    )
    retries: int | None = Field(default=None, ge=0, le=10, description="retries after a failure")
    tls: TLS | None = None
    backend: Name | None = None

    @field_validator("hosts", mode="before")
    @classmethod
    def _one_host(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("hosts")
    @classmethod
    def _dns_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            check_domain(host, "host name")
        if len(set(value)) != len(value):
            raise ValueError("a host is given twice")
        return value

    @field_validator("paths")
    @classmethod
    def _path_prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError('give at least one path prefix, e.g. "/"')
        for path in value:
            if len(path) > 1024 or not _PATH.match(path):
                raise ValueError(f'path "{path}" must start with "/" and be a URL path')
        if len(set(value)) != len(value):
            raise ValueError("a path is given twice")
        return value


class Gateway(Model):
    """A Gateway API Gateway (owned outside devkit) that a target's routes attach to.

    Give it as "NAMESPACE/NAME" or `Gateway(name=..., namespace=...)`. `listener` names one of its
    listeners (the HTTPRoute's sectionName); by default a route attaches to every listener whose
    hostname matches its hosts. `controller_namespace` is where the gateway's proxy pods run (the
    NetworkPolicies admit them to public ports), by default the Gateway's own namespace.
    """

    name: Name
    namespace: Name
    listener: Name | None = None
    controller_namespace: Name | None = None
    domain: str | None = Field(
        default=None, description="public services are served at <service>.<domain>"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            namespace, slash, name = value.partition("/")
            if not slash or not namespace or not name or "/" in name:
                raise ValueError(f'"{value}" is not a Gateway: give "NAMESPACE/NAME"')
            return {"namespace": namespace, "name": name}
        return value

    @field_validator("domain")
    @classmethod
    def _dns_name(cls, value: str | None) -> str | None:
        return None if value is None else check_domain(value)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"
