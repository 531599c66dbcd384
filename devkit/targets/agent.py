"""Moving files into a running container fast: a small agent inside it, or the archive API.

The agent is a Python program started once per container with `docker exec` as the container's
own user (whose capabilities are dropped: root could not write another user's files either),
reading requests on stdin and answering one JSON line each: `write` (files and symlinks, with
their permission bits, owned by the container's user), `rm`, `hash` (fingerprints of a tree, for
checked sync) and `restart` (HUP the
supervisor and wait until the new process runs). One round trip costs about a millisecond, where
each archive-API call or exec costs tens. Images without Python get `ArchiveTransfer`, the same
operations through the engine's archive API, exec and signals.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import stat
import struct
import tarfile
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from devkit.targets.base import Transfer, TransferError
from devkit.targets.fingerprint import fingerprint, tree_fingerprints

AGENT = (
    """
import grp, hashlib, io, json, os, pwd, shutil, signal, stat, sys, tarfile, time

def owner(spec):
    if not spec or spec in ("0", "root", "0:0"):
        return None
    user, _, group = spec.partition(":")
    uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
    if group:
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    else:
        try:
            gid = pwd.getpwuid(uid).pw_gid
        except KeyError:
            gid = uid
    return uid, gid

"""
    + inspect.getsource(fingerprint)
    + inspect.getsource(tree_fingerprints)
    + """
def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0

def forget_bytecode(path, caches):
    # Python trusts a .pyc whose source has the same size and mtime second: a quick second
    # edit of the same length would run stale code. Drop the cached bytecode of what we write.
    folder = os.path.join(os.path.dirname(path), "__pycache__")
    if folder not in caches:
        try:
            caches[folder] = os.listdir(folder)
        except OSError:
            caches[folder] = []
    prefix = os.path.basename(path)[:-3] + "."
    for name in caches[folder]:
        if name.startswith(prefix) and name.endswith(".pyc"):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass

def clear(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)

def handle(request, ids):
    op = request["op"]
    if op == "write":
        data = memoryview(sys.stdin.buffer.read(request["size"]))
        offset = 0
        made = set()
        caches = {}
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        for path, mode, size, link in request["files"]:
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            if link is not None:
                try:
                    os.symlink(link, path)
                except FileExistsError:
                    clear(path)
                    os.symlink(link, path)
                if ids:
                    os.lchown(path, *ids)
                continue
            try:
                fd = os.open(path, flags, mode)
            except OSError:  # a directory or a symlink is in the way
                clear(path)
                fd = os.open(path, flags, mode)
            try:
                chunk = data[offset:offset + size]
                while chunk:
                    chunk = chunk[os.write(fd, chunk):]
                os.fchmod(fd, mode)
                if ids:
                    os.fchown(fd, *ids)
            finally:
                os.close(fd)
            offset += size
            if path.endswith(".py"):
                forget_bytecode(path, caches)
        if ids:
            for folder in request.get("dirs", []):
                if os.path.isdir(folder):
                    os.lchown(folder, *ids)
        return {}
    if op == "rm":
        for path in request["paths"]:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.remove(path)
        return {}
    if op == "hash":
        return {"files": tree_fingerprints(request["root"])}
    if op == "restart":
        supervisor = read_pid("/tmp/.devkit-supervisor.pid")
        before = read_pid("/tmp/.devkit-child.pid")
        if not supervisor:
            return {"error": "no devkit supervisor in this container"}
        os.kill(supervisor, signal.SIGHUP)
        deadline = time.monotonic() + request.get("timeout", 10)
        while time.monotonic() < deadline:
            now = read_pid("/tmp/.devkit-child.pid")
            if now and now != before:
                return {"pid": now}
            time.sleep(0.002)
        return {"error": "the process did not restart within %ss" % request.get("timeout", 10)}
    return {"error": "unknown op " + op}

def main():
    # As root (a container that runs as root), files get the given owner; as anyone else, the
    # agent is the container's user and what it writes is that user's already.
    ids = owner(sys.argv[1] if len(sys.argv) > 1 else "") if os.geteuid() == 0 else None
    sys.stdout.write(json.dumps({"ready": True}) + "\\n")
    sys.stdout.flush()
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return
        try:
            answer = handle(json.loads(line), ids)
        except Exception as exc:
            answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
        sys.stdout.write(json.dumps(answer) + "\\n")
        sys.stdout.flush()

main()
"""
)


def tar_of(files: Mapping[str, str], root: str = "/") -> bytes:
    """A tar of local files (container path -> local path) to extract at `root`, symlinks and
    modes kept."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for dest, local in sorted(files.items()):
            arcname = str(PurePosixPath(dest).relative_to(root))
            archive.add(local, arcname=arcname, recursive=False)
    return buffer.getvalue()


