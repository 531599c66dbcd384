"""What deploy, promote, rollback and releases share: the cluster environment, its target,
the images to ship, and how a failure is reported to CI (--json on stdout too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devkit.cli.loading import blueprint, settings
from devkit.cli.output import err, print_json

if TYPE_CHECKING:
    from pathlib import Path

    import docker

    from devkit.delivery.deploy import DeployResult, DeployTarget, Provenance
    from devkit.planning.images import ImageMap
    from devkit.planning.planner import Plan

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
BreakLockOption = Annotated[
    bool,
    typer.Option(
        "--break-lock", help="Take the environment's deploy lock even if someone holds it."
    ),
]


ContextOption = Annotated[
    str | None,
    typer.Option("--context", metavar="NAME", help="Kubernetes: this kubeconfig context."),
]
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", metavar="NS", help="Kubernetes: this namespace."),
]
ForceConflictsOption = Annotated[
    bool,
    typer.Option(
        "--force-conflicts",
        help="Kubernetes: take over fields another field manager owns (its change is lost).",
    ),
]
DEPLOYABLE = ("swarm", "kubernetes", "kind")


def cluster_plan(
    ctx: typer.Context, env: str, namespace: str | None = None
) -> tuple[Plan, Path, ImageMap]:
    """The plan of an environment that deploys (Swarm, Kubernetes), its root and image map."""
    from devkit.errors import UserError
    from devkit.planning.planner import plan

    loaded = blueprint(ctx)
    planned = plan(loaded, env)
    if planned.target.kind not in DEPLOYABLE:
        deployable = [n for n, e in loaded.environments.items() if e.target.kind in DEPLOYABLE]
        raise UserError(
            f'environment "{env}" runs on {planned.target.kind}; deploy, promote and rollback '
            "work on Swarm and Kubernetes environments",
            details=[
                "`devkit up -e ENV` runs a Docker environment",
                f"environments that deploy: {', '.join(deployable) or '(none)'}",
            ],
        )
    if namespace is not None:
        if planned.target.kind == "swarm":
            raise UserError(f'--namespace is for Kubernetes; "{env}" runs on Swarm')
        planned = planned.model_copy(update={"namespace": namespace})
    assert loaded.root is not None
    return planned, loaded.root, settings(ctx).image_map


@contextmanager
def open_target(
    plan: Plan, *, context: str | None = None, force_conflicts: bool = False
) -> Iterator[DeployTarget]:
    """The environment's target, connected (Swarm: the Docker engine; Kubernetes: its context)."""
    if plan.target.kind == "swarm":
        from devkit.build.engine import connect
        from devkit.targets.swarm.target import SwarmTarget

        client = connect()
        try:
            yield SwarmTarget(client, plan.project, plan.environment)
        finally:
            client.close()
        return
    from devkit.targets.kubernetes.api import KubeApi, connect_context
    from devkit.targets.kubernetes.target import KubernetesTarget

    kube = KubeApi(connect_context(context or kube_context(plan)))
    try:
        yield KubernetesTarget(kube, plan, force_conflicts=force_conflicts)
    finally:
        kube.close()


def kube_context(plan: Plan) -> str | None:
    """The kubeconfig context an environment names: its own, or kind's `kind-<cluster>`."""
    target = plan.target
    if target.kind == "kind":
        return f"kind-{target.cluster}"
    return getattr(target, "context", None)


def provenance(root: Path, origin: str) -> Provenance:
    from devkit.delivery.deploy import Provenance
    from devkit.project.provenance import deployer, git_commit

    return Provenance(by=deployer(), commit=git_commit(root), origin=origin)


def registry_of(plan: Plan, doing: str) -> str:
    from devkit.errors import UserError

    registry = getattr(plan.target, "registry", None)
    if not registry:
        raise UserError(
            f'environment "{plan.environment}" has no registry to push to, which {doing} needs',
            details=[
                f"its target is {plan.target.kind}; declare one, e.g. "
                'Swarm(registry="registry.example.com/team")',
                "nothing was built or changed",
            ],
        )
    return str(registry)


def build_and_push(
    client: docker.DockerClient,
    plan: Plan,
    root: Path,
    image_map: ImageMap,
    registry: str,
    *,
    on_line: Callable[[str, str], None],
) -> dict[str, str]:
    """Build the plan's images and push every service's image; service -> digest reference."""
    from devkit.build.builder import build_images, build_requests
    from devkit.build.engine import connect
    from devkit.build.push import publish_images

    requests = build_requests(client, plan, root, image_map)
    built = build_images(client, requests, on_line=on_line, client_factory=connect)
    pushed = publish_images(client, plan, built, image_map, registry, on_line=on_line)
    return {name: image.ref for name, image in sorted(pushed.items())}


def unlock(target: DeployTarget, say: Callable[[str], None]) -> None:
    held = target.records.break_lock()
    if held is not None:
        say(f"broke the lock: {held.describe()}")


@contextmanager
def json_errors(enabled: bool, context: dict[str, Any]) -> Iterator[None]:
    """With --json, a failure also prints one JSON document on stdout (CI parses it)."""
    from devkit.errors import DevkitError

    try:
        yield
    except DevkitError as exc:
        if enabled:
            print_json({**context, "ok": False, "error": exc.to_dict()})
        raise


def say(message: str) -> None:
    """A note from the deploy engine, on stderr."""
    err().print(message, markup=False, soft_wrap=True)


def show_result(result: DeployResult, env: str, json: bool, extra: dict[str, Any]) -> None:
    """A healthy release: one JSON document with --json, else its URLs and a line on stderr."""
    if json:
        print_json({**extra, "environment": env, "ok": True, **result.to_dict()})
        return
    for name, url in sorted(result.urls.items()):
        err().print(f"  {name}: {url}", markup=False)
    err().print(
        f"[green]release #{result.release.number} of {env} is healthy[/] ({result.seconds:.1f}s)"
    )
