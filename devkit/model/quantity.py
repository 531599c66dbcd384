"""CPU and memory amounts in Kubernetes quantity notation ("250m", "0.5", "256Mi", "1G")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_NUMBER = r"(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
_CPU = re.compile(rf"^{_NUMBER}(?P<suffix>m?)$")
_MEMORY = re.compile(rf"^{_NUMBER}(?P<suffix>|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)$")
_MEMORY_FACTORS = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def cpu_millicores(value: str) -> int:
    """Millicores of a CPU quantity ("250m" -> 250, "1.5" -> 1500); ValueError if malformed."""
    match = _CPU.match(value.strip())
    if not match:
        raise ValueError(
            f'"{value}" is not a CPU quantity: use cores ("0.5", "2") or millicores ("250m")'
        )
    number = Decimal(match["number"])
    millis = number if match["suffix"] == "m" else number * 1000
    if millis != millis.to_integral_value():
        raise ValueError(f'"{value}" is finer than one millicore')
    return int(millis)


def memory_bytes(value: str) -> int:
    """Bytes of a memory quantity ("256Mi" -> 268435456); ValueError if malformed."""
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(
            f'"{value}" is not a memory quantity: use a number with a unit such as '
            '"256Mi", "1Gi" or "512M"'
        )
    try:
        number = Decimal(match["number"]) * _MEMORY_FACTORS[match["suffix"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ValueError(f'"{value}" is not a memory quantity') from exc
    return int(number.to_integral_value(rounding="ROUND_CEILING"))


def _as_text(value: object) -> object:
    """Let `cpu=1` or `cpu=0.5` mean what they say in quantity notation."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _cpu(value: str) -> str:
    cpu_millicores(value)
    return value


def _memory(value: str) -> str:
    memory_bytes(value)
    return value


Cpu = Annotated[str, BeforeValidator(_as_text), AfterValidator(_cpu)]
Memory = Annotated[str, BeforeValidator(_as_text), AfterValidator(_memory)]
