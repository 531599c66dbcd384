"""How a synced tree is compared between the local side and a container: content, mode, links.

The in-container agent runs these very functions (their source is sent along), so both sides
compute the same map and a tree is in sync exactly when the maps are equal. They use only the
os module, which is all a container's Python is sure to have.
"""

from __future__ import annotations

import hashlib
import os
import stat


def fingerprint(path: str) -> str:
    """`l:<target>` for a symlink, else `f:<permission bits>:<sha256 of content>`."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "l:" + os.readlink(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "f:%o:%s" % (st.st_mode & 0o777, digest.hexdigest())


def tree_fingerprints(root: str) -> dict[str, str]:
    """Every file and symlink under `root` by relative path ("" when `root` is itself a file)."""
    if not os.path.lexists(root):
        return {}
    if os.path.islink(root) or not os.path.isdir(root):
        return {"": fingerprint(root)}
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            result[os.path.relpath(path, root)] = fingerprint(path)
    return result
