"""The deciding half of the registry check: which registry, repository and credentials a
reference means, and where this machine reaches a registry the nodes name otherwise."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from devkit import Kubernetes
from devkit.build.registry import credentials, split_reference
from devkit.planning.images import from_host

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        (f"localhost:5001/shop-api@{DIGEST}", ("localhost:5001", "shop-api", DIGEST)),
        (f"registry.example.com/team/api@{DIGEST}", ("registry.example.com", "team/api", DIGEST)),
        ("postgres:15", ("registry-1.docker.io", "library/postgres", "15")),
        ("acme/api", ("registry-1.docker.io", "acme/api", "latest")),
        ("127.0.0.1:5002/a/b:1.2", ("127.0.0.1:5002", "a/b", "1.2")),
    ],
)
def test_a_reference_splits_into_registry_repository_and_digest_or_tag(
    ref: str, parts: tuple[str, str, str]
) -> None:
    assert split_reference(ref) == parts


def test_credentials_come_from_the_docker_configs_auths_for_that_registry_only() -> None:
    token = base64.b64encode(b"devkit:s3cret").decode()
    config = {
        "auths": {
            "127.0.0.1:5002": {"auth": token},
            "https://index.docker.io/v1/": {"username": "hub", "password": "pw"},
        }
    }
    assert credentials("127.0.0.1:5002", config) == ("devkit", "s3cret")
    assert credentials("registry-1.docker.io", config) == ("hub", "pw")
    assert credentials("localhost:5001", config) is None


def test_a_reference_below_the_nodes_registry_is_reached_at_the_hosts_name() -> None:
    ref = f"registry.kube-system.svc:5000/shop/api@{DIGEST}"
    mapped = from_host(ref, "registry.kube-system.svc:5000", "127.0.0.1:5002")
    assert mapped == f"127.0.0.1:5002/shop/api@{DIGEST}"
    other = f"ghcr.io/acme/api@{DIGEST}"
    assert from_host(other, "registry.kube-system.svc:5000", "127.0.0.1:5002") == other
    assert from_host(ref, "registry.kube-system.svc:5000", None) == ref


def test_registry_from_host_without_a_registry_is_refused() -> None:
    with pytest.raises(ValidationError, match="set registry too"):
        Kubernetes(registry_from_host="127.0.0.1:5002")
