"""PostgreSQL, as the official `postgres` image runs it."""

from __future__ import annotations

from devkit.model.backup import PgDump
from devkit.model.blueprint import declare_service
from devkit.model.health import Command
from devkit.model.refs import Secret
from devkit.model.resources import Resources
from devkit.model.service import Service


def postgres(
    *,
    version: str = "16",
    database: str = "app",
    user: str = "app",
    password: Secret | None = None,
    name: str = "postgres",
    storage: str = "1Gi",
    resources: Resources | None = None,
) -> Service:
    """A PostgreSQL server with one database; `url` is its connection URL (password masked).

    The password is a secret: `Secret("POSTGRES_PASSWORD")` unless you name another. Data lives
    on the volume `data`, kept across `devkit down` unless `--volumes` is given, in a
    subdirectory of it (`PGDATA`), because a fresh filesystem's root holds `lost+found` and gets
    group permissions from the pod's fsGroup, both of which postgres refuses. It runs as the
    official image's `postgres` user (uid 999) with a read-only root filesystem; only the data
    volume, the socket directory and /tmp are writable.

    User, password and database are read only when the data volume is first initialised: on
    Docker, `devkit up` refuses values that differ from those the data was made with and says
    how out (put the old value back, or `devkit down --volumes` to start from empty).
    """
    return declare_service(
        {
            "name": name,
            "image": f"postgres:{version}",
            "ports": {"postgres": 5432},
            "env": {
                "POSTGRES_USER": user,
                "POSTGRES_DB": database,
                "PGDATA": "/var/lib/postgresql/data/pgdata",
                "POSTGRES_PASSWORD": password
                if password is not None
                else Secret("POSTGRES_PASSWORD"),
            },
            "health": Command("pg_isready", "-q", "-h", "127.0.0.1", "-U", user, "-d", database),
            # postgres reads these only when it initialises an empty data directory: a changed
            # password in .env would not reach a database made with the old one.
            "volumes": {
                "data": {
                    "path": "/var/lib/postgresql/data",
                    "size": storage,
                    "init_env": ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
                }
            },
            "backup": PgDump(),  # pg_dump -Fc, restored by pg_restore (docs/backup.md)
            "stateful": True,
            "run_as_user": 999,
            "scratch": ("/var/run/postgresql",),
            "resources": resources or Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
            "url_template": (
                "postgresql://{env.POSTGRES_USER}:{env.POSTGRES_PASSWORD}@{host}:{port}/{env.POSTGRES_DB}"
            ),
        }
    )
