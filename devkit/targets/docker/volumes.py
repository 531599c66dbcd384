"""Named volumes and the values they were initialised with. Pure: specs and labels in, labels
and findings out.

Some services read part of their environment only when they initialise an empty volume (the
postgres user, password and database). When such a volume is created, devkit labels it with a
salted fingerprint of each of those values (never the value); before a later apply changes
anything, a value that no longer matches its fingerprint is reported with the volume that holds
data made with the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from devkit.errors import UserError
from devkit.targets import labels
from devkit.targets.docker.spec import ContainerSpec


def fingerprint(value: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}\0{value}".encode()).hexdigest()


def init_labels(spec: ContainerSpec, volume: str, salt: str | None = None) -> dict[str, str]:
    """The labels a new volume gets: for each init-time variable, `salt:fingerprint`."""
    salt = salt or secrets.token_hex(8)
    return {
        labels.INIT_VALUE + name: f"{salt}:{fingerprint(spec.env.get(name, ''), salt)}"
        for name in spec.volume_init.get(volume, ())
    }


@dataclass(frozen=True)
class InitMismatch:
    """A volume whose data was made with other values of `names` than the service has now."""

    service: str
    volume: str
    names: tuple[str, ...]


def init_mismatch(
    spec: ContainerSpec, volume: str, volume_labels: Mapping[str, str]
) -> InitMismatch | None:
    """The init-time variables whose values differ from those `volume` was made with. A volume
    without fingerprints (made before devkit recorded them) is taken as it is."""
    changed = []
    for name in spec.volume_init.get(volume, ()):
        recorded = volume_labels.get(labels.INIT_VALUE + name)
        if not recorded or ":" not in recorded:
            continue
        salt, digest = recorded.split(":", 1)
        if fingerprint(spec.env.get(name, ""), salt) != digest:
            changed.append(name)
    return InitMismatch(spec.service, volume, tuple(changed)) if changed else None


class InitValuesChangedError(UserError):
    """A volume holds data made with other init-time values than the service would start with."""

    def __init__(self, mismatch: InitMismatch, env: str) -> None:
        self.mismatch = mismatch
        names = " and ".join(mismatch.names)
        values = "value" if len(mismatch.names) == 1 else "values"
        super().__init__(
            f'service "{mismatch.service}": volume {mismatch.volume} holds data initialised with '
            f"another {names}; the service reads {'it' if len(mismatch.names) == 1 else 'them'} "
            "only when it initialises an empty volume, so the new "
            f"{values} would not take effect; nothing was changed",
            details=[
                f"either put back the {values} the data was made with (in .env or the environment)",
                f"or start from empty data: `devkit down -e {env} --volumes` deletes the "
                f"environment's named volumes, {mismatch.volume} among them; then `devkit up`",
            ],
        )
