"""A build context as Docker sees it: the files it sends (honouring .dockerignore) and their hash.

.dockerignore patterns are matched as Docker matches them: relative to the context root (a
pattern without "/" matches at the top level only; `**/` matches at any depth), later patterns
win, and `!` re-includes. The same file list feeds the content hash and the tar sent to the
engine, so the tag always describes exactly what was built.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pathspec

DOCKERFILE_IN_TAR = ".devkit.Dockerfile"


def dockerignore_patterns(context: Path) -> list[tuple[int, str]]:
    """The context's .dockerignore as (line number, pattern anchored at the context root)."""
    path = context / ".dockerignore"
    lines = path.read_text().splitlines() if path.is_file() else []
    anchored = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = os.path.normpath(pattern).lstrip("/") if pattern not in ("", ".") else pattern
        anchored.append((number, ("!" if negate else "") + "/" + pattern))
    return anchored


def ignore_spec(context: Path) -> pathspec.PathSpec[pathspec.Pattern]:
    """The context's .dockerignore as a matcher (empty when there is none)."""
    return pathspec.PathSpec.from_lines(
        "gitignore", [pattern for _, pattern in dockerignore_patterns(context)]
    )


def context_files(context: Path) -> list[str]:
    """Every file and symlink Docker would send from `context`, as sorted relative POSIX paths."""
    spec = ignore_spec(context)
    can_reinclude = any(p.include is False for p in spec.patterns)
    files: list[str] = []
    for folder, dirs, names in os.walk(context):
        rel_folder = Path(folder).relative_to(context).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        if not can_reinclude:
            dirs[:] = [d for d in dirs if not spec.match_file(prefix + d + "/")]
        dirs.sort()
        for name in names:
            rel = prefix + name
            if not spec.match_file(rel):
                files.append(rel)
        for name in dirs:
            if (Path(folder) / name).is_symlink() and not spec.match_file(prefix + name):
                files.append(prefix + name)
    return sorted(files)


def _file_digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + str(path.readlink())
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    executable = "x" if path.stat().st_mode & stat.S_IXUSR else "-"
    return executable + digest.hexdigest()


def content_hash(
    context: Path,
    files: Iterable[str],
    *,
    dockerfile: str,
    args: Mapping[str, str],
    target: str | None,
    bases: Mapping[str, str],
) -> str:
    """sha256 of what a build depends on: files, Dockerfile text, args, target, base images."""
    digest = hashlib.sha256()
    for rel in files:
        digest.update(f"file {rel} {_file_digest(context / rel)}\n".encode())
    digest.update(f"dockerfile {hashlib.sha256(dockerfile.encode()).hexdigest()}\n".encode())
    for key in sorted(args):
        digest.update(f"arg {key}={args[key]}\n".encode())
    digest.update(f"target {target or ''}\n".encode())
    for ref in sorted(bases):
        digest.update(f"base {ref} {bases[ref]}\n".encode())
    return digest.hexdigest()


def context_tar(context: Path, files: Iterable[str], dockerfile: str) -> io.BytesIO:
    """The tar stream to send: the listed files plus the Dockerfile to build with."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for rel in files:
            tar.add(context / rel, arcname=rel, recursive=False)
        data = dockerfile.encode()
        info = tarfile.TarInfo(DOCKERFILE_IN_TAR)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
