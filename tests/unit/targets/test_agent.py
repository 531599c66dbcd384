"""The archive-API transfer's pure parts: which volume a file goes to, and the tar for it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from devkit.targets.agent import by_mount, tar_of


def test_files_go_to_the_innermost_volume_that_holds_them() -> None:
    files = {
        "/srv/app/main.py": "a",
        "/srv/app/pkg/mod.py": "b",
        "/srv/app/static/x.css": "c",
        "/etc/motd": "d",
    }
    groups = by_mount(files, ["/srv/app", "/srv/app/static", "/srv/ap"])
    assert groups == {
        "/srv/app": {"/srv/app/main.py": "a", "/srv/app/pkg/mod.py": "b"},
        "/srv/app/static": {"/srv/app/static/x.css": "c"},
        "/": {"/etc/motd": "d"},  # the root filesystem: the engine refuses it when read-only
    }


def test_tar_names_are_relative_to_where_it_is_extracted(tmp_path: Path) -> None:
    local = tmp_path / "main.py"
    local.write_text("print(1)\n")
    local.chmod(0o750)
    data = tar_of({"/srv/app/pkg/main.py": str(local)}, "/srv/app")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        (member,) = archive.getmembers()
    assert member.name == "pkg/main.py" and member.mode == 0o750
    whole = tar_of({"/srv/app/pkg/main.py": str(local)})
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        assert archive.getnames() == ["srv/app/pkg/main.py"]
