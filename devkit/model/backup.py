"""How a service's data is backed up consistently: typed methods a service declares.

Stock blueprints declare theirs (postgres: `PgDump`, redis: `RedisSnapshot`, MinIO:
`S3Objects`); any service can declare the same. A service with volumes and no method is backed
up by `VolumeCopy`, a file-level copy taken with the service stopped. What each method runs is
decided in `devkit/records/backup.py`; the engines only carry commands and bytes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from devkit.model.base import EnvName, Model


class PgDump(Model):
    """pg_dump in custom format, run in the service's container; restored by pg_restore
    (`--clean --if-exists`, in one transaction). User and database are read from the service's
    own environment inside the container, so no value passes through devkit."""

    kind: Literal["pg_dump"] = "pg_dump"
    user_env: EnvName = "POSTGRES_USER"
    database_env: EnvName = "POSTGRES_DB"
    password_env: EnvName | None = Field(
        default="POSTGRES_PASSWORD", description="read inside the container (PGPASSWORD)"
    )


class RedisSnapshot(Model):
    """Redis's RDB snapshot: BGSAVE, wait for it, copy the file out. Restored into the running
    server by replication from a temporary server loaded with the snapshot (no restart, so a
    scratch data directory is fine)."""

    kind: Literal["redis_rdb"] = "redis_rdb"
    port: int = Field(default=6379, ge=1, le=65535)
    password_env: EnvName | None = Field(
        default=None, description="env variable holding the password, read inside the container"
    )


class S3Objects(Model):
    """Every object of every bucket, read and written through the service's S3 API (port
    `port`, reached on 127.0.0.1), with the credentials its environment gives it."""

    kind: Literal["s3_objects"] = "s3_objects"
    port: str = "s3"
    access_key_env: EnvName = "MINIO_ROOT_USER"
    secret_key_env: EnvName = "MINIO_ROOT_PASSWORD"  # noqa: S105 - a variable's name


class VolumeCopy(Model):
    """A file-level copy (tar) of each volume, taken and restored with the service stopped.
    The default for a service with volumes and no other method."""

    kind: Literal["volume_copy"] = "volume_copy"


BackupMethod = Annotated[
    PgDump | RedisSnapshot | S3Objects | VolumeCopy, Field(discriminator="kind")
]
"""How a service is backed up (`Service.backup`)."""
