"""A thin typed wrapper over the Kubernetes dynamic client: objects in and out as plain dicts.

The one place devkit talks to a cluster's API; connection errors and a kubeconfig context that
does not exist become devkit errors here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import config
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError

from devkit.errors import EngineError, UserError

FIELD_MANAGER = "devkit"


class KubeError(EngineError):
    """The API server refused a request; `status` is its HTTP status, `body` its answer."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        self.status, self.body = status, body
        super().__init__(message)

    @property
    def denied(self) -> bool:
        """Refused by authorization: the account may not do this (RBAC's "User ... cannot
        <verb> resource ..."), not another 403 (a namespace being deleted, an admission)."""
        return self.status == 403 and " cannot " in self.message


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """API errors as KubeError, with the server's own message."""
    try:
        yield
    except NotFoundError:
        raise
    except DynamicApiError as exc:
        body = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
        try:
            message = json.loads(body).get("message") or exc.reason
        except ValueError:
            message = exc.reason
        raise KubeError(f"{what}: {message}", status=exc.status or 0, body=body) from None


def kubeconfig_file() -> str:
    return os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(
        Path.home() / ".kube" / "config"
    )


def connect_context(context: str | None) -> ApiClient:
    """A client for `context` of the kubeconfig (KUBECONFIG or ~/.kube/config).

    A context the kubeconfig does not have is the user's error, reported before anything is
    applied, with the contexts it does have.
    """
    where = kubeconfig_file()
    try:
        contexts, active = config.list_kube_config_contexts()
    except (ConfigException, OSError) as exc:
        raise UserError(
            f"cannot read the kubeconfig {where}: {str(exc).splitlines()[0]}",
            details=["set KUBECONFIG, or create the cluster first (devkit cluster up ENV)"],
        ) from None
    names = [c["name"] for c in contexts]
    if context is not None and context not in names:
        raise UserError(
            f'kubeconfig context "{context}" does not exist in {where}',
            details=[
                f"contexts there: {', '.join(names) or '(none)'}",
                "set it in the blueprint, or pass --context; nothing was applied",
            ],
        )
    try:
        made: ApiClient = config.new_client_from_config(context=context or active["name"])
    except ConfigException as exc:
        raise UserError(f"kubeconfig context {context!r}: {exc}") from None
    return made


class KubeApi:
    """Objects of any kind by apiVersion and kind, as dicts."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        try:
            self.dynamic = DynamicClient(api)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the API server
            raise EngineError(
                "cannot reach the Kubernetes API server",
                details=[str(exc).splitlines()[0][:300], "is the cluster running?"],
            ) from None

    def close(self) -> None:
        self.api.close()

    def stream_core(self) -> CoreV1Api:
        """A CoreV1Api on a client of its own, for one exec or port-forward stream.

        The kubernetes package opens a stream by swapping its client's `call_api` for the
        duration of the call; on a client other threads use, their requests would go through
        the websocket path. A client per stream keeps them apart.
        """
        return CoreV1Api(ApiClient(configuration=self.api.configuration))

    def service_get(
        self, namespace: str, service: str, port: int, path: str, params: Sequence[tuple[str, str]]
    ) -> str:
        """GET `path` of a Service's port through the API server's service proxy: its body."""
        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{path.lstrip('/')}"
        what = f"asking service {namespace}/{service}:{port}"
        method, full, headers, _, _ = self.api.param_serialize(
            "GET", url, query_params=list(params), auth_settings=["BearerToken"]
        )
        try:
            response = self.api.call_api(method, full, header_params=headers, _request_timeout=15)
        except ApiException as exc:
            raise KubeError(f"{what}: {exc.status} {exc.reason}", status=exc.status or 0,
                            body=str(exc.body or "")) from None  # fmt: skip
        body = bytes(response.read() or b"").decode(errors="replace")
        if not 200 <= response.status < 300:
            raise KubeError(f"{what}: {response.status} {response.reason}: {body[:300]}",
                            status=response.status, body=body)  # fmt: skip
        return body

    def _resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise KubeError(
                f"{kind} ({api_version}): not a kind this cluster serves; a kind from a CRD "
                "needs the CRD installed (HTTPRoute: the Gateway API standard channel's CRDs; "
                "VirtualService, DestinationRule, PeerAuthentication: Istio's; ServiceMonitor, "
                "PodMonitor: the Prometheus Operator's)",
                status=404,
                body="",
            ) from None

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the cluster serves this kind (an aggregated API such as metrics.k8s.io)."""
        try:
            self._resource(api_version, kind)
        except KubeError:
            return False
        return True

    def apply(
        self, obj: dict[str, Any], *, force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply as field manager `devkit`; ApiException on a conflict."""
        resource = self._resource(obj["apiVersion"], obj["kind"])
        with _translated(f"applying {_name(obj)}"):
            result = self.dynamic.server_side_apply(
                resource,
                body=obj,
                namespace=obj["metadata"].get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=force,
                dry_run="All" if dry_run else None,
            )
        return _plain(result)

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            with _translated(f"reading {kind}/{name}"):
                found = self._resource(api_version, kind).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        return _plain(found)

    def list(
        self, api_version: str, kind: str, namespace: str | None, selector: str = ""
    ) -> list[dict[str, Any]]:
        try:
            resource = self._resource(api_version, kind)
        except KubeError:
            return []  # a kind from a CRD this cluster lacks: there are none of it
        try:
            with _translated(f"listing {kind}"):
                found = resource.get(namespace=namespace, label_selector=selector)
        except NotFoundError:
            return []
        return [_plain(item) for item in found.items]

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        resource = self._resource(obj["apiVersion"], obj["kind"])
        with _translated(f"creating {_name(obj)}"):
            made = resource.create(body=obj, namespace=obj["metadata"].get("namespace"))
        return _plain(made)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: dict[str, Any],
        *,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """A JSON merge patch; the object as it is after it."""
        with _translated(f"updating {kind}/{name}"):
            done = self._resource(api_version, kind).patch(
                name=name,
                namespace=namespace,
                body=patch,
                content_type="application/merge-patch+json",
                field_manager=field_manager,
            )
        return _plain(done)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> bool:
        """Delete (background propagation); False when it was not there."""
        try:
            with _translated(f"deleting {kind}/{name}"):
                self._resource(api_version, kind).delete(
                    name=name, namespace=namespace, propagation_policy="Background"
                )
        except NotFoundError:
            return False
        return True


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _plain(found: Any) -> dict[str, Any]:
    data: dict[str, Any] = found.to_dict()
    return data
