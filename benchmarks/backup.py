"""Throughput of `devkit backup` and `devkit restore` of a postgres database, next to plain
pg_dump and pg_restore run by hand (`docker exec`) on the same data.

Makes a project of its own (`bkbench-XXXXXX`: the stock postgres blueprint, on Docker, through
tests/setup/image-map.txt), fills a table until the database is --mb MB (pg_database_size), then
alternates, --runs times:

- by hand:  `docker exec CONTAINER pg_dump --format=custom ... > FILE` and `docker exec -i
            CONTAINER pg_restore --clean --if-exists --single-transaction ... < FILE` (the
            same flags devkit uses);
- devkit:   `devkit backup local` (into a directory store, sha256 of the part computed on the
            way) and `devkit restore local --from ID` (the part read and checked first, then
            restored).

Each figure is the median of the runs with min and max, and MB/s of the database's size (MB =
10**6 bytes). The dump's size is printed too. Everything is removed at the end.

    .venv/bin/python benchmarks/backup.py [--mb 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEVKIT = REPO / ".venv" / "bin" / "devkit"
IMAGE_MAP = REPO / "tests" / "setup" / "image-map.txt"
TIMEOUT = 3600
BLUEPRINT = """
from devkit import Blueprint, Docker, Secret
from blueprints import postgres
app = Blueprint("{name}")
app.use(postgres(database="bench", user="bench", password=Secret("BENCH_DB_PASSWORD")))
app.environment("local", Docker())
"""
PSQL = 'PGPASSWORD="$POSTGRES_PASSWORD" psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U bench -d bench'
DUMP = 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump --format=custom -h 127.0.0.1 -U bench -d bench'
RESTORE = ('PGPASSWORD="$POSTGRES_PASSWORD" pg_restore --clean --if-exists --single-transaction '
           "--exit-on-error --no-owner -h 127.0.0.1 -U bench -d bench")  # fmt: skip


def run(*args: str, cwd: Path, env: dict[str, str], stdin: object = None,
        stdout: object = subprocess.PIPE) -> str:  # fmt: skip
    proc = subprocess.run(args, cwd=cwd, env=env, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])}... failed: {proc.stderr.decode()[-2000:]}")
    return proc.stdout.decode() if isinstance(proc.stdout, bytes) else ""


def timed(action: Callable[[], object]) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def figure(name: str, seconds: list[float], megabytes: float) -> str:
    median = statistics.median(seconds)
    return (f"{name:<22} {median:7.1f} s  (min {min(seconds):.1f}, max {max(seconds):.1f})  "
            f"{megabytes / median:6.1f} MB/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="database size in MB (10**6 bytes)")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    name = f"bkbench-{secrets.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix=name))
    (root / "blueprint.py").write_text(BLUEPRINT.format(name=name))
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP.read_text(), "NO_COLOR": "1",
           "BENCH_DB_PASSWORD": secrets.token_hex(8), "PYTHONPATH": str(REPO)}  # fmt: skip
    container = f"{name}-local-postgres"
    try:
        run(str(DEVKIT), "up", "--detach", cwd=root, env=env)
        container = run("docker", "ps", "-q", "--filter", f"label=dev.devkit.project={name}",
                        cwd=root, env=env).strip()  # fmt: skip

        def psql(sql: str) -> str:
            return run("docker", "exec", container, "sh", "-c", f'{PSQL} -At -c "{sql}"',
                       cwd=root, env=env)  # fmt: skip

        rows = options.mb * 10**6 // 330  # ~330 bytes a row with its overhead
        print(f"filling {options.mb} MB ({rows} rows)…", flush=True)
        filled = timed(lambda: psql(
            "CREATE TABLE orders AS SELECT i AS id, md5(i::text) AS ref, md5((i * 3)::text) || "
            "md5((i * 5)::text) || md5((i * 7)::text) || md5((i * 11)::text) || "
            "md5((i * 13)::text) || md5((i * 17)::text) AS body, now() AS at "
            f"FROM generate_series(1, {rows}) AS i; "
            "ALTER TABLE orders ADD PRIMARY KEY (id)"
        ))  # fmt: skip
        size = int(psql("SELECT pg_database_size('bench')").strip())
        megabytes = size / 10**6
        print(f"database: {megabytes:.0f} MB in {filled:.0f} s; {options.runs} runs each\n")
        dump = root / "by-hand.pgdump"
        labels = ("pg_dump", "devkit backup", "pg_restore", "devkit restore")
        times: dict[str, list[float]] = {label: [] for label in labels}
        backup_id = ""
        part_size = 0
        for _ in range(options.runs):
            with dump.open("wb") as out:
                times["pg_dump"].append(timed(lambda out=out: run(
                    "docker", "exec", container, "sh", "-c", DUMP, cwd=root, env=env, stdout=out,
                )))  # fmt: skip
            shutil.rmtree(root / "backups", ignore_errors=True)
            result: dict[str, str] = {}

            def backup(result: dict[str, str] = result) -> None:
                result["json"] = run(str(DEVKIT), "backup", "local", "--json", cwd=root, env=env)

            times["devkit backup"].append(timed(backup))
            manifest = json.loads(result["json"])
            backup_id, part_size = manifest["id"], manifest["size"]
            with dump.open("rb") as source:
                times["pg_restore"].append(timed(lambda source=source: run(
                    "docker", "exec", "-i", container, "sh", "-c", RESTORE, cwd=root, env=env,
                    stdin=source,
                )))  # fmt: skip
            times["devkit restore"].append(timed(lambda backup_id=backup_id: run(
                str(DEVKIT), "restore", "local", "--from", backup_id, cwd=root, env=env,
            )))  # fmt: skip
        assert int(psql("SELECT count(*) FROM orders").strip()) == rows
        print(f"dump: {dump.stat().st_size / 10**6:.0f} MB by hand, {part_size / 10**6:.0f} MB "
              f"by devkit (custom format, compressed)")  # fmt: skip
        for label, seconds in times.items():
            print(figure(label, seconds, megabytes))
    finally:
        subprocess.run([str(DEVKIT), "down", "--volumes"], cwd=root, env=env,
                       capture_output=True, timeout=300, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
