"""Backups: what to back up and how (steps), and the manifest that describes a backup. Pure.

A backup is a set of parts (one file per service, or per volume) and a manifest written last:
the services, the plan hash, the release that ran (if the target keeps releases), the size and
sha256 of every part. A backup without a manifest is partial and never restored; `restore`
checks every part against the manifest before it changes anything.

Each method a service declares (`devkit/model/backup.py`) becomes commands run where the service
runs: one that writes the part on stdout, one that reads it on stdin. The commands read the
service's own environment inside the container, so no credential passes through devkit.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from devkit.errors import RefusedError, UserError
from devkit.model.backup import BackupMethod, PgDump, RedisSnapshot, S3Objects, VolumeCopy
from devkit.planning.planner import Plan, PlannedService

FORMAT = 1
MANIFEST = "manifest.json"
_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")

How = Literal["exec", "volume", "s3"]


class BackupNotFoundError(UserError):
    """No complete backup by that name in the store (exit 2)."""


class BackupRefusedError(RefusedError):
    """A backup whose manifest or parts do not match (exit 3); nothing was changed."""


@dataclass(frozen=True)
class Step:
    """One part of a backup: how it is taken and put back.

    `how` is "exec" (dump and restore run in the service's running container), "volume" (they
    run beside the stopped service, with its volumes) or "s3" (objects over the service's S3
    API, port `port`)."""

    service: str
    method: str
    part: str
    how: How
    dump: tuple[str, ...] = ()
    restore: tuple[str, ...] = ()
    path: str | None = None  # volume copies: the volume's path in the container
    port: int | None = None  # s3: the container port of the S3 API
    access_key_env: str | None = None
    secret_key_env: str | None = None
    holds: tuple[str, ...] = ()
    """A command that says what the service holds now (what a restore would replace), run
    where the service runs; its output is read by `held()`. Empty for "s3": the objects are
    counted over the service's S3 API."""


