"""Progressive delivery: a canary (and A/B) release of one service, declared on an environment.

A deploy or promotion with a `Canary` runs the new version of `service` beside the stable one,
sends it a growing share of the traffic on its route, step by step, evaluates the checks at
every step (against Prometheus), and then makes it the new stable version, or aborts: weight 0
at once, canary removed, the release recorded as failed with the failing check and its values.

Declarations only: `devkit/delivery/canary.py` decides and runs the steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model, Name, command_list

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # RFC 9110 token: header, cookie names
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9!#$%&'()*+./:<=>?@\[\]^_`{|}~-]*$")
_SERVICE_REF = re.compile(r"^(?P<namespace>[a-z0-9-]+)/(?P<name>[a-z0-9-]+):(?P<port>\d+)$")


class Step(Model):
    """Send `weight` percent of the route's traffic to the canary, then pause: `pause` seconds
    (checks are evaluated meanwhile), or `"manual"`: the command ends with status `paused` and
    the release waits for `devkit deploy ENV --continue` (or `promote SRC DST --continue`)."""

    weight: int = Field(ge=0, le=100, description="percent of requests sent to the canary")
    pause: float | Literal["manual"] = Field(
        default=60.0, description='seconds at this weight, or "manual" (until --continue)'
    )

    def __init__(self, weight: int | None = None, **fields: Any) -> None:
        super().__init__(**({"weight": weight} if weight is not None else {}), **fields)

    @field_validator("weight", mode="before")
    @classmethod
    def _whole_percent(cls, value: Any) -> Any:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value} is not a whole percent")
        return value

    @field_validator("pause")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and not 0 <= value <= 86400:
            raise ValueError(f'{value:g} s is not a pause: give 0 to 86400 seconds, or "manual"')
        return value

    @property
    def manual(self) -> bool:
        return self.pause == "manual"

    def describe(self) -> str:
        held = "until --continue" if self.manual else f"for {self.pause:g}s"
        return f"{self.weight}% {held}"


class SuccessRate(Model):
    """Built-in: the share of the canary's requests the gateway answered without a 5xx, over the
    last `window` seconds, must be at least `min` (from the gateway's request counter)."""

    kind: Literal["success-rate"] = "success-rate"
    min: float = Field(default=0.99, ge=0, le=1, description="0.99: at most 1% 5xx")
    window: float = Field(default=30.0, ge=5, le=3600, description="seconds of requests")

    @property
    def name(self) -> str:
        return "success-rate"

    def describe(self) -> str:
        return f"success rate >= {self.min:g} over {self.window:g}s"


class Latency(Model):
    """Built-in: the `percentile` of the canary's request durations at the gateway, over the
    last `window` seconds, must be at most `max` seconds (from the gateway's histogram)."""

    kind: Literal["latency"] = "latency"
    max: float = Field(gt=0, le=3600, description="seconds")
    percentile: float = Field(default=99.0, gt=0, lt=100)
    window: float = Field(default=30.0, ge=5, le=3600, description="seconds of requests")

    @property
    def name(self) -> str:
        return f"latency-p{self.percentile:g}"

    def describe(self) -> str:
        return f"p{self.percentile:g} latency <= {self.max:g}s over {self.window:g}s"


class Query(Model):
    """Any PromQL query that returns one number, which must lie within `min`..`max`.

    `$namespace`, `$service` and `$canary` in the query are replaced by the environment's
    namespace, the service's name and its canary's name. `service`, when given, names the
    service whose own metrics the query reads: it must declare them.
    """

    kind: Literal["query"] = "query"
    name: Name
    query: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    service: Name | None = Field(default=None, description="the service whose metrics it reads")

    @model_validator(mode="after")
    def _a_bound(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(f'query "{self.name}" needs min= or max= (or both) to judge by')
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f'query "{self.name}": min {self.min:g} is above max {self.max:g}')
        return self

    def describe(self) -> str:
        bounds = [f">= {self.min:g}" if self.min is not None else "",
                  f"<= {self.max:g}" if self.max is not None else ""]  # fmt: skip
        return f"{self.name} {' and '.join(b for b in bounds if b)}"


Check = Annotated[SuccessRate | Latency | Query, Field(discriminator="kind")]


class _Match(Model):
    """A request attribute (`name` equal to `value`) that sends a request to the canary."""

    what: ClassVar[str]
    name: str
    value: str = Field(min_length=1, max_length=4096)

    @field_validator("name")
    @classmethod
    def _token(cls, value: str) -> str:
        if not _TOKEN.match(value) or len(value) > 256:
            raise ValueError(f'"{value}" is not {cls.what}')
        return value


class Header(_Match):
    """A/B: requests with header `name` equal to `value` go to the canary, whatever the weight."""

    what = "an HTTP header name"
    kind: Literal["header"] = "header"

    def describe(self) -> str:
        return f"header {self.name}: {self.value}"


class Cookie(_Match):
    """A/B: requests carrying cookie `name` with `value` go to the canary, whatever the weight."""

    what = "a cookie name"
    kind: Literal["cookie"] = "cookie"

    @field_validator("value")
    @classmethod
    def _cookie_value(cls, value: str) -> str:
        if not _COOKIE_VALUE.match(value):
            raise ValueError(f'"{value}" is not a cookie value (no spaces, quotes, "," or ";")')
        return value

    def describe(self) -> str:
        return f"cookie {self.name}={self.value}"


Match = Annotated[Header | Cookie, Field(discriminator="kind")]


class Hook(Model):
    """A command run during the canary, like a verify step: at every step once its weight is set
    (`at="step"`, e.g. a load test that asserts), or once before promotion (`at="promote"`, a
    confirmation). Exit 0 within `timeout` goes on; anything else aborts the canary.

    With `service`, it runs once in that service's new image on the environment's network;
    without, where devkit runs, with `DEVKIT_CANARY_WEIGHT` set to the step's weight."""

    command: tuple[str, ...] = Field(min_length=1)
    at: Literal["step", "promote"] = "step"
    service: Name | None = None
    timeout: float = Field(default=120.0, gt=0)

    def __init__(self, command: Sequence[str] | None = None, **fields: Any) -> None:
        super().__init__(**({"command": command} if command is not None else {}), **fields)

    @field_validator("command", mode="before")
    @classmethod
    def _not_a_string(cls, value: Any) -> Any:
        return command_list(value, '["python", "-m", "loadtest"]')


class Prometheus(Model):
    """Where the checks are evaluated: a Prometheus HTTP API, by `url` from where devkit runs, or
    by an in-cluster Service `"NAMESPACE/NAME:PORT"` that devkit reaches by a port-forward."""

    url: str | None = None
    service: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"url": value} if "://" in value else {"service": value}
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f'"{value}" is not an http:// or https:// URL')
        return value

    @field_validator("service")
    @classmethod
    def _service_ref(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_REF.match(value):
            raise ValueError(f'"{value}" is not a Service: give "NAMESPACE/NAME:PORT"')
        return value

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.url is None) == (self.service is None):
            raise ValueError('give url= ("http://...") or service= ("NAMESPACE/NAME:PORT")')
        return self

    @property
    def where(self) -> tuple[str, str, int] | None:
        """(namespace, service, port) of an in-cluster Prometheus; None for a URL."""
        found = _SERVICE_REF.match(self.service or "")
        return (found["namespace"], found["name"], int(found["port"])) if found else None

    def describe(self) -> str:
        return self.url or f"service {self.service}"


