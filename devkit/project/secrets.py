"""Secret values for local targets: the environment, else a git-ignored .env beside blueprint.py.

Values live only in memory on their way into a container; they are never written anywhere by
devkit, and never printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

from devkit.errors import UserError


def local_secret_values(
    names: Iterable[str], root: Path, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The value of each named secret; a UserError naming every missing one otherwise."""
    environ = os.environ if environ is None else environ
    wanted = sorted(set(names))
    dotenv_file = root / ".env"
    from_file: dict[str, str] = {}
    if dotenv_file.is_file():
        from_file = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None}
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in wanted:
        if name in environ:
            values[name] = environ[name]
        elif name in from_file:
            values[name] = from_file[name]
        else:
            missing.append(name)
    if missing:
        raise UserError(
            f"secret{'s' if len(missing) > 1 else ''} without a value: {', '.join(missing)}",
            details=[
                f"set {'them' if len(missing) > 1 else 'it'} in the environment, or in "
                f"{dotenv_file} (keep that file out of git), e.g. {missing[0]}=...",
                "nothing was changed",
            ],
        )
    return values
