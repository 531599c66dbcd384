"""The host's view of a test session's services: URLs and environment variables. Pure.

The planner resolves references to the addresses containers use (`postgres:5432`). Tests run on
the host, where a started service answers on 127.0.0.1 and a published port instead; this module
resolves the same references to those addresses, with secret values composed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from devkit.errors import UserError
from devkit.model.refs import Ref, Secret, fill_template
from devkit.model.service import Service
from devkit.planning.planner import EnvValue, Plan, PlannedService

_MAX_DEPTH = 4


@dataclass(frozen=True)
class Published:
    """Where the host reaches a started service: an address and the host port of each port."""

    host: str
    ports: Mapping[str, int]


SecretValue = Callable[[str], str]


class HostView:
    """Resolve a plan's references against the services a session publishes on the host."""

    def __init__(
        self,
        plan: Plan,
        services: Mapping[str, Service],
        published: Mapping[str, Published],
        secret: SecretValue,
    ) -> None:
        self.plan = plan
        self.services = services
        self.published = published
        self.secret = secret

    def env(self, service: str) -> dict[str, str]:
        """The environment `service` is declared with, as a process on the host needs it."""
        planned = self._planned(service)
        declared = self.services[service].env
        return {
            name: self._value(declared[name], service, name)
            if isinstance(declared.get(name), Ref)
            else self._compose(value)
            for name, value in planned.env.items()
        }

    def url(self, service: str) -> str:
        """The service's connection URL as the host reaches it."""
        self._planned(service)
        target = self.services[service]
        if target.url_template is None:
            raise UserError(
                f'devkit.testing: service "{service}" has no url',
                details=[f"use host({service!r}) and port({service!r}, NAME) instead"],
            )
        return self._expand(target, service, "url", 0)

    def _planned(self, service: str) -> PlannedService:
        try:
            return self.plan.service(service)
        except KeyError:
            raise UserError(
                f'devkit.testing: {self.plan.project} has no service "{service}"',
                details=[f"services: {', '.join(s.name for s in self.plan.services)}"],
            ) from None

    def _compose(self, value: str | EnvValue) -> str:
        if isinstance(value, str):
            return value
        return "".join(p if isinstance(p, str) else self.secret(p.secret) for p in value.parts)

    def _address(self, target: str, owner: str, var: str) -> Published:
        where = self.published.get(target)
        if where is None:
            raise UserError(
                f'devkit.testing: service "{owner}": {var} refers to "{target}", which this '
                "test session does not run",
                details=[
                    f"running: {', '.join(sorted(self.published)) or '(none)'}",
                    "services built from source are never started; add an image service to "
                    "the session by naming it (devkit_services)",
                ],
            )
        return where

    def _value(self, value: object, owner: str, var: str, depth: int = 0) -> str:
        if isinstance(value, Secret):
            return self.secret(value.name)
        if isinstance(value, bool):
            return "true" if value else "false"
        if not isinstance(value, Ref):
            return str(value)
        where = self._address(value.service, owner, f"env.{var}")
        if value.attr == "host":
            return where.host
        if value.attr == "port":
            return str(where.ports[value.port or ""])
        if depth > _MAX_DEPTH:
            raise UserError(
                f'devkit.testing: service "{owner}": env.{var}: references nest too deep'
            )
        return self._expand(self.services[value.service], owner, f"env.{var}", depth + 1)

    def _expand(self, target: Service, owner: str, var: str, depth: int) -> str:
        assert target.url_template is not None
        where = self._address(target.name, owner, var)
        return "".join(
            fill_template(
                target.url_template,
                host=where.host,
                port=lambda name: str(where.ports[name or next(iter(target.ports))]),
                env=lambda name: [self._value(target.env[name], target.name, name, depth)],
            )
        )
