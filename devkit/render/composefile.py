"""A Docker Compose file of an environment, for teams that want one (`render --format compose`).

The same hardening as everywhere (read-only root filesystem, all capabilities dropped, no new
privileges, tmpfs for scratch paths and /tmp). Secrets are never written: a variable that holds
one reads it from the shell or the git-ignored `.env` when compose starts
(`${SHOP_DB_PASSWORD:?...}`), and a URL around a secret is composed the same way.

Health checks are the ones `devkit up` gives its containers: a command check as it is, an HTTP
or TCP check as a probe run inside the container with what the image has (curl, wget, python3,
bash). What compose cannot express is left out and documented in docs/render.md: live sync is
`devkit up`'s, not compose's.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planning.planner import EnvValue, Plan, PlannedService
from devkit.render import emit, labels
from devkit.render.healthcheck import healthcheck
from devkit.render.images import image_refs
from devkit.render.pod import scratch_paths, writable_root


def _duration(seconds: float) -> str:
    return f"{seconds:g}s"


def _interpolated(value: str | EnvValue) -> str:
    """A value as compose reads it: `$` escaped, secrets as required variables."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    text = []
    for part in value.parts:
        if isinstance(part, str):
            text.append(part.replace("$", "$$"))
        else:
            text.append(f"${{{part.secret}:?set {part.secret} in the environment or .env}}")
    return "".join(text)


def _escaped(argv: tuple[str, ...] | None) -> list[str] | None:
    return [arg.replace("$", "$$") for arg in argv] if argv else None


def _ports(service: PlannedService) -> list[dict[str, Any]]:
    published = []
    for port in service.ports.values():
        if port.host is None and not port.public:
            continue
        entry: dict[str, Any] = {"target": port.container, "host_ip": "127.0.0.1"}
        entry["protocol"] = port.protocol
        if port.host is not None:
            entry["published"] = str(port.host)
        published.append(entry)
    return published


def _deploy(service: PlannedService) -> dict[str, Any]:
    deploy: dict[str, Any] = {}
    replicas = service.autoscale.min if service.autoscale else service.replicas
    if replicas != 1:
        deploy["replicas"] = replicas
    res = service.resources
    if res is not None:
        limits: dict[str, Any] = {}
        reservations: dict[str, Any] = {}
        if res.cpu_limit:
            limits["cpus"] = f"{cpu_millicores(res.cpu_limit) / 1000:g}"
        if res.memory_limit:
            limits["memory"] = memory_bytes(res.memory_limit)
        if res.cpu:
            reservations["cpus"] = f"{cpu_millicores(res.cpu) / 1000:g}"
        if res.memory:
            reservations["memory"] = memory_bytes(res.memory)
        resources = {k: v for k, v in (("limits", limits), ("reservations", reservations)) if v}
        if resources:
            deploy["resources"] = resources
    return deploy


def _service(
    plan: Plan, service: PlannedService, image: str, given: bool, context_root: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": image,
        "cap_drop": ["ALL"],
        "cap_add": list(service.security.capabilities),
        "security_opt": ["no-new-privileges:true"],
        "read_only": not writable_root(service),
        "labels": {
            "dev.devkit.project": plan.project,
            "dev.devkit.env": plan.environment,
            "dev.devkit.service": service.name,
            "dev.devkit.spec-hash": service.spec_hash,
        },
        "build": _build(service, context_root) if not given else None,
        # compose interpolates `$` in the whole file: a shell's own variables are escaped
        "entrypoint": _escaped(service.entrypoint),
        "command": _escaped(service.command),
        "environment": {name: _interpolated(v) for name, v in service.env.items()},
        "ports": _ports(service),
        "depends_on": {dep: {"condition": _condition(plan, dep)} for dep in service.depends_on},
        "healthcheck": _healthcheck(service),
        "deploy": _deploy(service),
        "tmpfs": _tmpfs(service),
        "volumes": [f"{service.name}-{name}:{v.path}" for name, v in service.volumes.items()],
    }
    if service.security.run_as_user is not None:
        spec["user"] = f"{service.security.run_as_user}:{service.security.run_as_user}"
    if service.placement and service.placement.termination_grace:
        spec["stop_grace_period"] = _duration(service.placement.termination_grace)
    return {key: value for key, value in spec.items() if value not in (None, [], {})}


def _build(service: PlannedService, context_root: str) -> dict[str, Any] | None:
    if service.build is None:
        return None
    build: dict[str, Any] = {
        "context": posixpath.normpath(posixpath.join(context_root, service.build.context)),
        "dockerfile": service.build.dockerfile,
    }
    if service.build.target:
        build["target"] = service.build.target
    if service.build.args:
        build["args"] = dict(service.build.args)
    return build


def _healthcheck(service: PlannedService) -> dict[str, Any] | None:
    check = service.health
    docker = healthcheck(check, service)
    if check is None or docker is None:
        return None
    # compose interpolates `$` in the whole file: the check's own variables are escaped
    return {
        "test": [arg.replace("$", "$$") for arg in docker["Test"]],
        "interval": _duration(check.interval),
        "timeout": _duration(check.timeout),
        "retries": check.retries,
        "start_period": _duration(check.start_period),
    }


def _tmpfs(service: PlannedService) -> list[str]:
    return scratch_paths(service, read_only_root=not writable_root(service))


def _condition(plan: Plan, name: str) -> str:
    """Healthy when the service has a health check, else started."""
    return "service_healthy" if plan.service(name).health is not None else "service_started"


def compose(
    plan: Plan, images: Mapping[str, str] | None = None, *, context_root: str = "."
) -> dict[str, Any]:
    """The compose document; build contexts are joined to `context_root` (blueprint.py's
    directory as seen from where the file is written)."""
    refs = image_refs(plan, images)
    given = set(images or {})
    document: dict[str, Any] = {
        "name": labels.fit(f"{plan.project}-{plan.environment}"),
        "services": {
            s.name: _service(plan, s, refs[s.name], s.name in given, context_root)
            for s in plan.services
        },
    }
    volumes = {
        f"{s.name}-{name}": {"labels": {"dev.devkit.project": plan.project}}
        for s in plan.services
        for name in s.volumes
    }
    if volumes:
        document["volumes"] = volumes
    return document


def compose_yaml(
    plan: Plan, images: Mapping[str, str] | None = None, *, context_root: str = "."
) -> str:
    header = (
        f"Rendered by devkit from {plan.project} environment {plan.environment}.\n"
        "Do not edit: change blueprint.py and render again. Secrets come from the environment "
        "or .env."
    )
    lines = "".join(f"# {line}\n" for line in header.splitlines())
    return lines + emit.dump(compose(plan, images, context_root=context_root))
