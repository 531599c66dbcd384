"""The built-in policy rules: pure functions of the rendered objects and the environment's policy.

Each rule takes every object of an environment (as `render(plan, images)` gives them, or any
Kubernetes objects) and yields a `Violation` per object that breaks it, naming the object. The
rules read only the objects, so they judge exactly what a deploy would apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devkit.model.policy import RULES, Policy
from devkit.source import SourceLocation

KubeObject = Mapping[str, Any]

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
        "projected", "secret",
    }
)  # fmt: skip
"""The volume types the restricted Pod Security Standard admits (hostPath is host-access's)."""
ADDABLE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
BUILD_TAG = re.compile(r"^dk-[0-9a-f]{8,}$")
"""The tag devkit's builder gives an image: a hash of exactly the files it was built from."""
SECRET_NAME = re.compile(
    r"(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)($|_)", re.IGNORECASE
)
URL_PASSWORD = re.compile(r"://[^/\s:@]+:(?!\$\()[^/\s@]+@")
"""A URL with a literal password (`scheme://user:pass@host`); `$(VAR)` is a reference."""


@dataclass(frozen=True)
class Violation:
    """One object that breaks one rule."""

    rule: str
    kind: str
    name: str
    message: str
    service: str | None = None
    location: SourceLocation | None = None

    @property
    def object(self) -> str:
        """`Kind/name`, or the environment as a whole when the rule names no object."""
        return f"{self.kind}/{self.name}" if self.kind else self.name or "(environment)"

    def describe(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.rule}: {self.object}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "object": {"kind": self.kind, "name": self.name},
            "service": self.service,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
        }


Rule = Callable[[Sequence[KubeObject], Policy], Iterable[Violation]]


def _violation(rule: str, obj: KubeObject, message: str) -> Violation:
    meta = obj.get("metadata") or {}
    service = (meta.get("labels") or {}).get("app.kubernetes.io/name")
    return Violation(rule, str(obj.get("kind")), str(meta.get("name")), message, service)


def pod_spec(obj: KubeObject) -> Mapping[str, Any] | None:
    """The pod spec of a workload (or a Pod); None for objects that run nothing."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif kind not in WORKLOADS:
        return None
    return (spec.get("template") or {}).get("spec") or {}


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or ()


def _pods(objects: Sequence[KubeObject]) -> Iterator[tuple[KubeObject, Mapping[str, Any]]]:
    for obj in objects:
        pod = pod_spec(obj)
        if pod is not None:
            yield obj, pod


def pod_security(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """The restricted Pod Security Standard, container by container."""
    for obj, pod in _pods(objects):
        pod_context = pod.get("securityContext") or {}
        for container in _containers(pod):
            context = container.get("securityContext") or {}
            name = container.get("name")
            problems = []
            if context.get("privileged"):
                problems.append("runs privileged")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append("does not set allowPrivilegeEscalation: false")
            if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
                problems.append("does not set runAsNonRoot: true")
            if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
                problems.append("runs as uid 0")
            seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
            if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
                problems.append("has no RuntimeDefault or Localhost seccomp profile")
            caps = context.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or ()):
                problems.append("does not drop ALL capabilities")
            added = sorted(set(caps.get("add") or ()) - ADDABLE_CAPABILITIES)
            if added:
                problems.append(f"adds capabilities {', '.join(added)}")
            for problem in problems:
                yield _violation("pod-security", obj, f'container "{name}" {problem}')
        for volume in pod.get("volumes") or ():
            kinds = sorted(set(volume) - {"name"} - RESTRICTED_VOLUMES - {"hostPath"})
            if kinds:
                yield _violation(
                    "pod-security", obj, f'volume "{volume.get("name")}" is of type {kinds[0]}'
                )


def resources(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """CPU and memory requests and a memory limit on every container."""
    for obj, pod in _pods(objects):
        for container in _containers(pod):
            res = container.get("resources") or {}
            missing = [
                f"{part}.{what}"
                for part, what in (
                    ("requests", "cpu"),
                    ("requests", "memory"),
                    ("limits", "memory"),
                )
                if not (res.get(part) or {}).get(what)
            ]
            if missing:
                yield _violation(
                    "resources",
                    obj,
                    f'container "{container.get("name")}" sets no {", ".join(missing)}',
                )


def split_image(reference: str) -> tuple[str, str, str | None, str | None]:
    """(registry, path, tag, digest) of an image reference, Docker Hub's defaults filled in."""
    rest, _, digest = reference.partition("@")
    name, tag = rest, None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = rest.rpartition(":")
    first, _, path = name.partition("/")
    if path and ("." in first or ":" in first or first == "localhost"):
        return first, path, tag, digest or None
    path = name if "/" in name else f"library/{name}"
    return "docker.io", path, tag, digest or None


