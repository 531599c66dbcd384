"""Ask an image registry, through its v2 API, whether it holds a manifest, before a deploy
changes anything.

A `HEAD /v2/<repository>/manifests/<digest>` with the docker config's credentials for the
registry (`auths` in config.json, or its credential helper / store), answering the registry's
challenge (Basic, or a Bearer token from its realm) as docker does. Registries on this machine
(localhost, 127.0.0.0/8, ::1) are asked over plain HTTP first, as the docker engine treats them;
every other one over HTTPS.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devkit.errors import EngineError

TIMEOUT = 10.0
_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    )
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class ImageMissingError(EngineError):
    """An image reference the deploy needs does not exist in its registry."""


def split_reference(ref: str) -> tuple[str, str, str]:
    """`host[:port]/path@sha256:...` (or `:tag`) -> (registry host, repository path, reference)."""
    name, _, digest = ref.partition("@")
    if not digest:
        base, _, tag = name.rpartition(":")
        name, digest = (base, tag) if base and "/" not in tag else (name, "latest")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "registry-1.docker.io", name if rest else f"library/{name}"
    return host, path, digest


def docker_config() -> dict[str, Any]:
    """The docker CLI's config.json (`DOCKER_CONFIG`, else ~/.docker), or {}."""
    folder = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def credentials(host: str, config: Mapping[str, Any]) -> tuple[str, str] | None:
    """The user name and password (or token) docker would send to `host`, or None."""
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    hub = host in ("registry-1.docker.io", "index.docker.io", "docker.io")
    for key, entry in (config.get("auths") or {}).items():
        bare = key.split("://", 1)[-1].split("/", 1)[0]
        if bare != host and not (hub and bare in ("index.docker.io", "docker.io")):
            continue
        if entry.get("auth"):
            user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, secret
        if entry.get("username"):
            return str(entry["username"]), str(entry.get("password", ""))
    if helper:
        return _from_helper(str(helper), "https://index.docker.io/v1/" if hub else host)
    return None


def _from_helper(helper: str, server: str) -> tuple[str, str] | None:
    try:
        proc = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=server, capture_output=True,
            text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        found = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return (str(found.get("Username", "")), str(found.get("Secret", ""))) if found else None


def _local(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in ("localhost", "[::1]", "::1") or name.startswith("127.")


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def _token(challenge: str, creds: tuple[str, str] | None) -> str | None:
    """A Bearer token from the realm a registry's challenge names (docker's token flow)."""
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", "")
    if not realm.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(f"{realm}?{urllib.parse.urlencode(params)}")  # noqa: S310
    if creds:
        request.add_header("Authorization", _basic(*creds))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    token = body.get("token") or body.get("access_token")
    return f"Bearer {token}" if token else None


def _head(url: str, authorization: str | None) -> tuple[int, str]:
    """The status of a HEAD (and the WWW-Authenticate challenge when it is 401)."""
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": _ACCEPT})  # noqa: S310
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            return answer.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("WWW-Authenticate", "") if exc.headers else ""


def missing(ref: str, config: Mapping[str, Any]) -> str | None:
    """Why the registry does not serve the manifest `ref` names, or None when it does."""
    host, path, digest = split_reference(ref)
    schemes = ("http", "https") if _local(host) else ("https",)
    why = ""
    for scheme in schemes:
        url = f"{scheme}://{host}/v2/{path}/manifests/{digest}"
        try:
            status, challenge = _head(url, None)
            if status == 401:
                creds = credentials(host, config)
                scheme_name = challenge.split(" ", 1)[0].lower()
                if scheme_name == "bearer":
                    auth = _token(challenge, creds)
                else:
                    auth = _basic(*creds) if creds else None
                if auth is None and creds is None:
                    return f"{host} asks for credentials, and the docker config has none for it"
                status, _ = _head(url, auth)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            why = f"{scheme}://{host}: {reason}"
            continue
        if 200 <= status < 300:
            return None
        if status == 404:
            return "manifest unknown"
        if status in (401, 403):
            return f"{host} refused the docker config's credentials (HTTP {status})"
        return f"{host} answered HTTP {status}"
    return why or f"{host} did not answer"


def check_images(images: Mapping[str, str], *, from_host: Callable[[str], str] = str) -> None:
    """ImageMissingError naming every service whose image its registry does not serve.

    `from_host` maps a reference as the nodes name it to where this machine reaches the same
    registry (the two names differ when the nodes pull through an in-cluster name)."""
    config = docker_config()
    absent = []
    for service, ref in sorted(images.items()):
        reached = from_host(ref)
        why = missing(reached, config)
        if why is not None:
            asked = f", asked at {reached.partition('@')[0]}" if reached != ref else ""
            absent.append(f"{service}: {ref} ({why}{asked})")
    if absent:
        raise ImageMissingError(
            f"{len(absent)} image{'s' if len(absent) > 1 else ''} not found in the registry",
            details=[*absent, "nothing was changed"],
        )
