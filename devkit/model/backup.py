"""How a service's data is backed up consistently: typed methods a service declares.

Stock blueprints declare theirs (postgres: `PgDump`, redis: `RedisSnapshot`, MinIO:
`S3Objects`); any service can declare the same. A service with volumes and no method is backed
up by `VolumeCopy`, a file-level copy taken with the service stopped. What each method runs is
decided in `devkit/records/backup.py`; the engines only carry commands and bytes.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from devkit.model.base import EnvName, Model, Name
from devkit.model.egress import Egress
from devkit.model.reference import check_reference
from devkit.model.refs import Secret


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


_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)  # fmt: skip
_CRON_ITEM = re.compile(r"^(?P<range>\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/(?P<step>[0-9]+))?$")


def _cron_value(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + (1 if field == "month" else 0)
    if not text.isdigit():
        raise ValueError(f'{field} "{text}" is not a number' + (
            f" or a name ({', '.join(names[:3])}, ...)" if names else ""))  # fmt: skip
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{field} {value} is out of range ({low}-{high})")
    return value


def check_cron(schedule: str) -> str:
    """`schedule` when Kubernetes' CronJob takes it: five fields (minute, hour, day of month,
    month, day of week) or a macro (@daily, ...); ValueError saying which field is wrong."""
    text = " ".join(schedule.split())
    if text.startswith("@"):
        if text not in _CRON_MACROS:
            raise ValueError(f'"{schedule}" is not a schedule: the macros are '
                             f"{', '.join(_CRON_MACROS)}")  # fmt: skip
        return text
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise ValueError("a time zone in the schedule is refused by Kubernetes; give time_zone=")
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f'"{schedule}" is not a cron schedule: it has {len(fields)} fields, a CronJob takes '
            '5 (minute hour day-of-month month day-of-week), e.g. "0 3 * * *" (03:00 daily)'
        )
    for given, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in given.split(","):
            match = _CRON_ITEM.match(item)
            if match is None:
                raise ValueError(f'"{schedule}": {field} "{item}" is not a value, range or step')
            step = match.group("step")
            if step is not None and int(step) < 1:
                raise ValueError(f'"{schedule}": {field} step "{item}" must be at least 1')
            bounds = match.group("range")
            if bounds in ("*", "?"):
                if bounds == "?" and field not in ("day of month", "day of week"):
                    raise ValueError(f'"{schedule}": "?" only stands for a day')
                continue
            first, _, last = bounds.partition("-")
            start = _cron_value(first, field, low, high, names)
            if last and _cron_value(last, field, low, high, names) < start:
                raise ValueError(f'"{schedule}": {field} range "{bounds}" runs backwards')
    return text


class BackupSchedule(Model):
    """Backups of an environment on a cluster, taken on a schedule by a CronJob and kept in an
    S3-compatible store in devkit's own format (`devkit backups`, `devkit restore` read them).

    Only methods that read a running service over the network can be scheduled: `PgDump`
    (pg_dump) and `RedisSnapshot` (`redis-cli --rdb`), run in the service's own image. A service
    whose data is a volume copy (it must be stopped) or a MinIO's objects is left out, with a
    warning. After each complete backup the newest `keep` complete backups of the environment
    stay in the store and older ones are deleted (docs/backup.md, "Scheduled backups").

    `endpoint` is the store's S3 API as the pods reach it: a service of the environment
    (`"http://minio:9000"`) or an address outside it, which `egress` must then admit where the
    target restricts egress. The credentials are secrets of the environment (or a literal
    access key); they reach the pod from the environment's Secret, never as arguments.
    """

    schedule: str
    store: str = Field(description="s3://BUCKET[/PREFIX], as for devkit backup --store")
    endpoint: str = Field(description="the S3 API as the cluster's pods reach it")
    access_key: str | Secret = Secret("BACKUP_S3_ACCESS_KEY")
    secret_key: Secret = Secret("BACKUP_S3_SECRET_KEY")
    region: str | None = None
    keep: int = Field(default=7, description="complete backups kept; older ones are deleted")
    services: tuple[Name, ...] = Field(
        default=(), description="the services backed up; all with a scheduled method if empty"
    )
    egress: tuple[Egress, ...] = Field(
        default=(), description="where the backup pod may connect besides the services"
    )
    image: str = Field(
        default="python:3.11-slim", description="runs the upload (python3, standard library)"
    )
    deadline: int = Field(
        default=3600, ge=60, description="seconds a run may take before it is stopped"
    )
    time_zone: str | None = Field(default=None, description='the schedule\'s, e.g. "Europe/Paris"')
    suspend: bool = False

    def __init__(self, schedule: str, **fields: Any) -> None:
        super().__init__(**{"schedule": schedule, **fields})

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return check_reference(value)

    @field_validator("keep")
    @classmethod
    def _keep(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                f"keep={value}: a schedule keeps at least the backup it just took (keep=1)"
            )
        return value

    @field_validator("store")
    @classmethod
    def _s3_store(cls, value: str) -> str:
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme != "s3":
            raise ValueError(
                f'"{value}" cannot be written from a cluster: a scheduled backup runs in '
                "a pod, which has no directory of this machine; give s3://BUCKET[/PREFIX]"
            )
        if not _BUCKET.match(parsed.netloc):
            raise ValueError(f'"{value}": "{parsed.netloc}" is not an S3 bucket name '
                             "(3-63 of a-z, 0-9, '.', '-')")  # fmt: skip
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(
                f'"{value}" is not a URL: give the S3 API as the pods reach it, e.g. '
                '"http://minio:9000" or "https://s3.eu-west-1.amazonaws.com"'
            )
        host = parsed.hostname
        if host == "localhost" or host.startswith("127.") or host == "::1":
            raise ValueError(
                f'"{value}" is the backup pod itself: in a cluster {host} is the pod, '
                "not this machine; give the store's address as the pods reach it"
            )
        return value

    @property
    def bucket(self) -> str:
        return urllib.parse.urlsplit(self.store).netloc

    @property
    def prefix(self) -> str:
        return urllib.parse.urlsplit(self.store).path.strip("/")

    @property
    def secrets(self) -> tuple[str, ...]:
        """The names of the secrets the backup pod reads."""
        keys = (self.access_key, self.secret_key)
        return tuple(sorted({k.name for k in keys if isinstance(k, Secret)}))


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""An S3 bucket name."""
