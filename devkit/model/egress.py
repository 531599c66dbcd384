"""Destinations outside the environment that a service may connect to (egress NetworkPolicy)."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import field_validator

from devkit.model.base import Model


class Egress(Model):
    """An address block outside the environment a service connects to, on `ports` (all if none).

    On clusters a service's pods reach only DNS, the services it `depends_on`, and these; a
    NetworkPolicy names addresses, not hosts, so give the block a host name resolves to.
    `Egress("203.0.113.0/24", 443)`; a single address may be given without its prefix.
    """

    cidr: str
    ports: tuple[int, ...] = ()
    protocol: Literal["tcp", "udp"] = "tcp"

    def __init__(self, cidr: str, *ports: int, **fields: Any) -> None:
        if ports:
            fields["ports"] = ports
        super().__init__(**{"cidr": cidr, **fields})

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f'"{value}" is not an address block; give one like "203.0.113.0/24" or an '
                'address like "203.0.113.7" (NetworkPolicies name addresses, not host names)'
            ) from None
        if str(network) != value and "/" in value:
            raise ValueError(f'"{value}" has host bits set; the block is "{network}"')
        return str(network)

    @field_validator("ports", mode="before")
    @classmethod
    def _port_list(cls, value: Any) -> Any:
        return (value,) if isinstance(value, int) else value

    @field_validator("ports")
    @classmethod
    def _in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"egress port {port} is out of range (1-65535)")
        return tuple(sorted(set(value)))
