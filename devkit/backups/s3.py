"""Backups in a bucket of an S3-compatible store (AWS S3, MinIO, ...), under a prefix: the
layout and the partial rule of devkit/backups/store.py, over the minio client."""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

from minio import Minio
from minio.error import MinioException, S3Error

from devkit.backups.store import CHUNK, Hashing
from devkit.errors import EngineError
from devkit.records.backup import MANIFEST


class _Feed(io.RawIOBase):
    """A file-like view of chunks, for a client that reads (the S3 upload)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


class S3Store:
    """Backups in a bucket of an S3-compatible store, under a prefix."""

    def __init__(self, client: Any, bucket: str, base: str, endpoint: str) -> None:
        self.client, self.bucket = client, bucket
        self.base = base
        self.where = f"s3://{bucket}/{self.base} at {endpoint}"

    def _key(self, backup: str, name: str) -> str:
        return f"{self.base}/{backup}/{name}"

    def backups(self) -> list[str]:
        found = self._call(
            "list", lambda: list(self.client.list_objects(self.bucket, prefix=self.base + "/",
                                                          recursive=True))
        )  # fmt: skip
        ids = {
            obj.object_name[len(self.base) + 1 :].split("/")[0]
            for obj in found
            if obj.object_name.endswith("/" + MANIFEST)
        }
        return sorted(ids)

    def manifest(self, backup: str) -> str | None:
        try:
            reply = self.client.get_object(self.bucket, self._key(backup, MANIFEST))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                return None
            raise EngineError(f"{self.where}: {exc.code}: {exc.message}") from None
        try:
            return str(reply.read().decode())
        finally:
            reply.close()
            reply.release_conn()

    def write_part(self, backup: str, name: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        hashing = Hashing()
        self._ensure_bucket()
        self._call("write", lambda: self.client.put_object(
            self.bucket, self._key(backup, name), _Feed(hashing(chunks)), length=-1,
            part_size=16 * CHUNK,
        ))  # fmt: skip
        return hashing.size, hashing.sha256

    def read_part(self, backup: str, name: str) -> Iterator[bytes]:
        reply = self._call(
            "read", lambda: self.client.get_object(self.bucket, self._key(backup, name))
        )
        try:
            yield from reply.stream(CHUNK)
        finally:
            reply.close()
            reply.release_conn()

    def finish(self, backup: str, manifest: str) -> None:
        data = manifest.encode()
        self._call("write", lambda: self.client.put_object(
            self.bucket, self._key(backup, MANIFEST), io.BytesIO(data), length=len(data),
            content_type="application/json",
        ))  # fmt: skip

    def discard(self, backup: str) -> None:
        prefix = f"{self.base}/{backup}/"
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            self.client.remove_object(self.bucket, obj.object_name)

    def _ensure_bucket(self) -> None:
        if not self._call("reach", lambda: self.client.bucket_exists(self.bucket)):
            self._call("create a bucket in", lambda: self.client.make_bucket(self.bucket))

    def _call(self, what: str, call: Any) -> Any:
        try:
            return call()
        except S3Error as exc:
            raise EngineError(f"cannot {what} {self.where}: {exc.code}: {exc.message}") from None
        except (MinioException, OSError) as exc:
            raise EngineError(f"cannot {what} {self.where}: {str(exc)[:200]}") from None


def s3_store(endpoint: str, credentials: tuple[str, str], region: str | None, bucket: str,
             base: str) -> S3Store:  # fmt: skip
    """The store at `endpoint` (a URL, or a host taken as https), `bucket`, under `base`."""
    url = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    access, secret = credentials
    client = Minio(url.netloc, access_key=access, secret_key=secret,
                   secure=url.scheme == "https", region=region or None)  # fmt: skip
    return S3Store(client, bucket, base, url.netloc)