def _images(objects: Sequence[KubeObject]) -> Iterator[tuple[KubeObject, str, str]]:
    for obj, pod in _pods(objects):
        for container in _containers(pod):
            yield obj, str(container.get("name")), str(container.get("image") or "")


def mutable_tag(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """Images by digest, or by the builder's dk-<hash> tag; a tag that can move is refused."""
    for obj, name, image in _images(objects):
        _, _, tag, digest = split_image(image)
        if digest or (tag and BUILD_TAG.match(tag)):
            continue
        shown = f'tag "{tag}"' if tag else 'no tag (so "latest")'
        yield _violation(
            "mutable-tag",
            obj,
            f'container "{name}" runs {image}, whose {shown} can move; pin it by digest '
            "(devkit build ENV --push writes digests to the images file)",
        )


def _allowed(registry: str, path: str, allowed: Iterable[str]) -> bool:
    full = f"{registry}/{path}"
    return any(full == entry or full.startswith(f"{entry}/") for entry in allowed)


def registries(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """Images only from the registries (and paths below them) the policy names."""
    if policy.registries is None:
        return
    for obj, name, image in _images(objects):
        registry, path, _, _ = split_image(image)
        if not _allowed(registry, path, policy.registries):
            yield _violation(
                "registries",
                obj,
                f'container "{name}" runs {image} from {registry}, which the environment does '
                f"not allow (allowed: {', '.join(policy.registries) or '(none)'})",
            )


def host_access(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """No host ports, host paths, or the host's network, PID or IPC namespaces."""
    for obj, pod in _pods(objects):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                yield _violation("host-access", obj, f"the pod sets {key}: true")
        for volume in pod.get("volumes") or ():
            if "hostPath" in volume:
                path = (volume.get("hostPath") or {}).get("path")
                yield _violation(
                    "host-access", obj, f'volume "{volume.get("name")}" mounts host path {path}'
                )
        for container in _containers(pod):
            for port in container.get("ports") or ():
                if port.get("hostPort"):
                    yield _violation(
                        "host-access",
                        obj,
                        f'container "{container.get("name")}" publishes host port '
                        f"{port['hostPort']}",
                    )


def probes(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """Readiness and liveness probes on the containers of every long-running workload."""
    for obj in objects:
        if obj.get("kind") not in LONG_RUNNING:
            continue
        pod = pod_spec(obj) or {}
        for container in pod.get("containers") or ():
            missing = [p for p in ("readinessProbe", "livenessProbe") if p not in container]
            if missing:
                yield _violation(
                    "probes",
                    obj,
                    f'container "{container.get("name")}" has no {" or ".join(missing)}; '
                    "declare a health check (health=Http(...), Tcp(...) or Command(...))",
                )


def _scaled(objects: Sequence[KubeObject]) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, name) -> (min, max) replicas, from the workload or the autoscaler that owns it."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for obj in objects:
        if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
            count = (obj.get("spec") or {}).get("replicas", 1)
            found[(obj["kind"], obj["metadata"]["name"])] = (count, count)
    for obj in objects:
        if obj.get("kind") == "HorizontalPodAutoscaler":
            spec = obj.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            key = (str(ref.get("kind")), str(ref.get("name")))
            if key in found:
                found[key] = (spec.get("minReplicas", 1), spec.get("maxReplicas", 1))
    return found


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def disruption_budget(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """A PodDisruptionBudget selecting the pods of every workload that runs several replicas."""
    budgets = [
        (o.get("metadata") or {}, (o.get("spec") or {}).get("selector") or {})
        for o in objects
        if o.get("kind") == "PodDisruptionBudget"
    ]
    scaled = _scaled(objects)
    for obj in objects:
        key = (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        if key not in scaled or scaled[key][1] <= 1:
            continue
        pod_labels = (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        namespace = obj["metadata"].get("namespace")
        if not any(
            meta.get("namespace") == namespace and _selects(selector, pod_labels)
            for meta, selector in budgets
        ):
            yield _violation(
                "disruption-budget",
                obj,
                f"runs up to {scaled[key][1]} replicas and no PodDisruptionBudget selects its "
                "pods, so a node drain may take them all at once",
            )


def min_replicas(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """At least `min_replicas` of every stateless workload (StatefulSets keep their count)."""
    floor = policy.min_replicas
    if floor is None:
        return
    for (kind, name), (low, _) in sorted(_scaled(objects).items()):
        if kind == "StatefulSet" or low >= floor:
            continue
        obj = next(o for o in objects if o.get("kind") == kind and o["metadata"]["name"] == name)
        yield _violation(
            "min-replicas",
            obj,
            f"runs {low} replica{'s' if low != 1 else ''}; the environment requires at least "
            f"{floor} (set replicas= or autoscale min on the service or the environment)",
        )


def _literal_secret(key: str, value: object) -> str | None:
    if SECRET_NAME.search(key):
        return f"{key} looks like a secret"
    if isinstance(value, str) and URL_PASSWORD.search(value):
        return f"{key} holds a URL with a password"
    return None


def secret_references(objects: Sequence[KubeObject], policy: Policy) -> Iterator[Violation]:
    """Secrets reach pods by reference (secretKeyRef), never as literal values or Secret data."""
    hint = 'declare it as Secret("NAME"): devkit then references the Secret, never the value'
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Secret" and (obj.get("data") or obj.get("stringData")):
            yield _violation(
                "secret-references",
                obj,
                "carries secret values in the rendered objects; create the Secret outside them",
            )
        elif kind == "ConfigMap":
            for key, value in sorted((obj.get("data") or {}).items()):
                why = _literal_secret(key, value)
                if why:
                    yield _violation("secret-references", obj, f"{why} in plain text; {hint}")
    for obj, pod in _pods(objects):
        for container in _containers(pod):
            for var in container.get("env") or ():
                if "value" not in var or "$(" in str(var["value"]):
                    continue  # by reference, or composed from one (a URL around a password)
                why = _literal_secret(str(var.get("name")), var["value"])
                if why:
                    yield _violation(
                        "secret-references",
                        obj,
                        f'container "{container.get("name")}": {why} in plain text; {hint}',
                    )


BUILT_IN: dict[str, Rule] = {
    "pod-security": pod_security,
    "resources": resources,
    "mutable-tag": mutable_tag,
    "registries": registries,
    "host-access": host_access,
    "probes": probes,
    "disruption-budget": disruption_budget,
    "min-replicas": min_replicas,
    "secret-references": secret_references,
}
assert set(BUILT_IN) == set(RULES), "every rule the model names has a function here"


def apply(objects: Sequence[KubeObject], policy: Policy) -> tuple[list[str], list[Violation]]:
    """(the rules applied, their violations) for the policy's choice of built-in rules."""
    chosen = [name for name in BUILT_IN if name not in policy.disable]
    found = [v for name in chosen for v in BUILT_IN[name](objects, policy)]
    return chosen, found