def by_mount(files: Mapping[str, str], mounts: list[str]) -> dict[str, dict[str, str]]:
    """Files grouped by the innermost mount that holds them ("/" for the root filesystem): the
    engine extracts an archive into a read-only container only inside a volume."""
    groups: dict[str, dict[str, str]] = {}
    for dest, local in files.items():
        path = PurePosixPath(dest)
        holders = [m for m in mounts if PurePosixPath(m) in path.parents]
        root = max(holders, key=len, default="/")
        groups.setdefault(root, {})[dest] = local
    return groups


def parent_dirs(paths: list[str], stop_at: str) -> list[str]:
    """Directories between `stop_at` (exclusive) and each path, which extraction may create."""
    root = PurePosixPath(stop_at)
    found: set[str] = set()
    for path in paths:
        for parent in PurePosixPath(path).parents:
            if parent == root or root not in parent.parents:
                break
            found.add(str(parent))
    return sorted(found)


class AgentClient:
    """The agent's operations, over whatever carries its requests (`_call_raw`)."""

    def _call_raw(self, request: dict[str, Any] | None, payload: bytes = b"") -> dict[str, Any]:
        raise NotImplementedError

    def put(self, files: Mapping[str, str], dirs: list[str]) -> None:
        entries: list[list[object]] = []
        chunks: list[bytes] = []
        for dest, local in sorted(files.items()):
            info = os.lstat(local)
            if stat.S_ISLNK(info.st_mode):
                entries.append([dest, 0, 0, str(Path(local).readlink())])
            else:
                data = Path(local).read_bytes()
                entries.append([dest, stat.S_IMODE(info.st_mode), len(data), None])
                chunks.append(data)
        payload = b"".join(chunks)
        self._call_raw(
            {"op": "write", "files": entries, "dirs": dirs, "size": len(payload)}, payload
        )

    def remove(self, paths: list[str]) -> None:
        self._call_raw({"op": "rm", "paths": paths})

    def hashes(self, root: str) -> dict[str, str]:
        files: dict[str, str] = self._call_raw({"op": "hash", "root": root})["files"]
        return files

    def restart(self) -> None:
        self._call_raw({"op": "restart", "timeout": 10})


class AgentTransfer(AgentClient):
    """The in-container agent, over one `docker exec` attached to stdin/stdout."""

    def __init__(self, client: docker.DockerClient, container: Container, python: str) -> None:
        user = str(container.attrs.get("Config", {}).get("User") or "")
        exec_id = client.api.exec_create(
            container.id, [python, "-u", "-c", AGENT, user], stdin=True, stdout=True,
            stderr=True, user=user,
        )["Id"]  # fmt: skip
        self._socket = client.api.exec_start(exec_id, socket=True)._sock
        self._buffer = b""
        self._call_raw(None)  # the ready line

    def _read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            header = self._recv_exact(8)
            kind, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = self._recv_exact(size)
            if kind == 1:
                self._buffer += payload
            elif kind == 2 and b"Traceback" in payload:
                raise TransferError(
                    f"the sync agent failed: {payload.decode(errors='replace')[-300:]}"
                )
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _recv_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._socket.recv(size - len(data))
            if not chunk:
                raise TransferError("the sync agent went away (the container stopped?)")
            data += chunk
        return data

    def _call_raw(self, request: dict[str, Any] | None, payload: bytes = b"") -> dict[str, Any]:
        if request is not None:
            self._socket.sendall(json.dumps(request).encode() + b"\n" + payload)
        answer: dict[str, Any] = json.loads(self._read_line())
        if "error" in answer:
            raise TransferError(f"sync agent: {answer['error']}")
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()


class ArchiveTransfer:
    """The same operations through the engine's archive API, exec and signals (no Python needed)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def put(self, files: Mapping[str, str], dirs: list[str]) -> None:
        mounts = [str(m.get("Destination", "")) for m in self.container.attrs.get("Mounts") or []]
        for root, group in sorted(by_mount(files, mounts).items()):
            if not self.container.put_archive(root, tar_of(group, root)):
                raise TransferError(f"the engine refused files for {self.container.name}")

    def remove(self, paths: list[str]) -> None:
        code, output = self.container.exec_run(["rm", "-rf", "--", *paths])
        if code != 0:
            raise TransferError(f"rm in {self.container.name} failed: {output.decode()[-200:]}")

    def hashes(self, root: str) -> dict[str, str]:
        try:
            stream, _ = self.container.get_archive(root)
        except NotFound:
            return {}
        with tempfile.TemporaryDirectory() as folder:
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                archive.extractall(folder, filter="tar")
            return tree_fingerprints(str(Path(folder) / PurePosixPath(root).name))

    def restart(self) -> None:
        self.container.kill(signal="SIGHUP")
        time.sleep(0.1)

    def close(self) -> None:
        pass


def open_transfer(client: docker.DockerClient, container: Container) -> Transfer:
    """The agent when the container has Python, else the archive API."""
    code, output = container.exec_run(
        ["sh", "-c", "command -v python3 || command -v python"], user="0"
    )
    python = output.decode().strip().splitlines()[0] if code == 0 and output.strip() else ""
    if python:
        return AgentTransfer(client, container, python)
    return ArchiveTransfer(container)
