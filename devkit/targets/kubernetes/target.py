"""The Kubernetes target: any cluster by kubeconfig context, one namespace per environment.

Apply is server-side apply as field manager `devkit`, in dependency order (namespace, secrets,
config, workloads, then traffic); a field another manager owns is a conflict (refused, naming
that manager) unless forced. Objects this environment applied before and no longer renders are
pruned, found by devkit's labels only. The rollout is followed with kstatus semantics to a
verdict, with the failing pod's reason and last log lines.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

from kubernetes.client import CoreV1Api, VersionApi
from kubernetes.client.exceptions import ApiException

from devkit.build.registry import check_images
from devkit.errors import DevkitError, EngineError, RefusedError, UserError
from devkit.model.canary import Prometheus
from devkit.model.job import Job
from devkit.planning.images import from_host
from devkit.planning.planner import Plan
from devkit.records.release import CanaryRecord
from devkit.render import labels as render_labels
from devkit.render.env import secret_object
from devkit.render.manifest import render
from devkit.render.version import DEFAULT
from devkit.schemas import available_versions, resolve, validate
from devkit.targets.base import AccessObjects, LiveCanary, StackSpec, Traffic
from devkit.targets.kubernetes import canary
from devkit.targets.kubernetes.access import DEPLOYER, access_objects
from devkit.targets.kubernetes.api import KubeApi, KubeError
from devkit.targets.kubernetes.diff import LiveChange, compare, pruned
from devkit.targets.kubernetes.records import KubeRecords, missing_namespace, namespace_exists
from devkit.targets.kubernetes.route_status import RouteStatus, route_status
from devkit.targets.kubernetes.spec import (
    INSTANCE,
    MANAGED_BY,
    PRUNABLE,
    Key,
    Status,
    job_object,
    key,
    not_ready,
    one_off_labels,
    one_off_spec,
    ordered,
    pod_problem,
    replica_failure,
    rollout_status,
    secret,
    to_prune,
    with_secret_hash,
)
from devkit.targets.outcome import Outcome, Progress

_POLL = 0.5
_TAIL = 20
_SHIFT_WAIT = 10.0  # seconds a weight change waits for the gateway to report its routes
_PROBLEM_GRACE = 10.0  # seconds a pod problem (image pull, crash loop) may last before it fails
_WORKLOADS = ("Deployment", "StatefulSet", "Job")
_CONFLICT = re.compile(r'conflicts? with "([^"]+)"')


class ApplyConflictError(RefusedError):
    """A field devkit applies is owned by another field manager."""


@dataclass(frozen=True)
class KubeObserved:
    """What deciding a release's objects needs from the cluster, read first."""

    version: str  # the server's minor version, clipped to the schemas devkit has


