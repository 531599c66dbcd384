"""The last step of a scheduled backup, run by python3 in the CronJob's pod (standard library
only: this file is rendered into a ConfigMap and run as it is, without devkit installed).

The dump containers have written one part per service into the pod's scratch directory. This
program writes them into an S3 store in devkit's own format (devkit/backups/store.py,
devkit/records/backup.py): every part under `PREFIX/ID/`, its size and sha256 computed as it is
read, then `manifest.json`, last, so an interrupted run leaves nothing that looks complete; then
it applies retention (`expired`). The backup's description comes from `DEVKIT_BACKUP` (JSON, no
secret); the credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which are never
printed. Requests are signed with AWS Signature Version 4, addressed path-style
(`ENDPOINT/BUCKET/KEY`), which MinIO and AWS S3 both take.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import os
import re
import secrets
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from xml.etree import ElementTree

MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1024 * 1024
_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")
_S3_XML = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class StoreError(Exception):
    """The store answered with an error (its code and message, never a credential)."""


# --- retention: pure -------------------------------------------------------------------------
@dataclass(frozen=True)
class Listed:
    """An object under the environment's prefix: its key below it, and when it was written
    (seconds since the epoch)."""

    key: str
    modified: float


def expired(listed: Sequence[Listed], keep: int, now: float, grace: float) -> list[str]:
    """The backups to delete after a complete one: complete backups (with a manifest) but the
    newest `keep`; partial ones (no manifest) that sort before the newest complete backup and
    whose last object was written more than `grace` seconds ago, so a run still writing is
    never touched. Only names that are backup IDs count: nothing else in the store is deleted."""
    written: dict[str, float] = {}
    complete: set[str] = set()
    for item in listed:
        backup, _, name = item.key.partition("/")
        if not _ID.match(backup) or not name:
            continue
        written[backup] = max(written.get(backup, 0.0), item.modified)
        if name == MANIFEST:
            complete.add(backup)
    done = sorted(complete)
    if not done:
        return []
    old = done[: len(done) - keep] if len(done) > keep else []
    newest = done[-1]
    stale = [b for b in sorted(written)
             if b not in complete and b < newest and now - written[b] > grace]  # fmt: skip
    return sorted(old + stale)


# --- AWS Signature Version 4 -----------------------------------------------------------------
def _quote(text: str, safe: str = "-_.~") -> str:
    return urllib.parse.quote(text, safe=safe)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(
    method: str,
    url: str,
    payload_sha256: str,
    *,
    credentials: tuple[str, str],
    region: str,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a request to `url` (path-style, query included) with Signature
    Version 4 for the service "s3": Host, X-Amz-Date, X-Amz-Content-Sha256, Authorization."""
    access, secret = credentials
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date}
    query = sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    canonical = "\n".join(
        [
            method,
            _quote(urllib.parse.unquote(parts.path) or "/", safe="/-_.~"),
            "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query),
            "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
            ";".join(sorted(headers)),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": headers["host"],
        "X-Amz-Date": amz_date,
        "X-Amz-Content-Sha256": payload_sha256,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
        f"SignedHeaders={';'.join(sorted(headers))}, Signature={signature}",
    }


# --- the store -------------------------------------------------------------------------------
class Bucket:
    """One bucket of an S3-compatible store, path-style, over http.client."""

    def __init__(
        self, endpoint: str, bucket: str, credentials: tuple[str, str], region: str
    ) -> None:
        self.url = urllib.parse.urlsplit(endpoint)
        self.bucket, self.credentials, self.region = bucket, credentials, region

    def _request(
        self,
        method: str,
        key: str = "",
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] = b"",
        size: int = 0,
        sha256: str = EMPTY_SHA256,
    ) -> tuple[int, bytes]:
        path = "/" + _quote(self.bucket) + ("/" + _quote(key, safe="/-_.~") if key else "")
        if query:
            path += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
        url = f"{self.url.scheme}://{self.url.netloc}{path}"
        headers = signed_headers(
            method, url, sha256, credentials=self.credentials, region=self.region,
            now=datetime.now(UTC),
        )  # fmt: skip
        headers["Content-Length"] = str(size)
        secure = self.url.scheme == "https"
        factory = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        connection = factory(self.url.netloc, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.read()
        finally:
            connection.close()

    def _check(self, what: str, status: int, body: bytes) -> bytes:
        if status >= 300:
            code = re.search(rb"<Code>([^<]*)</Code>", body)
            message = re.search(rb"<Message>([^<]*)</Message>", body)
            raise StoreError(
                f"cannot {what}: HTTP {status}"
                + (f" {code.group(1).decode()}" if code else "")
                + (f": {message.group(1).decode()[:200]}" if message else "")
            )
        return body

    def ensure(self) -> None:
        """Make the bucket if it is missing."""
        status, body = self._request("HEAD")
        if status == 404:
            location = b""
            if self.region != "us-east-1":
                location = (
                    "<CreateBucketConfiguration><LocationConstraint>"
                    f"{self.region}</LocationConstraint></CreateBucketConfiguration>"
                ).encode()
            digest = hashlib.sha256(location).hexdigest()
            status, body = self._request("PUT", body=location, size=len(location), sha256=digest)
        self._check(f"reach bucket {self.bucket}", status, body)

    def put(self, key: str, file: IO[bytes], size: int, sha256: str) -> None:
        """Store `size` bytes from `file`; the store checks them against `sha256`."""
        self._check(f"write {key}", *self._request("PUT", key, body=file, size=size, sha256=sha256))

    def list(self, prefix: str) -> list[tuple[str, float]]:
        """(key, written at) of every object under `prefix`."""
        found: list[tuple[str, float]] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            body = self._check(f"list {prefix}", *self._request("GET", query=query))
            root = ElementTree.fromstring(body)  # noqa: S314 - the configured store's listing
            for item in root.iter(f"{_S3_XML}Contents"):
                key = item.findtext(f"{_S3_XML}Key") or ""
                modified = item.findtext(f"{_S3_XML}LastModified") or ""
                when = datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp()
                found.append((key, when))
            if root.findtext(f"{_S3_XML}IsTruncated") != "true":
                return found
            token = root.findtext(f"{_S3_XML}NextContinuationToken") or ""

    def delete(self, key: str) -> None:
        self._check(f"delete {key}", *self._request("DELETE", key))


# --- the run ---------------------------------------------------------------------------------
def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def measure(path: str) -> tuple[int, str]:
    """(size, sha256) of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:  # noqa: PTH123 - standard library only, kept plain
        while chunk := file.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def new_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def manifest(config: Mapping[str, Any], backup: str, created: datetime,
             parts: Sequence[Mapping[str, Any]], seconds: float) -> str:  # fmt: skip
    """The manifest devkit reads (records/backup.py, Manifest.to_json): sorted keys, indent 2."""
    data = {
        "id": backup, "project": config["project"], "environment": config["environment"],
        "created": created.isoformat(timespec="seconds"), "plan_hash": config["plan_hash"],
        "release": None, "services": list(config["services"]), "parts": list(parts),
        "warnings": list(config.get("warnings", ())), "seconds": round(seconds, 2),
        "format": FORMAT, "size": sum(int(p["size"]) for p in parts),
        "cluster": None,  # schedules on several clusters are refused
    }  # fmt: skip
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def run(config: Mapping[str, Any], environ: Mapping[str, str]) -> int:
    """Upload the parts, then the manifest; then retention. Exit code: 0 done, 1 failed."""
    began = time.monotonic()
    created = datetime.now(UTC).replace(microsecond=0)
    backup = new_id(created)
    base = config["base"]
    bucket = Bucket(
        config["endpoint"],
        config["bucket"],
        (environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SECRET_ACCESS_KEY", "")),
        config.get("region") or "us-east-1",
    )
    written: list[str] = []
    where = f"s3://{config['bucket']}/{base}/{backup}"
    try:
        bucket.ensure()
        parts = []
        for part in config["parts"]:
            path = f"{config['folder']}/{part['name']}"
            size, digest = measure(path)
            if size == 0:
                raise StoreError(f"{part['method']} of service {part['service']} wrote nothing")
            started = time.monotonic()
            key = f"{base}/{backup}/{part['name']}"
            written.append(key)
            with open(path, "rb") as file:  # noqa: PTH123
                bucket.put(key, file, size, digest)
            _say(f"backed-up {part['name']}: {size} bytes in {time.monotonic() - started:.1f}s")
            parts.append({**part, "size": size, "sha256": digest})
        text = manifest(config, backup, created, parts, time.monotonic() - began).encode()
        key = f"{base}/{backup}/{MANIFEST}"
        bucket.put(key, io.BytesIO(text), len(text), hashlib.sha256(text).hexdigest())
    except (StoreError, OSError) as exc:
        _say(f"error: backup {where} failed: {exc}")
        for key in written:  # what was written is removed, where the store still answers
            try:
                bucket.delete(key)
            except (StoreError, OSError):
                break
        return 1
    _say(f"backup {backup} complete in {where} ({time.monotonic() - began:.1f}s)")
    try:
        prune(bucket, base, int(config["keep"]), float(config["grace"]))
    except (StoreError, OSError) as exc:
        _say(f"error: retention in s3://{config['bucket']}/{base} failed: {exc}")
        return 1
    return 0


def prune(bucket: Bucket, base: str, keep: int, grace: float) -> None:
    """Delete what `expired` names: the manifest of a complete backup first (from then on it is
    no longer listed as complete), then its parts."""
    listed = [Listed(k[len(base) + 1 :], t) for k, t in bucket.list(base + "/")]
    doomed = expired(listed, keep, time.time(), grace)
    for backup in doomed:
        keys = sorted((f"{base}/{i.key}" for i in listed if i.key.startswith(backup + "/")),
                      key=lambda k: not k.endswith("/" + MANIFEST))  # fmt: skip
        for key in keys:
            bucket.delete(key)
        _say(f"deleted backup {backup} (retention: keep {keep})")


def main() -> int:
    return run(json.loads(os.environ["DEVKIT_BACKUP"]), os.environ)


if __name__ == "__main__":
    sys.exit(main())