@dataclass(frozen=True)
class Part:
    """A part of a backup as it was stored."""

    name: str
    service: str
    method: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a backup holds; written last, so a backup without one is partial."""

    id: str
    project: str
    environment: str
    created: str
    plan_hash: str
    release: int | None
    services: tuple[str, ...]
    parts: tuple[Part, ...]
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    format: int = FORMAT
    cluster: str | None = None
    """The cluster it was taken on, of an environment on several (`release` is that
    cluster's)."""

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["size"] = self.size
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        """The manifest in `text`; BackupRefusedError when it is not one devkit can trust."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, devkit reads {FORMAT}")
            parts = tuple(Part(**p) for p in data["parts"])
            manifest = cls(
                id=str(data["id"]), project=str(data["project"]),
                environment=str(data["environment"]), created=str(data["created"]),
                plan_hash=str(data["plan_hash"]), release=data.get("release"),
                services=tuple(data["services"]), parts=parts,
                warnings=tuple(data.get("warnings", ())), seconds=float(data.get("seconds", 0)),
                cluster=data.get("cluster"),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupRefusedError(
                f"the manifest of backup {where} is not readable: {exc}",
                details=["nothing was changed"],
            ) from None
        for part in parts:
            if not re.fullmatch(r"[0-9a-f]{64}", part.sha256) or "/" in part.name:
                raise BackupRefusedError(
                    f"the manifest of backup {where} names a part it cannot hold: {part.name}",
                    details=["nothing was changed"],
                )
        return manifest


@dataclass
class Selection:
    """The steps of a backup, and what is not backed up (and why)."""

    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def new_id(now: datetime, token: str) -> str:
    """A backup's name: its UTC time (sortable) and 6 hex digits."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{token[:6]}"


def is_id(text: str) -> bool:
    return bool(_ID.match(text))


def method_of(service: PlannedService) -> BackupMethod | None:
    """The service's declared method; a copy of its volumes without one; None: nothing kept."""
    if service.backup is not None:
        return service.backup
    return VolumeCopy() if service.volumes else None


def select(plan: Plan, names: Sequence[str], *, copies_volumes: bool) -> Selection:
    """The steps that back up the named services (all with data, when none are named).

    `copies_volumes`: whether the target can copy a stopped service's volumes; where it cannot,
    a service that would need it is left out with a warning (or refused, when named)."""
    known = {s.name: s for s in plan.services}
    keeping = [s.name for s in plan.services if method_of(s) is not None]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(
            f"no service {', '.join(repr(n) for n in unknown)} in {plan.project}/"
            f"{plan.environment}",
            details=[f"services with data to back up: {', '.join(keeping) or '(none)'}"],
        )
    empty = [n for n in names if n not in keeping]
    if empty:
        raise UserError(
            f"{', '.join(repr(n) for n in empty)} keep{'s' if len(empty) == 1 else ''} no data: "
            "no volume and no backup method",
            details=[f"services with data to back up: {', '.join(keeping) or '(none)'}"],
        )
    chosen = list(names) or keeping
    selection = Selection()
    for name in chosen:
        service = known[name]
        method = method_of(service)
        if isinstance(method, VolumeCopy) and not copies_volumes:
            why = (
                f'service "{name}": its volumes ({", ".join(sorted(service.volumes))}) are not '
                f"backed up: {plan.target.kind} targets cannot copy a stopped service's volumes; "
                "declare a backup method (docs/backup.md)"
            )
            if names:
                raise UserError(why, details=["nothing was changed"])
            selection.warnings.append(why)
            continue
        selection.steps += steps_for(service, method)
    return selection


def steps_for(service: PlannedService, method: BackupMethod | None) -> list[Step]:
    """The parts one service's method makes."""
    name = service.name
    if isinstance(method, PgDump):
        return [Step(name, method.kind, f"{name}.pgdump", "exec",
                     dump=pg_dump(method), restore=pg_restore(method),
                     holds=pg_rows(method))]  # fmt: skip
    if isinstance(method, RedisSnapshot):
        return [Step(name, method.kind, f"{name}.rdb", "exec",
                     dump=redis_dump(method), restore=redis_restore(method),
                     holds=redis_keys(method))]  # fmt: skip
    if isinstance(method, S3Objects):
        port = service.ports[method.port].container
        return [Step(name, method.kind, f"{name}.objects.tar", "s3", port=port,
                     access_key_env=method.access_key_env,
                     secret_key_env=method.secret_key_env)]  # fmt: skip
    if isinstance(method, VolumeCopy):
        return [
            Step(name, method.kind, f"{name}.{volume}.tar", "volume", path=spec.path,
                 dump=volume_dump(spec.path), restore=volume_restore(spec.path),
                 holds=volume_entries(spec.path))
            for volume, spec in sorted(service.volumes.items())
        ]  # fmt: skip
    return []


# --- the commands ------------------------------------------------------------------------
def _password(env: str | None, variable: str) -> str:
    return f'{variable}="${{{env}:-}}" ' if env else ""


def pg_dump(
    method: PgDump, server: str = "-h 127.0.0.1", into: str | None = None
) -> tuple[str, ...]:
    """pg_dump in custom format (compressed, restorable table by table) to stdout (or the file
    `into`) from the server `server` names (its options); it gives up (and says so) when a
    table stays locked against it for 5 minutes, instead of waiting."""
    return (
        "sh", "-c",
        f"{_password(method.password_env, 'PGPASSWORD')}exec pg_dump --format=custom "
        f"--lock-wait-timeout=300s --no-password {server} "
        f'-U "${method.user_env}" -d "${method.database_env}"'
        + (f" -f {shlex.quote(into)}" if into else ""),
    )  # fmt: skip


def pg_restore(method: PgDump) -> tuple[str, ...]:
    """pg_restore from stdin: what the dump holds is dropped and made again, in one transaction
    (a failure changes nothing)."""
    return (
        "sh", "-c",
        f"{_password(method.password_env, 'PGPASSWORD')}exec pg_restore --clean --if-exists "
        "--single-transaction --exit-on-error --no-owner --no-password -h 127.0.0.1 "
        f'-U "${method.user_env}" -d "${method.database_env}"',
    )  # fmt: skip


_REDIS_CLI = 'cli() {{ redis-cli -h 127.0.0.1 -p {port} --no-auth-warning "$@"; }}; {auth}'


def _redis_auth(method: RedisSnapshot) -> str:
    return f'export REDISCLI_AUTH="${{{method.password_env}:-}}"; ' if method.password_env else ""


def _redis_prelude(method: RedisSnapshot) -> str:
    return "set -eu; " + _REDIS_CLI.format(port=method.port, auth=_redis_auth(method))


def _until(condition: str, seconds: int, fail: str) -> str:
    """Shell: poll `condition` every 0.1 s; after `seconds`, run `fail` and exit 1."""
    return (
        f"i=0; until {condition}; do i=$((i+1)); "
        f"[ $i -lt {seconds * 10} ] || {{ {fail}; exit 1; }}; sleep 0.1; done; "
    )


def redis_dump(method: RedisSnapshot) -> tuple[str, ...]:
    """BGSAVE, wait (at most 10 minutes) until it is done and succeeded, then the RDB file."""
    script = _redis_prelude(method) + (
        "cli BGSAVE >/dev/null 2>&1 || true; "
        + _until(
            "! cli INFO persistence | grep -q '^rdb_bgsave_in_progress:1'",
            600,
            "echo 'BGSAVE did not finish in 10 minutes' >&2",
        )
        + "cli INFO persistence | grep -q '^rdb_last_bgsave_status:ok' "
        "|| { echo 'BGSAVE failed (see the server log)' >&2; exit 1; }; "
        "dir=$(cli CONFIG GET dir | sed -n 2p); file=$(cli CONFIG GET dbfilename | sed -n 2p); "
        'exec cat "$dir/$file"'
    )
    return ("sh", "-c", script)


def redis_rdb_over_network(method: RedisSnapshot, host: str, into: str) -> tuple[str, ...]:
    """The server's RDB snapshot fetched over the network (`redis-cli --rdb`: the server makes
    a fresh snapshot and sends it, as to a replica) into the file `into`, once the server
    answers; the same file a BGSAVE writes, so it is restored the same way."""
    cli = f"redis-cli -h {host} -p {method.port} --no-auth-warning"
    script = (
        "set -eu; " + _redis_auth(method) + _reached(f"{cli} PING >/dev/null 2>&1", host)
        + f"exec {cli} --rdb {shlex.quote(into)}"
    )  # fmt: skip
    return ("sh", "-c", script)


def redis_restore(method: RedisSnapshot) -> tuple[str, ...]:
    """Load the snapshot into a temporary server (127.0.0.1 only, in /tmp), make the running
    server its replica until it has all of it, then promote it back and stop the temporary one.

    The running server's data is replaced as a whole; it never restarts."""
    script = _redis_prelude(method) + (
        "d=/tmp/devkit-restore; rm -rf $d; mkdir -p $d; cat > $d/dump.rdb; "
        "redis-server --port 6390 --bind 127.0.0.1 --dir $d --dbfilename dump.rdb --save '' "
        "--appendonly no --daemonize yes --pidfile $d/pid --logfile $d/log "
        "--protected-mode no; "
        't() { redis-cli -h 127.0.0.1 -p 6390 "$@"; }; '
        "stop() { t SHUTDOWN NOSAVE >/dev/null 2>&1 || true; rm -rf $d; }; "
        + _until('[ "$(t PING 2>/dev/null)" = PONG ]', 300, "cat $d/log >&2; stop")
        + "cli REPLICAOF 127.0.0.1 6390 >/dev/null; "
        + _until(
            "cli INFO replication | grep -q '^master_link_status:up' "
            "&& ! cli INFO persistence | grep -q '^loading:1'",
            600,
            "echo 'the snapshot did not load in 10 minutes' >&2; "
            "cli REPLICAOF NO ONE >/dev/null; stop",
        )
        + "cli REPLICAOF NO ONE >/dev/null; stop"
    )
    return ("sh", "-c", script)


def volume_dump(path: str) -> tuple[str, ...]:
    """A tar of what the volume holds (owners by number), without the volume's own directory:
    a helper that is not root could not give that back its mode."""
    return (
        "sh", "-c",
        'cd "$0" && find . -mindepth 1 -maxdepth 1 -print0 '
        "| exec tar --numeric-owner --null -T - -cf -", path,
    )  # fmt: skip


def volume_restore(path: str) -> tuple[str, ...]:
    """Empty the volume, then unpack the tar into it: modes kept, owners too where the helper
    runs as root (Docker); the volume's own directory keeps its owner and mode."""
    return (
        "sh", "-c",
        'find "$0" -mindepth 1 -delete && '
        'exec tar --numeric-owner --no-overwrite-dir -xpf - -C "$0"', path,
    )  # fmt: skip


# --- what a service holds now (what a restore would replace) -------------------------------
_PG_TABLES = (
    "SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, "
    "n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' "
    "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"
)


def pg_rows(method: PgDump) -> tuple[str, ...]:
    """`schema.table|rows` for every user table of the database (psql's \\gexec counts each)."""
    return (
        "sh", "-c",
        "printf '%s\\n' \"$0\" '\\gexec' | "
        f"{_password(method.password_env, 'PGPASSWORD')}psql -X -q -At -v ON_ERROR_STOP=1 "
        f'--no-password -h 127.0.0.1 -U "${method.user_env}" -d "${method.database_env}"',
        _PG_TABLES,
    )  # fmt: skip


def redis_keys(method: RedisSnapshot) -> tuple[str, ...]:
    """The server's keyspace (`db0:keys=12,...` per database that has keys)."""
    return ("sh", "-c", _redis_prelude(method) + "cli INFO keyspace")


def volume_entries(path: str) -> tuple[str, ...]:
    """`FILES DIRECTORIES`: how many of each the volume holds (its own directory not counted)."""
    return (
        "sh", "-c",
        'command -v find >/dev/null || { echo "find: not found" >&2; exit 127; }; '
        'cd "$0" || exit 1; '
        "f=$(find . -mindepth 1 ! -type d 2>/dev/null | wc -l); "
        "d=$(find . -mindepth 1 -type d 2>/dev/null | wc -l); "
        'echo "$f $d"', path,
    )  # fmt: skip


def reading(command: Sequence[str], size: int) -> tuple[str, ...]:
    """`command` fed exactly `size` bytes of stdin, then end of input.

    An engine may be unable to close a command's stdin (Kubernetes exec cannot): `head -c`
    stops reading after the part, so the command sees its end either way."""
    return ("sh", "-c", f"head -c {size} | {' '.join(shlex.quote(c) for c in command)}")


# --- scheduled backups: dumps over the network, in a pod of their own ---------------------
@dataclass(frozen=True)
class ScheduledDump:
    """One part of a scheduled backup: `command` runs in the service's own image, reads the
    service over the network at `host` and writes the part into `into`. `variables` are the
    service's environment variables it reads (its method's user, database, password)."""

    service: str
    method: str
    part: str
    command: tuple[str, ...]
    variables: tuple[str, ...]


def scheduled_dump(service: PlannedService, host: str, folder: str) -> ScheduledDump:
    """How a scheduled backup takes `service` (backed up by pg_dump or a redis snapshot)."""
    method = service.backup
    if isinstance(method, PgDump):
        part = f"{service.name}.pgdump"
        server = f"-h {host} -p {dump_port(service)}"
        variables: tuple[str | None, ...] = (
            method.user_env, method.database_env, method.password_env,
        )  # fmt: skip
        dump = pg_dump(method, server, f"{folder}/{part}")
        ready = _reached(f"pg_isready -q -t 2 {server}", host)
        command = (*dump[:2], ready + dump[2])
    elif isinstance(method, RedisSnapshot):
        part = f"{service.name}.rdb"
        variables = (method.password_env,)
        command = redis_rdb_over_network(method, host, f"{folder}/{part}")
    else:
        raise ValueError(f'service "{service.name}" has no method a schedule can run')
    kept = tuple(sorted({v for v in variables if v is not None}))
    return ScheduledDump(service.name, method.kind, part, command, kept)


def _reached(check: str, host: str) -> str:
    """Shell: wait (at most a minute) until `check` succeeds. A new pod's network policies may
    take a few seconds to be programmed on its node, and a dump runs as soon as the pod starts."""
    return (
        f"i=0; until {check}; do i=$((i+1)); [ $i -lt 60 ] || {{ echo 'service {host} was "
        "not reachable for a minute' >&2; exit 1; }; sleep 1; done; "
    )


def dump_port(service: PlannedService) -> int:
    """The port a scheduled dump reads the service on: a redis snapshot's, or PostgreSQL's (the
    service's only port, or 5432)."""
    if isinstance(service.backup, RedisSnapshot):
        return service.backup.port
    ports = [p.container for p in service.ports.values()]
    return ports[0] if len(ports) == 1 else 5432


# --- checking a backup before restoring it -------------------------------------------------
def restore_steps(
    plan: Plan, manifest: Manifest, names: Sequence[str], *, copies_volumes: bool
) -> list[tuple[Step, Part]]:
    """Each part of `manifest` to restore (of the named services, or all), with its step as
    the plan decides it now. Refuses services the backup does not hold or the plan lacks."""
    held = list(manifest.services)
    missing = [n for n in names if n not in held]
    if missing:
        raise UserError(
            f"backup {manifest.id} holds no {', '.join(repr(n) for n in missing)}",
            details=[f"it holds: {', '.join(held) or '(nothing)'}", "nothing was changed"],
        )
    chosen = list(names) or held
    known = {s.name: s for s in plan.services}
    absent = [n for n in chosen if n not in known]
    if absent:
        raise UserError(
            f"{plan.project}/{plan.environment} has no service {', '.join(absent)} to restore into",
            details=[f"services: {', '.join(known)}", "nothing was changed"],
        )
    pairs: list[tuple[Step, Part]] = []
    for name in chosen:
        service = known[name]
        steps = {s.part: s for s in steps_for(service, method_of(service))}
        for part in (p for p in manifest.parts if p.service == name):
            step = steps.get(part.name)
            if step is None or step.method != part.method:
                raise UserError(
                    f'service "{name}" is backed up by {part.method} in backup {manifest.id}, '
                    f"but by {_methods(steps) or 'nothing'} in {plan.environment} now",
                    details=["restore it where the service keeps its data the same way",
                             "nothing was changed"],
                )  # fmt: skip
            if step.how == "volume" and not copies_volumes:
                raise UserError(
                    f"{plan.target.kind} targets cannot restore a copy of service {name}'s volumes",
                    details=["nothing was changed"],
                )
            pairs.append((step, part))
    return pairs


def _methods(steps: Mapping[str, Step]) -> str:
    return ", ".join(sorted({s.method for s in steps.values()}))


def check_parts(manifest: Manifest, found: Mapping[str, tuple[int, str]]) -> list[str]:
    """What does not match the manifest: each part's (size, sha256) as read from the store."""
    problems = []
    for part in manifest.parts:
        got = found.get(part.name)
        if got is None:
            problems.append(f"part {part.name} is missing")
        elif got[0] != part.size:
            problems.append(f"part {part.name} has {got[0]} bytes, the manifest says {part.size}")
        elif got[1] != part.sha256:
            problems.append(f"part {part.name}: sha256 {got[1][:12]}…, the manifest says "
                            f"{part.sha256[:12]}…")  # fmt: skip
    return problems


# --- restoring over data ---------------------------------------------------------------------
@dataclass(frozen=True)
class Held:
    """What a service holds now, where one part of a backup would be restored."""

    service: str
    part: str
    amount: int
    """Rows, keys, objects, or files and directories: 0 is nothing a restore would replace."""
    says: str
    """For people: "12 rows in 3 tables", "4 keys", "20 objects in 1 bucket"."""


class RestoreWouldReplaceError(RefusedError):
    """A restore without --force into services that hold data (exit 3); nothing was changed."""

    def __init__(self, backup_id: str, where: str, held: Sequence[Held]) -> None:
        self.backup_id = backup_id
        self.held = tuple(held)
        super().__init__(
            f"restoring backup {backup_id} would replace what {where} holds now: refused",
            details=[*(f"{h.service} holds {h.says}" for h in held),
                     "restore anyway with --force (what they hold now is replaced), or name "
                     "only the services to restore",
                     "nothing was changed"],
        )  # fmt: skip


def _plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def held(step: Step, output: str) -> Held:
    """What the service holds, from the output of `step.holds` run where it runs."""
    if step.method == "pg_dump":
        rows = {}
        for line in output.splitlines():
            table, _, count = line.rpartition("|")
            if table and count.strip().isdigit():
                rows[table] = int(count)
        full = {t: n for t, n in rows.items() if n}
        total = sum(full.values())
        says = (f"{_plural(total, 'row')} in {_plural(len(full), 'table')}" if full
                else f"no rows ({_plural(len(rows), 'empty table')})")  # fmt: skip
        return Held(step.service, step.part, total, says)
    if step.method == "redis_rdb":
        keys = [int(n) for n in re.findall(r"^db[0-9]+:keys=([0-9]+)", output, re.MULTILINE)]
        return Held(step.service, step.part, sum(keys), _plural(sum(keys), "key"))
    files, _, directories = output.strip().partition(" ")
    if not (files.isdigit() and directories.strip().isdigit()):
        raise ValueError(f"unreadable count of {step.path}: {output.strip()[:80]!r}")
    entries = (int(files), int(directories))
    says = (f"{_plural(entries[0], 'file')} and "
            f"{_plural(entries[1], 'directory', 'directories')} in {step.path}")  # fmt: skip
    return Held(step.service, step.part, sum(entries), says)


def held_objects(step: Step, buckets: Mapping[str, int]) -> Held:
    """What an S3 service holds: objects per bucket."""
    full = {b: n for b, n in buckets.items() if n}
    total = sum(full.values())
    return Held(step.service, step.part, total,
                f"{_plural(total, 'object')} in {_plural(len(full), 'bucket')}")  # fmt: skip


def replacing(
    held_now: Sequence[Held], *, force: bool, backup_id: str, where: str
) -> tuple[Held, ...]:
    """What a restore would replace: the services that hold data. Refused (exit 3, nothing
    changed) unless `force`; a service that holds nothing (after a disaster) needs no flag."""
    holding = tuple(h for h in held_now if h.amount)
    if holding and not force:
        raise RestoreWouldReplaceError(backup_id, where, holding)
    return holding