class Canary(Model):
    """Release `service` progressively: its new version runs as a canary beside the stable one
    and takes each step's share of the traffic on its route; `checks` are evaluated every
    `interval` seconds of each step; more than `failures` failed evaluations abort the release.

    `match` sends chosen requests (a header or cookie) to the canary whatever the weight (A/B).
    `unattended=True` says no one can run `--continue` for this environment (a CI pipeline with
    no manual gate): a manual pause is then refused.
    """

    service: Name
    steps: tuple[Step, ...] = Field(min_length=1)
    checks: tuple[Check, ...] = ()
    failures: int = Field(default=0, ge=0, description="failed check evaluations allowed")
    interval: float = Field(default=10.0, ge=1, le=3600, description="seconds between checks")
    match: Match | None = None
    hooks: tuple[Hook, ...] = ()
    prometheus: Prometheus | None = None
    unattended: bool = False

    @field_validator("steps", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        """Steps may be given as weights: `steps=[10, 50, 100]` (pause 60 s each)."""
        if isinstance(value, list | tuple):
            return tuple({"weight": v} if isinstance(v, int) else v for v in value)
        return value

    @field_validator("hooks", mode="before")
    @classmethod
    def _one_hook(cls, value: Any) -> Any:
        return (value,) if isinstance(value, Hook) else value

    @field_validator("checks", mode="before")
    @classmethod
    def _one_check(cls, value: Any) -> Any:
        return (value,) if isinstance(value, SuccessRate | Latency | Query) else value

    @model_validator(mode="after")
    def _steps_make_sense(self) -> Self:
        weights = [step.weight for step in self.steps]
        for index, (before, after) in enumerate(pairwise(weights)):
            if after <= before:
                raise ValueError(
                    f"steps[{index + 1}]: weight {after} does not increase on the step before "
                    f"({before}); weights go up, e.g. 10, 50, 100"
                )
        if self.match is None and weights[-1] == 0:
            raise ValueError("every step sends 0% to the canary and no match= sends any request")
        manual = [i for i, step in enumerate(self.steps) if step.manual]
        if self.unattended and manual:
            raise ValueError(
                f"steps[{manual[0]}] pauses until --continue, and this canary is unattended: "
                "no one can continue it, so it would wait until its lock expires; give the step "
                "a pause in seconds, or let someone continue it (unattended=False)"
            )
        names = [check.name for check in self.checks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"check names must be unique; given twice: {', '.join(twice)}")
        if self.checks and self.prometheus is None:
            raise ValueError(
                "checks are evaluated against Prometheus: say where it answers, e.g. "
                'prometheus="monitoring/prometheus:9090" (an in-cluster Service) or '
                'prometheus="http://127.0.0.1:9090"'
            )
        return self

    def describe_steps(self) -> list[str]:
        return [f"{index + 1}. {step.describe()}" for index, step in enumerate(self.steps)]
