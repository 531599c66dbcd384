"""The one error hierarchy: every failure a user can act on is a `DevkitError`.

Each class fixes the process exit code, so every command means the same thing by it:
0 done, 1 failed at run time, 2 the user's input is wrong (nothing changed), 3 refused on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

from devkit.source import SourceLocation


class DevkitError(Exception):
    """Base of all devkit errors: a message, where it happened, and hints to fix it."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        details: Sequence[str] = (),
    ) -> None:
        self.message = message
        self.location = location
        self.details = tuple(details)
        super().__init__(self.render())

    def render(self) -> str:
        """The one-paragraph form the CLI prints after `error: `."""
        head = f"{self.location}: {self.message}" if self.location else self.message
        return "\n".join([head, *(f"  {line}" for line in self.details)])

    def to_dict(self) -> dict[str, object]:
        """Machine-readable form for `--json` output."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "details": list(self.details),
            "exit_code": self.exit_code,
        }


class UserError(DevkitError):
    """The user's input is wrong; nothing was changed."""

    exit_code = 2


class BlueprintError(UserError):
    """A blueprint that cannot be loaded, validated or planned."""


class UnknownEnvironmentError(UserError):
    """An environment name the blueprint does not define."""

    def __init__(self, name: str, defined: Sequence[str]) -> None:
        self.name = name
        self.defined = tuple(defined)
        super().__init__(
            f'unknown environment "{name}"',
            details=[f"defined environments: {', '.join(defined) or '(none)'}"],
        )


class UnknownTenantError(UserError):
    """A tenant name an environment does not declare."""

    def __init__(self, env: str, name: str, defined: Sequence[str]) -> None:
        self.name = name
        super().__init__(
            f'environment "{env}" has no tenant "{name}"',
            details=[f"its tenants: {', '.join(defined) or '(none)'}"],
        )


class ConfigError(UserError):
    """Bad settings: flags, DEVKIT_* variables or [tool.devkit] in pyproject.toml."""


class EngineError(DevkitError):
    """A container engine or cluster failed or could not be reached."""


class RefusedError(DevkitError):
    """Refused on purpose (a lock is held, nothing healthy to promote, a conflict)."""

    exit_code = 3


class RenderError(UserError):
    """A plan that cannot be expressed as Kubernetes objects or a compose file as asked."""


class KubeVersionError(UserError):
    """A Kubernetes version with no schema to validate against."""

    def __init__(self, version: str, available: Sequence[str], why: str = "") -> None:
        self.version = version
        self.available = tuple(available)
        super().__init__(
            f'no Kubernetes schema for version "{version}"' + (f": {why}" if why else ""),
            details=[f"available versions: {', '.join(available)}"] if available else [],
        )


class SchemaError(DevkitError):
    """A rendered object failed validation against the official Kubernetes schema.

    The plan was valid, so this is a defect in devkit's renderer; nothing was written.
    """


class PriceSheetError(UserError):
    """A price sheet that is missing prices, has negative ones, or mixes up units."""
