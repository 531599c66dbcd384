"""The image reference grammar (distribution/reference, which Docker, containerd and every OCI
registry accept): `[HOST[:PORT]/]PATH[:TAG][@ALGORITHM:HEX]`.

Checked where an image is declared, so `Foo::bar` is refused at the user's line instead of by the
engine at pull time.
"""

from __future__ import annotations

import re

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
NAME_MAX = 255
EXAMPLE = (
    '[REGISTRY[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. "postgres:16" or "ghcr.io/acme/api:1.4"'
)


def reference_problem(value: str) -> str | None:
    """Why `value` is not an image reference, or None when it is one."""
    match = REFERENCE.match(value)
    if match is None:
        if REFERENCE.match(value.lower()):
            return (
                f'"{value}" is not an image reference: repository names are lowercase '
                f'("{value.lower()}")'
            )
        return f'"{value}" is not an image reference; write {EXAMPLE}'
    if len(match["name"]) > NAME_MAX:
        return f'"{value}" is not an image reference: its name is longer than {NAME_MAX} characters'
    return None


def check_reference(value: str) -> str:
    """`value` if it is an image reference; ValueError (a field error) otherwise."""
    problem = reference_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value
