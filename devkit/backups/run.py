"""Take a backup of an environment's services, and restore one: engine-neutral, over the
`BacksUp` (and, for volume copies, `CopiesVolumes`) capabilities of its target.

Backup: each step's part is streamed from where the service runs into the store, counted and
hashed on the way; the manifest is written last. Restore: the manifest and every part it
restores are read and checked first (sizes and sha256); only then is anything changed.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from devkit.backups.store import CHUNK, Hashing, PartMissingError, Store, measure
from devkit.errors import EngineError, UserError
from devkit.planning.planner import Plan
from devkit.records.backup import (
    BackupNotFoundError,
    BackupRefusedError,
    Held,
    Manifest,
    Part,
    Step,
    check_parts,
    held,
    held_objects,
    new_id,
    reading,
    replacing,
    restore_steps,
    select,
)
from devkit.targets.base import BacksUp, CopiesVolumes, Releases, supports
from devkit.targets.outcome import Progress


@dataclass(frozen=True)
class Restored:
    """What a restore put back."""

    backup: Manifest
    parts: tuple[Part, ...]
    seconds: float
    replaced: tuple[Held, ...] = ()
    """What the services held before (restored over with --force)."""


def last_release(target: object) -> int | None:
    """The number of the environment's last healthy release, where its target keeps them."""
    if not supports(target, Releases):
        return None
    assert isinstance(target, Releases)
    healthy = [r.number for r in target.records.releases() if r.status == "healthy"]
    return max(healthy) if healthy else None


def backup(
    target: BacksUp,
    plan: Plan,
    root: Path,
    store: Store,
    *,
    services: Sequence[str],
    progress: Progress,
    cluster: str | None = None,
) -> Manifest:
    """Back up the named services (all with data when none are named) into `store`; `cluster`
    names the one it runs on, of an environment on several."""
    copies = supports(target, CopiesVolumes)
    selection = select(plan, services, copies_volumes=copies)
    for warning in selection.warnings:
        progress("", "warning", warning)
    if not selection.steps:
        raise UserError(
            f"{plan.project}/{plan.environment} has no data to back up",
            details=[*selection.warnings, "nothing was changed"],
        )
    _require_running(target, plan, [s.service for s in selection.steps],
                     "a backup reads its data where it runs")  # fmt: skip
    began = time.monotonic()
    now = datetime.now(UTC)
    backup_id = new_id(now, secrets.token_hex(3))
    parts: list[Part] = []
    try:
        for step in selection.steps:
            progress(step.service, "backup", f"{step.method} -> {step.part}")
            started = time.monotonic()
            try:
                size, digest = _take(target, (plan, root), store, backup_id, step,
                                     progress=progress)  # fmt: skip
            except EngineError as exc:
                raise EngineError(
                    f"{step.method} of {exc.message}",
                    details=[*exc.details, f"no backup was kept ({backup_id} is removed)"],
                ) from None
            parts.append(Part(step.part, step.service, step.method, size, digest))
            took = time.monotonic() - started
            progress(step.service, "backed-up", f"{step.part}: {_size(size)} in {took:.1f}s")
        manifest = Manifest(
            id=backup_id, project=plan.project, environment=plan.environment,
            created=now.isoformat(timespec="seconds"), plan_hash=plan.hash,
            release=last_release(target),
            services=tuple(dict.fromkeys(s.service for s in selection.steps)),
            parts=tuple(parts), warnings=tuple(selection.warnings),
            seconds=round(time.monotonic() - began, 2), cluster=cluster,
        )  # fmt: skip
        store.finish(backup_id, manifest.to_json())
    except BaseException:
        store.discard(backup_id)
        raise
    return manifest


def _require_running(target: BacksUp, plan: Plan, services: Sequence[str], why: str) -> None:
    for name in dict.fromkeys(services):
        if not target.running(name):
            raise UserError(
                f'service "{name}" is not running in {plan.project}/{plan.environment}: {why}',
                details=[f"start it with `devkit up -e {plan.environment} {name}` (or deploy "
                         "it); nothing was changed"],
            )  # fmt: skip


def _take(
    target: BacksUp, where: tuple[Plan, Path], store: Store, backup_id: str, step: Step,
    *, progress: Progress,
) -> tuple[int, str]:  # fmt: skip
    if step.how == "exec":
        return store.write_part(backup_id, step.part, target.dump(step.service, step.dump))
    if step.how == "volume":
        assert isinstance(target, CopiesVolumes)
        with target.stopped(step.service, progress) as volumes:
            return store.write_part(backup_id, step.part, volumes.dump(step.dump))
    from devkit.backups.objects import objects_client, objects_to_tar  # noqa: PLC0415 - minio

    with objects_client(target, *where, step) as client, tempfile.TemporaryFile() as file:
        objects_to_tar(client, file)
        file.seek(0)
        return store.write_part(backup_id, step.part, _file_chunks(file))


def find(store: Store, plan: Plan, name: str) -> Manifest:
    """The complete backup `name` (or "latest") of the environment, its manifest checked."""
    found = store.backups()
    if name == "latest":
        if not found:
            raise BackupNotFoundError(
                f"no backup of {plan.project}/{plan.environment} in {store.where}",
                details=["take one with `devkit backup ENV`; nothing was changed"],
            )
        name = found[-1]
    text = store.manifest(name)
    if text is None:
        raise BackupNotFoundError(
            f"no complete backup {name} of {plan.project}/{plan.environment} in {store.where}",
            details=[f"backups there: {', '.join(found[-5:]) or '(none)'}"
                     + (" (latest 5)" if len(found) > 5 else ""),
                     "a backup that was interrupted has no manifest and is never restored",
                     "nothing was changed"],
        )  # fmt: skip
    manifest = Manifest.from_json(text, name)
    if manifest.id != name or manifest.project != plan.project:
        raise BackupRefusedError(
            f"backup {name} in {store.where} says it is {manifest.project}/"
            f"{manifest.environment} {manifest.id}",
            details=["its manifest does not belong where it is kept; nothing was changed"],
        )
    return manifest


