"""A stack that keeps data (postgres, redis, MinIO from the stock blueprints) in a namespace of
its own on the testbed, for the backup tests: devkit run as the user runs it, SQL and redis
commands through `devkit exec`, and the MinIO service's S3 API through a port-forward."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from minio import Minio

from tests.conftest import Run, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import K8sTestbed, wait_for

SQL = "psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U shop -d shop -At -c"
SECRETS = ("SHOP_DB_PASSWORD", "CACHE_PASSWORD", "S3_PASSWORD")
"""The stack's secrets (postgres, redis, MinIO's), each a fresh test-only value."""


@dataclass(frozen=True)
class DataStack:
    """Project `project` in `root`, environment "dev" in `namespace`."""

    testbed: K8sTestbed
    root: Path
    project: str
    namespace: str
    env: dict[str, str]
    passwords: dict[str, str]

    def devkit(self, *args: str, timeout: float = 300, extra: dict[str, str] | None = None) -> Run:
        return run_devkit(*args, cwd=self.root, env={**self.env, **(extra or {})},
                          timeout=timeout)  # fmt: skip

    def sql(self, statement: str) -> str:
        run = self.devkit("exec", "-e", "dev", "postgres", "--", "sh", "-c",
                          f'PGPASSWORD="$POSTGRES_PASSWORD" {SQL} "{statement}"')  # fmt: skip
        assert run.code == 0, run.stdout + run.stderr
        return run.stdout

    def redis(self, *command: str) -> str:
        run = self.devkit("exec", "-e", "dev", "redis", "--", "sh", "-c",
                          'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ' + " ".join(command))  # fmt: skip
        assert run.code == 0, run.stdout + run.stderr
        return run.stdout.strip()

    @contextlib.contextmanager
    def minio(self) -> Iterator[tuple[Minio, str]]:
        """The MinIO service's S3 API through a port-forward of the test's own: a client, and
        the endpoint (http://127.0.0.1:PORT)."""
        log_path = self.root.parent / f"port-forward-{uuid.uuid4().hex[:6]}.log"
        with log_path.open("w") as log:
            proc = self.testbed.kubectl_popen("port-forward", "-n", self.namespace, "svc/minio",
                                              "--address", "127.0.0.1", ":9000", stdout=log)  # fmt: skip
        try:
            found = wait_for("the port-forward to minio",
                             lambda: re.findall(r"127\.0\.0\.1:(\d+) ->", log_path.read_text()),
                             30)  # fmt: skip
            client = Minio(f"127.0.0.1:{found[0]}", access_key="shop",
                           secret_key=self.passwords["S3_PASSWORD"], secure=False)  # fmt: skip
            yield client, f"http://127.0.0.1:{found[0]}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def data_stack(testbed: K8sTestbed, tmp_path: Path, prefix: str, blueprint: str) -> DataStack:
    """A new project named `prefix` and six hex digits, its blueprint `blueprint` (formatted
    with `name` and `cluster`)."""
    project = f"{prefix}{uuid.uuid4().hex[:6]}"
    root = tmp_path / project
    root.mkdir()
    (root / "blueprint.py").write_text(blueprint.format(name=project, cluster=testbed.cluster))
    passwords = {name: "test-only-" + uuid.uuid4().hex[:8] for name in SECRETS}
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "PATH": testbed.path(),
        "KUBECONFIG": str(testbed.kubeconfig), "DEVKIT_CACHE": str(tmp_path / "cache"),
        **passwords,
    }  # fmt: skip
    return DataStack(testbed, root, project, f"{project}-dev", env, passwords)
