"""A typical HTTP application: one port, an HTTP health check, a URL, sensible sizing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from devkit.model.blueprint import declare_service
from devkit.model.build import Build
from devkit.model.health import Command, Http, Tcp
from devkit.model.metrics import Metrics
from devkit.model.refs import Ref, Secret
from devkit.model.resources import Autoscale, Resources
from devkit.model.service import Service
from devkit.model.sync import Sync
from devkit.source import caller_location


def web_service(
    name: str,
    *,
    image: str | None = None,
    build: Build | None = None,
    port: int = 8000,
    health: str | Http | Tcp | Command | None = "/healthz",
    env: Mapping[str, str | int | float | bool | Ref | Secret] | None = None,
    command: Sequence[str] | None = None,
    depends_on: Sequence[Service | str] = (),
    sync: Sequence[Sync] = (),
    public: bool = True,
    host_port: int | None = None,
    resources: Resources | None = None,
    replicas: int | None = None,
    autoscale: Autoscale | None = None,
    run_as_user: int | None = None,
    metrics: str | Metrics | None = None,
) -> Service:
    """An HTTP service on the port `http`; `url` is `http://NAME:PORT`.

    `health` is a path answered with 2xx/3xx when the app is ready (`"/healthz"`), a full check,
    or None. The app is told its port in `PORT` unless `env` sets it. Give `image` or `build`.
    It runs as the image's `USER`, or as `run_as_user` for an image whose user is root (pods
    never run as root).
    `metrics` is the path it serves Prometheus metrics at on that port (`"/metrics"`), or a full
    declaration.
    """
    check: Http | Tcp | Command | None
    check = Http(health, port="http") if isinstance(health, str) else health
    return declare_service(
        {
            "name": name,
            "image": image,
            "build": build,
            "command": command,
            "ports": {"http": {"container": port, "host": host_port, "public": public}},
            "env": {"PORT": port, **(env or {})},
            "depends_on": depends_on,
            "health": check,
            "sync": sync,
            "resources": resources or Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
            "replicas": replicas,
            "autoscale": autoscale,
            "run_as_user": run_as_user,
            "url_template": "http://{host}:{port.http}",
            "metrics": Metrics("http", path=metrics) if isinstance(metrics, str) else metrics,
        },
        caller_location(),
    )
