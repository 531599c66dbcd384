"""The base of every model class: frozen, strict about unknown fields."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Model(BaseModel):
    """Frozen and `extra="forbid"`: a typo in a field name is an error, not a silent default."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f'"{value}" is not a valid name: use lowercase letters, digits and "-", '
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(
            f'"{value}" is not a valid variable name: '
            'letters, digits and "_", not starting with a digit'
        )
    return value


def command_list(value: Any, example: str) -> Any:
    """A command given as one string is refused: it would run as a single program name."""
    if isinstance(value, str):
        raise ValueError(f"is a string; give the command as a list, e.g. {example}")
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
"""A name that must work as a container name, DNS name and Kubernetes object name."""

EnvName = Annotated[str, AfterValidator(_env_name)]
"""An environment variable name."""
