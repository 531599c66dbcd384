"""Image references follow the OCI distribution grammar, checked where they are declared."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devkit import Blueprint, Docker, Kind
from devkit.errors import BlueprintError
from devkit.model.reference import reference_problem


@pytest.mark.parametrize(
    "ref",
    [
        "postgres", "postgres:16", "docker.io/library/postgres:16.4-bookworm",
        "localhost:5000/shop/api:dk-0123abcd", "127.0.0.1:5000/shop-api@sha256:" + "b" * 64,
        "ghcr.io/acme/web:1.4@sha256:" + "1" * 64, "[::1]:5000/x:1", "a__b/c-d.e:Latest_2",
        "MyRegistry.example.com/team/app:v1", "kindest/node:v1.31.0",
    ],
)  # fmt: skip
def test_valid_references_pass(ref: str) -> None:
    assert reference_problem(ref) is None


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("Foo::bar", "is not an image reference; write [REGISTRY[:PORT]/]NAME[:TAG]"),
        ("foo:", "is not an image reference; write"),
        ("foo bar", "is not an image reference; write"),
        ("foo@sha256:abc", "is not an image reference; write"),
        ("-foo", "is not an image reference; write"),
        ("acme/API:1", 'repository names are lowercase ("acme/api:1")'),
        ("a/" + "b" * 260, "its name is longer than 255 characters"),
    ],
)
def test_invalid_references_say_what_is_wrong(ref: str, problem: str) -> None:
    found = reference_problem(ref)
    assert found is not None and problem in found


def test_a_service_and_a_kind_node_image_are_checked_at_the_users_line() -> None:
    app = Blueprint("shop")
    with pytest.raises(BlueprintError, match=r'service "api": image: "Foo::bar" is not'):
        app.service("api", image="Foo::bar")
    with pytest.raises(ValidationError, match=r'"kindest/node::1" is not an image reference'):
        Kind("dev", node_image="kindest/node::1")
    app.environment("local", Docker())
