"""nginx as a static site or a reverse proxy in front of another service."""

from __future__ import annotations

from devkit.errors import BlueprintError
from devkit.model.blueprint import declare_service
from devkit.model.build import Build
from devkit.model.health import Http
from devkit.model.resources import Resources
from devkit.model.service import Service
from devkit.source import caller_location

HEALTH_PATH = "/nginx-health"
"""Answered by nginx itself (200 "ok"), so its health does not depend on what it proxies to."""

PORT = 8080
"""Above 1024, so nginx can run as a non-root user (as on clusters with hardened pods)."""

RUNTIME_DIR = "/tmp"  # noqa: S108 - a path in the container, not on this machine
"""Everything nginx writes at run time (its configuration, pid, request buffers) is under /tmp,
so the rest of the filesystem can be read-only."""

CONFIG_FILE = f"{RUNTIME_DIR}/devkit-nginx.conf"
SITE_ROOT = "/usr/share/nginx/html"

# The whole configuration is in NGINX_CONF; the start command writes it (the upstream's host and
# port filled in from references, resolved per environment) and runs nginx on it in the
# foreground. Only the nginx binary, /etc/nginx/mime.types, sh and sed are needed from the image.
_START = (
    'printf "%s\\n" "$NGINX_CONF" '
    '| sed -e "s/@UPSTREAM_HOST@/${NGINX_UPSTREAM_HOST:-}/g" '
    '-e "s/@UPSTREAM_PORT@/${NGINX_UPSTREAM_PORT:-}/g" '
    f'>{CONFIG_FILE} && exec nginx -c {CONFIG_FILE} -g "daemon off;"'
)

_PROXY = """\
        location / {
            proxy_pass http://@UPSTREAM_HOST@:@UPSTREAM_PORT@;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }"""

_STATIC = f"""\
        location / {{
            root {SITE_ROOT};
            index index.html;
            try_files $uri $uri/ =404;
        }}"""


def config(*, proxy: bool) -> str:
    """The nginx.conf the blueprint runs: a static site, or a proxy to @UPSTREAM_HOST@:PORT@."""
    return f"""\
worker_processes auto;
error_log stderr warn;
pid {RUNTIME_DIR}/nginx.pid;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    client_body_temp_path {RUNTIME_DIR}/nginx-client-body;
    proxy_temp_path {RUNTIME_DIR}/nginx-proxy;
    fastcgi_temp_path {RUNTIME_DIR}/nginx-fastcgi;
    uwsgi_temp_path {RUNTIME_DIR}/nginx-uwsgi;
    scgi_temp_path {RUNTIME_DIR}/nginx-scgi;
    sendfile on;
    keepalive_timeout 65;
    server {{
        listen {PORT};
        location = {HEALTH_PATH} {{
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }}
{_PROXY if proxy else _STATIC}
    }}
}}
"""


def nginx(
    *,
    version: str = "1",
    name: str = "nginx",
    proxy: Service | None = None,
    proxy_port: str | None = None,
    build: Build | None = None,
    public: bool = True,
    host_port: int | None = None,
    resources: Resources | None = None,
) -> Service:
    """nginx on port `http` (8080): a reverse proxy to `proxy`, or a static site.

    - `nginx(proxy=api)`: every request goes to `api` (its only port, or `proxy_port`), with
      the usual X-Forwarded-* headers; nginx starts after `api` is healthy.
    - `nginx(build=Build("site"))`: a static site from your image (`FROM nginx:1` and
      `COPY . /usr/share/nginx/html` in its Dockerfile); `nginx()` alone serves the image's page.

    `url` is `http://NAME:8080`. `public` serves it to the outside (an Ingress on clusters). nginx
    listens above 1024 and writes only under /tmp, so it can run non-root on a read-only root
    filesystem.
    """
    location = caller_location()
    env: dict[str, object] = {"NGINX_CONF": config(proxy=proxy is not None)}
    depends_on: list[str] = []
    if proxy is not None:
        if not isinstance(proxy, Service):
            raise BlueprintError(
                f'nginx "{name}": proxy= takes a service (e.g. proxy=api), not '
                f"{type(proxy).__name__}",
                location=location,
            )
        if build is not None:
            raise BlueprintError(
                f'nginx "{name}": give proxy= (a reverse proxy) or build= (a static site), '
                "not both",
                location=location,
            )
        env["NGINX_UPSTREAM_HOST"] = proxy.host
        env["NGINX_UPSTREAM_PORT"] = proxy.port(proxy_port)
        depends_on.append(proxy.name)
    elif proxy_port is not None:
        raise BlueprintError(
            f'nginx "{name}": proxy_port= names a port of the proxied service; give proxy= too',
            location=location,
        )
    return declare_service(
        {
            "name": name,
            "image": None if build is not None else f"nginx:{version}",
            "build": build,
            "command": ("sh", "-c", _START),
            "ports": {"http": {"container": PORT, "host": host_port, "public": public}},
            "env": env,
            "depends_on": depends_on,
            "health": Http(HEALTH_PATH, port="http"),
            "resources": resources or Resources(cpu="100m", memory="64Mi", memory_limit="128Mi"),
            # The official image's nginx user; it writes only under /tmp (see _START).
            "run_as_user": 101,
            "scratch": ("/tmp",),  # noqa: S108 - an emptyDir in the pod, not a host path
            "url_template": "http://{host}:{port.http}",
        },
        location,
    )
