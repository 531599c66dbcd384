"""A MinIO (or any S3 API) service's objects as one tar part: every bucket and object out,
and back in (`S3Objects`), through the service's port reached on 127.0.0.1."""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from minio import Minio
from minio.error import MinioException
from urllib3.exceptions import HTTPError

from devkit.backups.store import CHUNK
from devkit.errors import EngineError
from devkit.planning.planner import EnvValue, Plan
from devkit.project.secrets import local_secret_values
from devkit.records.backup import Step
from devkit.targets.base import BacksUp


class ObjectsClient:
    """A client of the service's S3 API while inside, with the credentials its env gives it."""

    def __init__(self, target: BacksUp, plan: Plan, root: Path, step: Step) -> None:
        self.target, self.plan, self.root, self.step = target, plan, root, step

    def __enter__(self) -> Any:
        step = self.step
        assert step.port is not None and step.access_key_env and step.secret_key_env
        service = self.plan.service(step.service)
        access = _env_value(service.env, step.access_key_env, self.root)
        secret = _env_value(service.env, step.secret_key_env, self.root)
        self._reach = self.target.reach(step.service, step.port)
        port = self._reach.__enter__()
        return Minio(f"127.0.0.1:{port}", access_key=access, secret_key=secret, secure=False)

    def __exit__(self, *exc: object) -> None:
        self._reach.__exit__(None, None, None)


def objects_client(target: BacksUp, plan: Plan, root: Path, step: Step) -> ObjectsClient:
    return ObjectsClient(target, plan, root, step)


def _env_value(env: Mapping[str, str | EnvValue], name: str, root: Path) -> str:
    """A service's variable as it gets it: secrets from the environment or .env."""
    value = env[name]
    if isinstance(value, str):
        return value
    values = local_secret_values(value.secrets, root)
    return "".join(p if isinstance(p, str) else values[p.secret] for p in value.parts)


def objects_to_tar(client: Any, file: IO[bytes]) -> None:
    """Every bucket (as a directory) and every object in it, into a tar."""
    with tarfile.open(fileobj=file, mode="w|") as tar:
        for bucket in client.list_buckets():
            entry = tarfile.TarInfo(bucket.name)
            entry.type = tarfile.DIRTYPE
            tar.addfile(entry)
            for obj in client.list_objects(bucket.name, recursive=True):
                if obj.is_dir:
                    continue
                reply = client.get_object(bucket.name, obj.object_name)
                try:
                    data = _spooled(reply.stream(CHUNK))
                finally:
                    reply.close()
                    reply.release_conn()
                entry = tarfile.TarInfo(f"{bucket.name}/{obj.object_name}")
                entry.size = data.seek(0, io.SEEK_END)
                data.seek(0)
                tar.addfile(entry, data)


def _spooled(chunks: Iterable[bytes]) -> IO[bytes]:
    data = tempfile.SpooledTemporaryFile(max_size=16 * CHUNK)  # noqa: SIM115 - returned open
    for chunk in chunks:
        data.write(chunk)
    return data


def objects_held(client: Any, service: str) -> dict[str, int]:
    """How many objects each bucket holds now; EngineError when the S3 API does not say."""
    try:
        return {
            bucket.name: sum(1 for o in client.list_objects(bucket.name, recursive=True)
                             if not o.is_dir)
            for bucket in client.list_buckets()
        }  # fmt: skip
    except (MinioException, HTTPError) as exc:
        raise EngineError(f'service "{service}": its S3 API did not list its objects: '
                          f"{str(exc).splitlines()[0][:200]}") from None  # fmt: skip


def objects_from_tar(client: Any, file: IO[bytes]) -> None:
    """Put every bucket and object of the tar back; objects of those buckets the backup does
    not hold are removed, so each bucket is as it was."""
    kept: dict[str, set[str]] = {}
    with tarfile.open(fileobj=file, mode="r|") as tar:
        for entry in tar:
            bucket, _, key = entry.name.partition("/")
            if bucket not in kept:
                kept[bucket] = set()
                if not client.bucket_exists(bucket):
                    client.make_bucket(bucket)
            if entry.isfile() and key:
                reader = tar.extractfile(entry)
                if reader is None:
                    raise EngineError(f"object {entry.name} in the backup cannot be read")
                client.put_object(bucket, key, reader, length=entry.size)
                kept[bucket].add(key)
    for bucket, keys in kept.items():
        for obj in client.list_objects(bucket, recursive=True):
            if not obj.is_dir and obj.object_name not in keys:
                client.remove_object(bucket, obj.object_name)
