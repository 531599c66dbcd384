from __future__ import annotations

from pathlib import Path

import pytest

from devkit.errors import ConfigError
from devkit.planning.images import ImageMap, normalize, parse_rules
from devkit.project.settings import load_settings


@pytest.mark.parametrize(
    ("ref", "full"),
    [
        ("postgres", "docker.io/library/postgres:latest"),
        ("postgres:16", "docker.io/library/postgres:16"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("ghcr.io/acme/api:1.2", "ghcr.io/acme/api:1.2"),
        ("localhost/api", "localhost/api:latest"),
        ("127.0.0.1:5000/api:dk-1", "127.0.0.1:5000/api:dk-1"),
        ("redis@sha256:abc", "docker.io/library/redis@sha256:abc"),
    ],
)
def test_references_normalise_to_their_full_form(ref: str, full: str) -> None:
    assert normalize(ref) == full


def test_exact_rules_match_short_and_full_forms() -> None:
    images = ImageMap.from_rules({"postgres:16": "devkit-local/postgres:15"})
    assert images.resolve("postgres:16") == "devkit-local/postgres:15"
    assert images.resolve("docker.io/library/postgres:16") == "devkit-local/postgres:15"
    assert images.resolve("postgres:17") == "postgres:17"


def test_prefix_rules_mirror_a_registry_longest_first() -> None:
    images = ImageMap.from_rules(
        {"docker.io/": "mirror.internal/hub/", "docker.io/library/": "mirror.internal/official/"}
    )
    assert images.resolve("redis:7") == "mirror.internal/official/redis:7"
    assert images.resolve("bitnami/redis:7") == "mirror.internal/hub/bitnami/redis:7"
    assert images.resolve("ghcr.io/acme/api:1") == "ghcr.io/acme/api:1"


def test_variable_rules_override_pyproject_rules(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.devkit.image_map]\n"postgres:16" = "a/postgres:16"\n"redis:7" = "a/redis:7"\n'
    )
    settings = load_settings(cwd=tmp_path, environ={"DEVKIT_IMAGE_MAP": "postgres:16=b/pg:15"})
    assert settings.image_map.resolve("postgres:16") == "b/pg:15"
    assert settings.image_map.resolve("redis:7") == "a/redis:7"


def test_malformed_rules_name_their_source() -> None:
    with pytest.raises(ConfigError, match=r'DEVKIT_IMAGE_MAP: "postgres:16" is not an image rule'):
        parse_rules("postgres:16", source="DEVKIT_IMAGE_MAP")
    assert parse_rules("a=b,\n c = d ", source="x") == {"a": "b", "c": "d"}


def test_image_map_table_must_map_strings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.devkit]\nimage_map = ["postgres"]\n')
    with pytest.raises(ConfigError, match="must map image to image"):
        load_settings(cwd=tmp_path, environ={})
