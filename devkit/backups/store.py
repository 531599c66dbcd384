"""Where backups are kept: a directory, or an S3-compatible store (MinIO, S3, ...).

Layout, in both: `<location>/<project>/<environment>/<backup id>/<part>` and `manifest.json`
beside the parts, written last. In a directory, a backup is written under `<id>.partial/` and
renamed to `<id>/` only once its manifest is in it; in S3, a backup without `manifest.json` is
partial. Either way an interrupted backup never looks complete, and listing shows only complete
ones. Credentials for S3 come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
and are never printed or written into a manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from devkit.errors import ConfigError, EngineError
from devkit.records.backup import MANIFEST

CHUNK = 1024 * 1024
_PARTIAL = ".partial"


class PartMissingError(EngineError):
    """A part the manifest names is not in the store."""


class Store(Protocol):
    """Backups of one project's environment in one place."""

    where: str  # shown to the user; never carries credentials

    def backups(self) -> list[str]:
        """The complete backups (with a manifest), oldest first."""
        ...

    def manifest(self, backup: str) -> str | None:
        """The manifest's text; None when there is no complete backup by that name."""
        ...

    def write_part(self, backup: str, name: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        """Store a part as it comes; (size, sha256) of what was stored."""
        ...

    def read_part(self, backup: str, name: str) -> Iterator[bytes]:
        """A stored part, in chunks; EngineError when it is not there."""
        ...

    def finish(self, backup: str, manifest: str) -> None:
        """Write the manifest: the backup is complete from here on."""
        ...

    def discard(self, backup: str) -> None:
        """Remove a backup that did not finish."""
        ...


class Hashing:
    """Counts and hashes bytes as they pass."""

    def __init__(self) -> None:
        self.size = 0
        self.digest = hashlib.sha256()

    def __call__(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            self.digest.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def measure(chunks: Iterable[bytes]) -> tuple[int, str]:
    """(size, sha256) of a stream, read to its end."""
    hashing = Hashing()
    for _ in hashing(chunks):
        pass
    return hashing.size, hashing.sha256


class DirectoryStore:
    """Backups in a directory on this machine."""

    def __init__(self, root: Path, project: str, environment: str) -> None:
        self.base = root / project / environment
        self.where = str(self.base)

    def backups(self) -> list[str]:
        if not self.base.is_dir():
            return []
        return sorted(p.name for p in self.base.iterdir() if (p / MANIFEST).is_file())

    def manifest(self, backup: str) -> str | None:
        path = self.base / backup / MANIFEST
        return path.read_text() if path.is_file() and "/" not in backup else None

    def write_part(self, backup: str, name: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        folder = self.base / (backup + _PARTIAL)
        folder.mkdir(parents=True, exist_ok=True)
        hashing = Hashing()
        with (folder / name).open("wb") as file:
            for chunk in hashing(chunks):
                file.write(chunk)
        return hashing.size, hashing.sha256

    def read_part(self, backup: str, name: str) -> Iterator[bytes]:
        path = self.base / backup / name
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise PartMissingError(f"part {name} of backup {backup} is missing") from None
        except OSError as exc:
            raise EngineError(f"cannot read part {name} of backup {backup}: {exc}") from None
        with file:
            while chunk := file.read(CHUNK):
                yield chunk

    def finish(self, backup: str, manifest: str) -> None:
        folder = self.base / (backup + _PARTIAL)
        folder.mkdir(parents=True, exist_ok=True)
        written = folder / (MANIFEST + ".tmp")
        with written.open("w") as file:
            file.write(manifest)
            file.flush()
            os.fsync(file.fileno())
        written.rename(folder / MANIFEST)
        folder.rename(self.base / backup)

    def discard(self, backup: str) -> None:
        shutil.rmtree(self.base / (backup + _PARTIAL), ignore_errors=True)


def open_store(location: str, root: Path, project: str, environment: str,
               environ: Mapping[str, str] | None = None) -> Store:  # fmt: skip
    """The store `location` names: `s3://BUCKET[/PREFIX]` (endpoint DEVKIT_S3_ENDPOINT,
    credentials AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or a directory (relative to the
    project's root)."""
    environ = os.environ if environ is None else environ
    if not location.startswith("s3://"):
        return DirectoryStore(root / location, project, environment)
    parsed = urllib.parse.urlsplit(location)
    endpoint = environ.get("DEVKIT_S3_ENDPOINT", "")
    access, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    missing = [n for n, v in (("DEVKIT_S3_ENDPOINT", endpoint), ("AWS_ACCESS_KEY_ID", access),
                              ("AWS_SECRET_ACCESS_KEY", secret)) if not v]  # fmt: skip
    if not parsed.netloc or missing:
        raise ConfigError(
            f"backup store {location}: "
            + ("no bucket named" if not parsed.netloc else f"{', '.join(missing)} not set"),
            details=["an S3 store is s3://BUCKET[/PREFIX], its endpoint DEVKIT_S3_ENDPOINT "
                     "(e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000), its "
                     "credentials AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                     "nothing was changed"],
        )  # fmt: skip
    # minio takes a second to import: only S3 stores need it
    from devkit.backups.s3 import s3_store  # noqa: PLC0415

    return s3_store(endpoint, (access or "", secret or ""), environ.get("AWS_REGION"),
                    parsed.netloc, "/".join(p for p in (parsed.path.strip("/"), project,
                                                         environment) if p))  # fmt: skip
