"""MinIO, an S3-compatible object store, as the `minio/minio` image runs it."""

from __future__ import annotations

from devkit.errors import BlueprintError
from devkit.model.backup import S3Objects
from devkit.model.blueprint import declare_service
from devkit.model.health import Http
from devkit.model.refs import Secret
from devkit.model.resources import Resources
from devkit.model.service import Service
from devkit.source import caller_location


def minio(
    *,
    version: str = "latest",
    name: str = "minio",
    user: str = "minio",
    password: Secret | None = None,
    storage: str = "1Gi",
    resources: Resources | None = None,
) -> Service:
    """A MinIO server; `url` is its S3 endpoint (`http://minio:9000`).

    S3 clients take the endpoint and the credentials separately: the access key is `user`, the
    secret key the `password` secret (`Secret("MINIO_ROOT_PASSWORD")` unless you name another;
    MinIO wants at least 8 characters). The web console listens on the port `console`. Objects
    live on the volume `data`. It runs as uid 1000 (MinIO needs no user account; the data volume
    is given to that uid) with a read-only root filesystem.
    """
    if not 3 <= len(user) <= 128:
        raise BlueprintError(
            f'minio "{name}": user "{user}" must be 3 to 128 characters long (MinIO refuses '
            "shorter or longer access keys)",
            location=caller_location(),
        )
    return declare_service(
        {
            "name": name,
            "image": f"minio/minio:{version}",
            "command": ("server", "/data", "--address", ":9000", "--console-address", ":9001"),
            "ports": {"s3": 9000, "console": 9001},
            "env": {
                "MINIO_ROOT_USER": user,
                "MINIO_ROOT_PASSWORD": password
                if password is not None
                else Secret("MINIO_ROOT_PASSWORD"),
            },
            # MinIO's own readiness endpoint: 200 once it serves requests.
            "health": Http("/minio/health/ready", port="s3"),
            "volumes": {"data": {"path": "/data", "size": storage}},
            "backup": S3Objects(),  # every object of every bucket, over its S3 API
            "stateful": True,
            "run_as_user": 1000,
            "resources": resources or Resources(cpu="250m", memory="512Mi", memory_limit="1Gi"),
            "url_template": "http://{host}:{port.s3}",
        }
    )
