"""Image references and the image map, which substitutes images (mirrors, air-gapped sites).

Rules come from `[tool.devkit.image_map]` in pyproject.toml and the `DEVKIT_IMAGE_MAP` variable
(which wins). A rule maps one image (`"postgres:16" = "mirror.internal/postgres:16"`) or, when its
key ends with "/", a whole prefix (`"docker.io/" = "mirror.internal/hub/"`). References are
compared in full form, so `postgres:16` and `docker.io/library/postgres:16` are the same image.
Pure: nothing here talks to an engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devkit.errors import ConfigError

_DEFAULT_REGISTRY = "docker.io"


def normalize(ref: str) -> str:
    """The full form of an image reference: registry, repository path and tag (or digest)."""
    name, _, digest = ref.partition("@")
    first, _, rest = name.partition("/")
    if not rest:
        name = f"{_DEFAULT_REGISTRY}/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"{_DEFAULT_REGISTRY}/{name}"
    last = name.rsplit("/", 1)[-1]
    if not digest and ":" not in last:
        name += ":latest"
    return f"{name}@{digest}" if digest else name


def relocate(ref: str, source: str, destination: str) -> str:
    """Where an image `repository@digest` goes when copied from registry `source` (a host,
    maybe with a path) to `destination`: the same path below it, the same digest."""
    repository, _, digest = ref.partition("@")
    prefix = source.rstrip("/") + "/"
    if repository.startswith(prefix):
        path = repository[len(prefix) :]
    else:  # pushed elsewhere: its path without its registry host
        first, _, rest = repository.partition("/")
        has_host = rest and ("." in first or ":" in first or first == "localhost")
        path = rest if has_host else repository
    return f"{destination.rstrip('/')}/{path}" + (f"@{digest}" if digest else "")


def from_host(ref: str, registry: str | None, reached_at: str | None) -> str:
    """A reference as the nodes name it (below `registry`), as this machine reaches the same
    registry (`reached_at`, e.g. a port published on loopback); other references as they are."""
    if registry and reached_at and ref.startswith(registry.rstrip("/") + "/"):
        return relocate(ref, registry, reached_at)
    return ref


@dataclass(frozen=True)
class ImageMap:
    """Substitution rules, applied to service images and to the FROM lines of Dockerfiles."""

    exact: Mapping[str, str]
    prefixes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_rules(cls, rules: Mapping[str, str]) -> ImageMap:
        exact = {normalize(k): v for k, v in rules.items() if not k.endswith("/")}
        prefixes = sorted(
            ((k, v) for k, v in rules.items() if k.endswith("/")), key=lambda kv: -len(kv[0])
        )
        return cls(exact=exact, prefixes=tuple(prefixes))

    def resolve(self, ref: str) -> str:
        """The image to use for `ref`: its substitute, or `ref` itself."""
        full = normalize(ref)
        if full in self.exact:
            return self.exact[full]
        for prefix, replacement in self.prefixes:
            if full.startswith(prefix):
                return replacement + full[len(prefix) :]
        return ref

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)


def parse_rules(text: str, *, source: str) -> dict[str, str]:
    """Rules written as `FROM=TO` pairs separated by commas or newlines."""
    rules: dict[str, str] = {}
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                f'{source}: "{item}" is not an image rule; write FROM=TO, e.g. '
                "postgres:16=mirror.internal/postgres:16"
            )
        rules[key.strip()] = value.strip()
    return rules