class KubernetesTarget:
    """One environment's namespace on a cluster: its objects, its rollout, its records."""

    env: str
    namespace: str

    def __init__(
        self, connect: Callable[[], KubeApi], plan: Plan, *, force_conflicts: bool = False
    ) -> None:
        self._connect, self.env, self.project = connect, plan.environment, plan.project
        self.plan = plan
        self.namespace = plan.namespace or render_labels.fit(f"{plan.project}-{plan.environment}")
        self.instance = render_labels.instance(plan)
        self.force_conflicts = force_conflicts
        self._secret_values: dict[str, str] = {}

    # The API server is reached on first use: `devkit cluster up` opens a target whose
    # cluster does not exist yet.
    @cached_property
    def kube(self) -> KubeApi:
        return self._connect()

    @cached_property
    def records(self) -> KubeRecords:
        return KubeRecords(self.kube, self.namespace, self.instance, self.env)

    @cached_property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.kube.api)

    def close(self) -> None:
        if "kube" in self.__dict__:
            self.kube.close()

    # Checks before anything changes

    def check(self) -> None:
        """The API server answers (the client already read its discovery documents)."""

    def provide_secrets(self, values: Mapping[str, str]) -> None:
        """The values the environment's Secret gets when objects are applied."""
        self._secret_values = dict(values)

    def check_images(self, images: Mapping[str, str]) -> None:
        """ImageMissingError naming every image (by digest) its registry does not serve, asked
        of the registry's v2 API from this machine with the docker config's credentials, before
        anything changes. Images loaded into a kind node (local tags) are not asked about."""
        declared = self.plan.target
        registry = getattr(declared, "registry", None)
        reached_at = getattr(declared, "registry_from_host", None)
        by_digest = {name: ref for name, ref in images.items() if "@" in ref}
        check_images(by_digest, from_host=lambda ref: from_host(ref, registry, reached_at))

    def kube_version(self) -> str:
        """The server's minor version, as render takes it (clipped to the schemas devkit has)."""
        info = VersionApi(self.kube.api).get_code()
        version = f"{info.major}.{re.sub(r'[^0-9]', '', info.minor)}"
        known = available_versions()
        return version if version in known else (known[-1] if known else DEFAULT)

    # What runs

    def observe(
        self, plan: Plan, images: Mapping[str, str], secret_values: Mapping[str, str]
    ) -> KubeObserved:
        """Read the server's version (render and validation follow it); the Secret's values are
        held in memory only, for apply."""
        self.provide_secrets(secret_values)
        return KubeObserved(version=self.kube_version())

    def prepare(self, plan: Plan, images: Mapping[str, str], observed: object) -> StackSpec:
        """The objects a release applies, rendered for the server's version and validated."""
        assert isinstance(observed, KubeObserved)
        manifest = render(plan, images, kube_version=observed.version)
        validate(manifest.objects, resolve(observed.version))
        objects = self._placed(manifest.objects)
        return {
            "namespace": self.namespace,
            "secret": secret_object(plan),
            "secret_labels": render_labels.common(plan),
            "objects": objects,
        }

    def _placed(self, rendered: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Rendered objects in this target's namespace (--namespace moves it)."""
        objects = [dict(o) for o in rendered]
        for obj in objects:
            obj["metadata"] = dict(obj["metadata"])
            if obj["kind"] != "Namespace":
                obj["metadata"]["namespace"] = self.namespace
            else:
                obj["metadata"]["name"] = self.namespace
        return objects

    def access(self, sources: Mapping[str, str], kube_version: str = DEFAULT) -> AccessObjects:
        """The least-privilege account of this environment's deploys: the kinds a release
        applies here (rendered for `kube_version`), its records and lock, and reading the
        records of each environment in `sources` (environment -> namespace)."""
        clash = [s.name for s in self.plan.services if s.name == DEPLOYER]
        if clash:
            raise UserError(
                f'service "{DEPLOYER}" would share its ServiceAccount with the deploy account',
                details=["rename the service; devkit names the deploy account so"],
            )
        manifest = render(self.plan, None, kube_version=kube_version)
        objects = self._placed(manifest.objects)
        return access_objects(self.plan, self.namespace, self.instance, objects, sources)

    def _objects(self, stack: Mapping[str, Any]) -> list[dict[str, Any]]:
        objects = list(stack["objects"])
        if self._secret_values:
            objects = with_secret_hash(objects, stack["secret"], self._secret_values)
            objects.append(
                secret(stack["secret"], self.namespace, stack["secret_labels"], self._secret_values)
            )
        return ordered(objects)

    def apply(self, stack: Mapping[str, Any], progress: Progress) -> dict[str, list[str]]:
        """Server-side apply every object in order, then prune what this environment dropped."""
        objects = self._objects(stack)
        applied: list[Key] = []
        for obj in objects:
            try:
                self.kube.apply(obj, force=self.force_conflicts)
            except KubeError as exc:
                if _admins(obj, exc):
                    progress("", "checked", _ADMINS_NAMESPACE.format(self.namespace))
                    continue
                raise self._apply_error(obj, exc) from None
            applied.append(key(obj))
            if obj["kind"] in _WORKLOADS:
                progress(obj["metadata"]["name"], "applied", obj["kind"])
        pruned = self.prune(applied, progress)
        for kind, _, name in pruned:
            progress(name, "pruned", kind)
        return {
            "applied": [f"{k}/{n}" for k, _, n in applied],
            "pruned": [f"{k}/{n}" for k, _, n in pruned],
        }

    def check_apply(self, stack: Mapping[str, Any]) -> None:
        """Server-side dry-run of every object: a conflict is refused before anything changes."""
        if namespace_exists(self.kube, self.namespace) is False:
            return  # a new namespace: nothing in it can conflict
        for obj in self._objects(stack):
            try:
                self.kube.apply(obj, force=self.force_conflicts, dry_run=True)
            except KubeError as exc:
                if _admins(obj, exc):
                    continue  # apply leaves it as the admin made it, and says so
                raise self._apply_error(obj, exc) from None

    def _apply_error(self, obj: Mapping[str, Any], exc: KubeError) -> DevkitError:
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        text = exc.message
        if exc.status == 409:
            managers = sorted(set(_CONFLICT.findall(text))) or ["another field manager"]
            fields = sorted(set(re.findall(r"\.(?:spec|metadata|data)[\w.\[\]=-]*", text)))
            return ApplyConflictError(
                f"{what} in {self.namespace}: fields devkit applies are owned by "
                f"{', '.join(managers)}",
                details=[
                    *(f"field {f}" for f in fields[:5]),
                    "someone changed them outside devkit; re-run with --force-conflicts to "
                    "take them over (their change is lost)",
                    "nothing was changed",
                ],
            )
        if exc.status == 404 and f'namespaces "{self.namespace}" not found' in text:
            return missing_namespace(self.env, self.namespace)
        if exc.denied:
            return EngineError(
                f"this account may not apply {what} in {self.namespace}",
                details=[
                    exc.message,
                    f"a deploy account from `devkit render {self.env} --access` may apply "
                    "only the kinds the blueprint rendered when it was made: render it again "
                    "and have an admin apply it",
                ],
            )
        return EngineError(f"the cluster refused {exc.message}")

    def prune(self, applied: list[Key], progress: Progress | None = None) -> list[Key]:
        """Delete objects this environment applied before that are not in `applied`."""
        doomed = self._prunable(applied, progress)
        for obj in doomed:
            kind, namespace, name = key(obj)
            self.kube.delete(PRUNABLE[kind], kind, name, namespace or None)
        return [key(obj) for obj in doomed]

    def _prunable(
        self, applied: list[Key], progress: Progress | None = None
    ) -> list[dict[str, Any]]:
        """The live objects of this environment (its labels) that are not in `applied`.

        Kinds this account may not list (a deploy account from `render --access` has only the
        kinds the release applies) are left out, and `progress` is told which: the account
        cannot have applied objects of them.
        """
        selector = f"{MANAGED_BY}=devkit,{INSTANCE}={self.instance}"
        live: list[dict[str, Any]] = []
        forbidden = []
        for kind, api_version in PRUNABLE.items():
            try:
                live += self.kube.list(api_version, kind, self.namespace, selector)
            except KubeError as exc:
                if not exc.denied:
                    raise
                forbidden.append(kind)
        if forbidden and progress is not None:
            progress("", "checked", f"not pruned: {', '.join(forbidden)} (this account may not "
                     "list them, so it cannot have applied any)")  # fmt: skip
        by_key = {key(obj): obj for obj in live}
        return [by_key[k] for k in to_prune(applied, live, self.instance)]

    def live_diff(self, stack: Mapping[str, Any], *, secret_known: bool) -> list[LiveChange]:
        """What applying the stack would change, object by object, from the API server's own
        dry-run (nothing is changed); objects it would prune last. Without the secret values
        (`secret_known` False), the environment's Secret is neither compared nor pruned."""
        visible = namespace_exists(self.kube, self.namespace)
        exists = visible is not False
        changes: list[LiveChange] = []
        applied = [] if secret_known else [("Secret", self.namespace, stack["secret"])]
        for obj in self._objects(stack):
            applied.append(key(obj))
            namespaced = obj["kind"] != "Namespace"
            if not namespaced and visible is None:
                continue  # an admin's namespace, which a deploy leaves as it is
            if namespaced and not exists:
                changes.append(compare(obj, None, None))  # a new namespace: all of it is new
                continue
            meta = obj["metadata"]
            live = self.kube.get(obj["apiVersion"], obj["kind"], meta["name"],
                                 meta.get("namespace"))  # fmt: skip
            try:
                dry = self.kube.apply(obj, force=self.force_conflicts, dry_run=True)
            except KubeError as exc:
                if _admins(obj, exc):
                    continue  # readable, not the account's to change: a deploy leaves it
                if exc.status != 409:
                    raise self._apply_error(obj, exc) from None
                text = self._apply_error(obj, exc).render()
                changes.append(LiveChange(obj["kind"], meta["name"], "conflict", text))
                continue
            changes.append(compare(obj, live, dry))
        if exists:
            changes += [pruned(obj) for obj in self._prunable(applied)]
        return changes

    # The rollout

    def wait(self, stack: Mapping[str, Any], timeout: float, progress: Progress) -> Outcome:
        """Follow every workload to Current (kstatus); fail on a failed one, a pod that cannot
        run (image pull, crash loop, unschedulable) for some seconds, or the deadline."""
        began = time.monotonic()
        pending = {o["metadata"]["name"]: o for o in stack["objects"] if o["kind"] in _WORKLOADS}
        problems: dict[str, tuple[float, str]] = {}
        last: dict[str, str] = {}
        while True:
            for name, obj in list(pending.items()):
                live = self.kube.get(obj["apiVersion"], obj["kind"], name, self.namespace)
                if live is None:
                    last[name] = "not created yet"
                    continue
                status = rollout_status(live)
                if status.state == "current":
                    progress(name, "healthy", f"{time.monotonic() - began:.1f}s")
                    del pending[name]
                    continue
                pods = self._pods(live)
                if status.state == "failed":
                    return self._failed(name, status.message, pods, began)
                problem = replica_failure(live) or next(filter(None, map(pod_problem, pods)), None)
                if problem is None:
                    problems.pop(name, None)
                    last[name] = status.message
                    continue
                since, _ = problems.setdefault(name, (time.monotonic(), problem))
                last[name] = problem
                if time.monotonic() - since > _PROBLEM_GRACE:
                    return self._failed(name, problem, pods, began)
            if not pending:
                return self._wait_routes(stack, began, timeout, progress)
            if time.monotonic() - began > timeout:
                name = sorted(pending)[0]
                pods = self._pods(
                    self.kube.get(pending[name]["apiVersion"], pending[name]["kind"], name,
                                  self.namespace) or pending[name]
                )  # fmt: skip
                why = next(filter(None, map(not_ready, pods)), None) or last.get(name, "")
                return self._failed(
                    name, f"not ready within {timeout:g}s: {why}".rstrip(": "), pods, began
                )
            time.sleep(_POLL)

    def _wait_routes(
        self, stack: Mapping[str, Any], began: float, timeout: float, progress: Progress
    ) -> Outcome:
        """Follow the HTTPRoutes until their gateway accepted them and resolved their backends
        (route_status); fail on a refusal that lasts some seconds (a gateway may see a route
        before its Service), or at the deadline."""
        pending = {o["metadata"]["name"]: o for o in stack["objects"] if o["kind"] == "HTTPRoute"}
        failing: dict[str, float] = {}
        last: dict[str, str] = {}
        while pending:
            for name, obj in list(pending.items()):
                live = self.kube.get(obj["apiVersion"], obj["kind"], name, self.namespace)
                status = route_status(live) if live else RouteStatus(name, "pending", "not created")
                if status.state == "ready":
                    progress(name, "routed", f"by its gateway in {time.monotonic() - began:.1f}s")
                    del pending[name]
                    continue
                last[name] = status.message
                if status.state == "pending":
                    failing.pop(name, None)
                elif time.monotonic() - failing.setdefault(name, time.monotonic()) > _PROBLEM_GRACE:
                    why = f'HTTPRoute "{name}": {status.message}'
                    return Outcome(False, why, (), _since(began))
            if pending and time.monotonic() - began > timeout:
                name = sorted(pending)[0]
                why = f"not served within {timeout:g}s: {last.get(name, '')}".rstrip(": ")
                return Outcome(False, f'HTTPRoute "{name}": {why}', (), _since(began))
            if pending:
                time.sleep(_POLL)
        return Outcome(True, seconds=_since(began))

    def _pods(self, workload: Mapping[str, Any]) -> list[dict[str, Any]]:
        spec = workload.get("spec") or {}
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        if workload["kind"] == "Job":
            match = {"job-name": workload["metadata"]["name"]}
        if not match:
            return []
        selector = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
        return self.kube.list("v1", "Pod", self.namespace, selector)

    def _failed(self, name: str, reason: str, pods: list[dict[str, Any]], began: float) -> Outcome:
        return Outcome(False, f'"{name}": {reason}', tuple(self.logs_of(pods)), _since(began))

    def logs_of(self, pods: list[dict[str, Any]]) -> list[str]:
        """The last log lines of the pod most likely to explain a failure."""
        newest = sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
        for pod in reversed(newest):
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                previous = container.get("restartCount", 0) > 0
                try:
                    text = self.core.read_namespaced_pod_log(
                        pod["metadata"]["name"], self.namespace, container=container["name"],
                        tail_lines=_TAIL, previous=previous,
                    )  # fmt: skip
                except ApiException:
                    continue
                if text:
                    return str(text).splitlines()[-_TAIL:]
        return []

    # One-off runs (verify steps, pre-deploy jobs)

    def run_once(
        self, service: str, image: str, command: list[str], env: Mapping[str, str], timeout: float
    ) -> Outcome:
        """Run `command` once in a pod made from the service's own pod template (its image,
        environment, secrets, security context), in the environment's namespace.

        `env` is ignored: the template's environment is the service's, from its ConfigMap and
        Secret, so no value passes through devkit.
        """
        began = time.monotonic()
        name = f"devkit-verify-{uuid.uuid4().hex[:8]}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": one_off_labels(self.instance, "verify", service),
            },
            "spec": one_off_spec(self._template(service), "verify", image, command),
        }
        self.kube.create(pod)
        live: dict[str, Any] = {}
        try:
            phase = ""
            while time.monotonic() - began < timeout:
                live = self.kube.get("v1", "Pod", name, self.namespace) or {}
                phase = (live.get("status") or {}).get("phase", "")
                if phase in ("Succeeded", "Failed"):
                    break
                problem = _cannot_start(live)
                if problem:
                    return Outcome(False, f"verify could not start: {problem}", (), _since(began))
                time.sleep(_POLL)
            lines = self.logs_of([live]) if live else []
        finally:
            self.kube.delete("v1", "Pod", name, self.namespace)
        if phase == "Succeeded":
            return Outcome(True, logs=tuple(lines), seconds=_since(began))
        why = "failed" if phase == "Failed" else f"did not finish in {timeout:g}s"
        return Outcome(False, f"verify {why}", tuple(lines), _since(began))

    def run_job(
        self, job: Job, stack: Mapping[str, Any], image: str, env: Mapping[str, str]
    ) -> Outcome:
        """A pre-deploy job: a Kubernetes Job from the service's pod template as this release
        renders it (its new image, its new variables), run to completion, then deleted.

        Nothing the running release uses is touched: the variables are the release's own, and
        secrets come from a Secret made for this job alone. Only what the job needs to exist
        at all (the service's ServiceAccount, on a first release) is created. `env` is ignored,
        as for verify steps.
        """
        began = time.monotonic()
        name = render_labels.fit(f"devkit-job-{job.name}-{uuid.uuid4().hex[:6]}", 52)
        objects = stack["objects"]
        self._ensure_service_account(job.service, objects)
        copy = None
        if self._secret_values:
            copy = secret(name, self.namespace, one_off_labels(self.instance, "job", job.service),
                          self._secret_values)  # fmt: skip
            self.kube.create(copy)
        body = job_object(
            job, name, image, objects=objects, namespace=self.namespace, instance=self.instance,
            secrets=(stack["secret"], name) if copy else None,
        )  # fmt: skip
        try:
            self.kube.create(body)
            return self._job_outcome(name, job.timeout + _PROBLEM_GRACE, began)
        finally:
            self.kube.delete("batch/v1", "Job", name, self.namespace)
            if copy:
                self.kube.delete("v1", "Secret", name, self.namespace)

    def _job_outcome(self, name: str, timeout: float, began: float) -> Outcome:
        """Follow a Job to completion or failure; its pod's last log lines either way."""
        pods: list[dict[str, Any]] = []
        while True:
            live = self.kube.get("batch/v1", "Job", name, self.namespace) or {}
            status = rollout_status(live) if live else Status("in-progress")
            pods = self._pods(live) if live else []
            problem = next(filter(None, map(_cannot_start, pods)), None)
            if status.state != "in-progress" or problem:
                break
            if time.monotonic() - began > timeout:
                return Outcome(
                    False, f"did not finish in {timeout:g}s", tuple(self.logs_of(pods)),
                    _since(began),
                )  # fmt: skip
            time.sleep(_POLL)
        if problem:
            return Outcome(False, f"could not start: {problem}", (), _since(began))
        lines = tuple(self.logs_of(pods))
        if status.state == "current":
            return Outcome(True, logs=lines, seconds=_since(began))
        return Outcome(False, f"failed: {_exit_of(pods) or status.message}", lines, _since(began))

    def _ensure_service_account(self, service: str, objects: list[dict[str, Any]]) -> None:
        if self.kube.get("v1", "ServiceAccount", service, self.namespace) is not None:
            return
        for obj in objects:
            if obj["kind"] == "ServiceAccount" and obj["metadata"]["name"] == service:
                self.kube.apply(obj)

    def _template(self, service: str) -> dict[str, Any]:
        """The pod template of a service's workload, as last applied."""
        for kind in ("Deployment", "StatefulSet"):
            found = self.kube.get("apps/v1", kind, service, self.namespace)
            if found:
                template: dict[str, Any] = found["spec"]["template"]
                return template
        raise EngineError(f'verify runs in service "{service}", which has no workload here')

    # Canaries (devkit/delivery/canary.py decides the steps)

    def canary_stack(
        self, stable: Mapping[str, Any], new: Mapping[str, Any], traffic: Traffic, release: int
    ) -> StackSpec:
        """`stable`'s stack with the canary of `traffic.service` made from `new`'s objects and
        the service's routes split (targets/kubernetes/canary.py)."""
        objects = canary.with_canary(stable["objects"], new["objects"], traffic, release)
        return {**stable, "objects": objects}

    def shift(self, stack: Mapping[str, Any], service: str, progress: Progress) -> None:
        """Apply only the service's HTTPRoutes (and VirtualServices) of `stack`, and wait
        (bounded) until the gateway reports the routes for their new generation: then it moves
        the traffic."""
        began = time.monotonic()
        routes = canary.route_objects(stack["objects"], service)
        for route in routes:
            try:
                self.kube.apply(route, force=self.force_conflicts)
            except KubeError as exc:
                raise self._apply_error(route, exc) from None
        pending = {r["metadata"]["name"]: r for r in routes if r["kind"] == "HTTPRoute"}
        while pending and time.monotonic() - began < _SHIFT_WAIT:
            for name, route in list(pending.items()):
                live = self.kube.get(route["apiVersion"], "HTTPRoute", name, self.namespace)
                if live is not None and route_status(live).state != "pending":
                    del pending[name]
            if pending:
                time.sleep(0.1)
        progress(service, "routes", f"weights applied ({time.monotonic() - began:.1f}s)")

    def canary_differs(
        self, before: Mapping[str, Any], after: Mapping[str, Any], service: str
    ) -> bool:
        return canary.differs(before["objects"], after["objects"], service)

    def live_canary(self) -> LiveCanary | None:
        """The canary this environment runs, if any (by its Deployment's labels)."""
        selector = f"{MANAGED_BY}=devkit,{INSTANCE}={self.instance},{canary.CANARY_OF}"
        deployments = self.kube.list("apps/v1", "Deployment", self.namespace, selector)
        if not deployments:
            return None
        routes = self.kube.list(
            "gateway.networking.k8s.io/v1", "HTTPRoute", self.namespace,
            f"{MANAGED_BY}=devkit,{INSTANCE}={self.instance}",
        )  # fmt: skip
        return canary.live_canary(deployments, routes)

    def record_canary(self, number: int, record: CanaryRecord) -> None:
        self.records.set_canary(number, record)

    def query(self, prometheus: Prometheus, promql: str) -> str:
        """An instant query of Prometheus's HTTP API: by its URL, or through the API server's
        proxy to its in-cluster Service."""
        where = prometheus.where
        if where is None:
            assert prometheus.url is not None
            url = f"{prometheus.url.rstrip('/')}/api/v1/query?{urlencode({'query': promql})}"
            try:
                with urlopen(url, timeout=15) as answer:  # noqa: S310 - the user's http(s) URL
                    return str(answer.read().decode())
            except HTTPError as exc:
                return str(exc.read().decode(errors="replace"))
            except OSError as exc:
                raise EngineError(f"Prometheus at {prometheus.url} did not answer: {exc}") from None
        namespace, name, port = where
        try:
            return self.kube.service_get(namespace, name, port, "api/v1/query", [("query", promql)])
        except KubeError as exc:
            if exc.status == 400 and exc.body:
                return exc.body  # Prometheus's own error document (a bad query)
            raise EngineError(
                f"Prometheus ({prometheus.describe()}) did not answer: {exc.message}"
            ) from None

    def gateway_backend(self, service: str) -> str:
        """Traefik names a route's backend `<router>-svc-<namespace>-<Service>-<n>`, with the
        provider after an "@", in its metrics' `service` label. (Names are DNS labels: nothing in
        them needs escaping in a regular expression, nor in a PromQL string.)"""
        return f".*-svc-{self.namespace}-{service}-[0-9]+@kubernetesgateway"

    def published(self) -> dict[str, dict[int, int]]:
        """Nothing is published on this machine: clusters serve through Services and Ingress."""
        return {}

    # Taking it down

    def destroy(self, *, volumes: bool) -> dict[str, list[str]]:
        """Delete everything this environment applied, its records (and its volume claims
        with `volumes`), and its namespace if devkit created it (which takes the claims too)."""
        pruned = self.prune([])
        records = self.records.remove_all()
        claims = []
        if volumes:
            selector = f"{INSTANCE}={self.instance}"
            for claim in self.kube.list("v1", "PersistentVolumeClaim", self.namespace, selector):
                self.kube.delete("v1", "PersistentVolumeClaim", claim["metadata"]["name"],
                                 self.namespace)  # fmt: skip
                claims.append(claim["metadata"]["name"])
        try:
            namespace = self.kube.get("v1", "Namespace", self.namespace)
        except KubeError as exc:
            if not exc.denied:
                raise
            namespace = None  # an admin's, which this account may not even read
        removed_namespace = []
        owned = (namespace or {}).get("metadata", {}).get("labels", {}).get(MANAGED_BY)
        if namespace and owned == "devkit" and volumes:
            self.kube.delete("v1", "Namespace", self.namespace, None)
            removed_namespace.append(self.namespace)
        return {
            "objects": [f"{k}/{n}" for k, _, n in pruned],
            "records": records,
            "volumes": claims,
            "namespaces": removed_namespace,
        }


_ADMINS_NAMESPACE = (
    "namespace {}: made by an admin, and this account may not change it: its labels stay as "
    "they are"
)


def _admins(obj: Mapping[str, Any], exc: KubeError) -> bool:
    """The namespace, which this account may not read or patch: an admin made it."""
    return obj["kind"] == "Namespace" and exc.denied


def _since(began: float) -> float:
    return round(time.monotonic() - began, 2)


def _cannot_start(pod: Mapping[str, Any]) -> str | None:
    """A one-off pod that will not run: its image cannot be pulled, or its config is wrong."""
    problem = pod_problem(pod) if pod else None
    return problem if problem and ("ErrImage" in problem or "Config" in problem) else None


def _exit_of(pods: list[dict[str, Any]]) -> str:
    """How a one-off pod's container ended: "exited with 3" (or "" when it did not say)."""
    for pod in pods:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            ended = (container.get("state") or {}).get("terminated")
            if ended:
                return f"exited with {ended.get('exitCode')}"
    return ""
