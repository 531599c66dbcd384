"""References: values that name another service's address or a secret instead of holding it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator

from devkit.model.base import EnvName, Model
from devkit.model.metrics import ScrapeTargets


class Ref(Model):
    """A value of another service, resolved per environment by the planner (`db.url`, `db.host`)."""

    kind: Literal["ref"] = "ref"
    service: str
    attr: Literal["url", "host", "port"]
    port: str | None = None

    def __format__(self, spec: str) -> str:
        raise TypeError(
            f'a reference to service "{self.service}" cannot be formatted into a string; '
            f"pass it whole (e.g. env={{'X': {self.service}.{self.attr}}}) "
            "or declare a url template"
        )


class Secret(Model):
    """A secret by name; its value is never in the blueprint, the plan or a rendered file.

    Locally the value comes from the environment variable of the same name or a git-ignored
    `.env`; on clusters from the platform's secret store.
    """

    kind: Literal["secret"] = "secret"
    name: EnvName

    def __init__(self, name: str, **fields: Any) -> None:
        super().__init__(**{"name": name, **fields})


def _env_value(value: object) -> object:
    if isinstance(value, str | int | float | bool | Ref | Secret | ScrapeTargets | dict):
        return value
    raise ValueError(
        "must be a string, number or boolean, a reference such as db.url, Secret(NAME) or "
        "ScrapeTargets(); "
        f"got {type(value).__name__}"
    )


EnvValue = Annotated[
    str | int | float | bool | Ref | Secret | ScrapeTargets, BeforeValidator(_env_value)
]
"""What an environment variable of a service may be set to."""

T = TypeVar("T")

_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "SECRET_KEY", "PRIVATE_KEY")


def needs_secret(env_name: str) -> bool:
    """Whether a variable's name says it holds a secret, so a plain-text value is refused."""
    upper = env_name.upper()
    return any(upper == word or upper.endswith("_" + word) for word in _SECRET_WORDS)


_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


def check_url_template(template: str) -> str:
    """Validate a service's url template: fields `{host}`, `{port}`, `{port.NAME}`, `{env.NAME}`."""
    for _, field in split_template(template):
        if field is None or field in ("host", "port"):
            continue
        if not re.match(r"^(port|env)\.[A-Za-z0-9_-]+$", field):
            raise ValueError(
                f'unknown field "{{{field}}}" in url template; use {{host}}, {{port}}, '
                "{port.NAME} or {env.NAME}"
            )
    return template


def split_template(template: str) -> list[tuple[str, str | None]]:
    """A template as (literal text, field or None) pairs, in order."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for match in _TEMPLATE_FIELD.finditer(template):
        parts.append((template[pos : match.start()], match[1]))
        pos = match.end()
    parts.append((template[pos:], None))
    return parts


def fill_template(
    template: str,
    *,
    host: str,
    port: Callable[[str | None], str],
    env: Callable[[str], Sequence[str | T]],
) -> list[str | T]:
    """A url template as parts, its fields filled: `{host}`, `{port}` (port(None)) and
    `{port.NAME}` (port(NAME)), `{env.NAME}` (whatever parts env(NAME) gives, e.g. a secret)."""
    parts: list[str | T] = []
    for text, field in split_template(template):
        parts.append(text)
        if field == "host":
            parts.append(host)
        elif field == "port":
            parts.append(port(None))
        elif field is not None and field.startswith("port."):
            parts.append(port(field[5:]))
        elif field is not None:
            parts.extend(env(field[4:]))
    return parts
