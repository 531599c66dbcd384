from __future__ import annotations

import pytest

from devkit.model.quantity import cpu_millicores, memory_bytes


@pytest.mark.parametrize(
    ("text", "millis"), [("250m", 250), ("1", 1000), ("0.5", 500), ("2.25", 2250), (".1", 100)]
)
def test_cpu_quantities_in_millicores(text: str, millis: int) -> None:
    assert cpu_millicores(text) == millis


@pytest.mark.parametrize(
    ("text", "size"),
    [("256Mi", 256 * 2**20), ("1Gi", 2**30), ("512M", 512 * 10**6), ("1k", 1000), ("100", 100),
     ("1.5Gi", 3 * 2**29)],
)  # fmt: skip
def test_memory_quantities_in_bytes(text: str, size: int) -> None:
    assert memory_bytes(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1.5.0", "-1", "250mm", "1 core", "0.0001"])
def test_malformed_cpu_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"CPU quantity|finer than one millicore"):
        cpu_millicores(text)


@pytest.mark.parametrize("text", ["256MB", "1gi", "Mi", "1.2.3Gi", "ten"])
def test_malformed_memory_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match="not a memory quantity"):
        memory_bytes(text)