def restore(
    target: BacksUp,
    plan: Plan,
    root: Path,
    store: Store,
    manifest: Manifest,
    *,
    services: Sequence[str],
    progress: Progress,
    other_environment: bool = False,
    force: bool = False,
) -> Restored:
    """Check the backup's parts, then put the named services' data (all it holds) back.
    A backup of another environment is restored only when asked (`other_environment`); a
    service that holds data now is restored over only when asked (`force`)."""
    if manifest.environment != plan.environment and not other_environment:
        raise UserError(
            f"backup {manifest.id} is of environment {manifest.environment}, not "
            f"{plan.environment}",
            details=[f"restore it into {plan.environment} with --from "
                     f"{manifest.environment}/{manifest.id}; nothing was changed"],
        )  # fmt: skip
    pairs = restore_steps(plan, manifest, services,
                          copies_volumes=supports(target, CopiesVolumes))  # fmt: skip
    began = time.monotonic()
    found = {}
    for _, part in pairs:
        progress(part.service, "verify", part.name)
        try:
            found[part.name] = measure(store.read_part(manifest.id, part.name))
        except PartMissingError:
            continue  # check_parts names it
    problems = check_parts(replace(manifest, parts=tuple(p for _, p in pairs)), found)
    if problems:
        raise BackupRefusedError(
            f"backup {manifest.id} does not match its manifest: refused",
            details=[*problems, "nothing was changed"],
        )
    _require_running(target, plan, [step.service for step, _ in pairs],
                     "a restore puts its data back where it runs")  # fmt: skip
    where = f"{plan.project}/{plan.environment}"
    held_now = []
    for step, _ in pairs:
        try:
            held_now.append(_holding(target, (plan, root), step))
        except EngineError as exc:
            if not force:
                raise EngineError(
                    f"cannot tell what {step.service} holds now, so what a restore would "
                    f"replace: {exc.message}",
                    details=[*exc.details, "--force restores without asking; nothing was changed"],
                ) from None
            progress(step.service, "warning",
                     f"cannot tell what {step.service} holds now: {exc.message}")  # fmt: skip
    replaced = replacing(held_now, force=force, backup_id=manifest.id, where=where)
    for was in replaced:
        progress(was.service, "replace", f"{was.part}: it holds {was.says} (--force)")
    for step, part in pairs:
        started = time.monotonic()
        progress(step.service, "restore", f"{part.name} ({_size(part.size)}, {step.method})")
        try:
            _put(target, (plan, root), store, (manifest.id, part), step, progress=progress)
        except EngineError as exc:
            raise EngineError(
                f"restoring {part.name} ({step.method}) into {exc.message}",
                details=[*exc.details, *_partly(step)],
            ) from None
        progress(step.service, "restored", f"in {time.monotonic() - started:.1f}s")
    return Restored(manifest, tuple(p for _, p in pairs), round(time.monotonic() - began, 2),
                    replaced)  # fmt: skip


def _holding(target: BacksUp, where: tuple[Plan, Path], step: Step) -> Held:
    """What the service holds now, asked where it runs (the backup's own exec path)."""
    if step.how == "s3":
        from devkit.backups.objects import objects_client, objects_held  # noqa: PLC0415 - minio

        with objects_client(target, *where, step) as client:
            return held_objects(step, objects_held(client, step.service))
    output = b"".join(target.dump(step.service, step.holds)).decode(errors="replace")
    try:
        return held(step, output)
    except ValueError as exc:
        raise EngineError(f'service "{step.service}": {exc}') from None


def _put(
    target: BacksUp, where: tuple[Plan, Path], store: Store, stored: tuple[str, Part],
    step: Step, *, progress: Progress,
) -> None:  # fmt: skip
    backup_id, part = stored
    chunks = _checked(store.read_part(backup_id, part.name), part)
    if step.how == "exec":
        target.load(step.service, reading(step.restore, part.size), chunks)
        return
    if step.how == "volume":
        assert isinstance(target, CopiesVolumes)
        with target.stopped(step.service, progress) as volumes:
            volumes.load(reading(step.restore, part.size), chunks)
        return
    from devkit.backups.objects import objects_client, objects_from_tar  # noqa: PLC0415 - minio

    with objects_client(target, *where, step) as client, tempfile.TemporaryFile() as file:
        for chunk in chunks:
            file.write(chunk)
        file.seek(0)
        objects_from_tar(client, file)


def _partly(step: Step) -> list[str]:
    """What a failed restore of a step left, by how it restores."""
    if step.method == "pg_dump":
        return ["pg_restore runs in one transaction: the database is as it was before"]
    if step.method == "redis_rdb":
        return ["the server keeps its data until the snapshot has loaded, then takes it whole"]
    return [f'service "{step.service}" may hold part of the backup: restore it again']


def _checked(chunks: Iterable[bytes], part: Part) -> Iterator[bytes]:
    """The part's bytes, checked again as they are restored (the store could change meanwhile)."""
    hashing = Hashing()
    yield from hashing(chunks)
    if (hashing.size, hashing.sha256) != (part.size, part.sha256):
        raise BackupRefusedError(
            f"part {part.name} changed in the store while it was restored",
            details=[f'service "{part.service}" may hold part of it: restore it again'],
        )


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK):
        yield chunk
