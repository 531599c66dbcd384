"""`devkit promote SRC DST`: deploy to DST exactly the images SRC's last healthy release runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import app
from devkit.cli.deploying import (
    AbortOption,
    BreakLockOption,
    ContinueOption,
    ForceConflictsOption,
    JsonOption,
    cluster_plan,
    json_errors,
    say,
    show_result,
)
from devkit.cli.output import err, out, print_json

if TYPE_CHECKING:
    from devkit.planning.planner import Plan


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="Take its last release...")],
    destination: Annotated[str, typer.Argument(metavar="DST", help="...and deploy it here.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    force_conflicts: ForceConflictsOption = False,
    break_lock: BreakLockOption = False,
    source_context: Annotated[
        str | None,
        typer.Option("--source-context", metavar="NAME",
                     help="Clusters: SRC's kubeconfig context instead of its own."),
    ] = None,
    source_namespace: Annotated[
        str | None,
        typer.Option("--source-namespace", metavar="NS",
                     help="Clusters: SRC's namespace instead of its own."),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option("--context", metavar="NAME",
                     help="Clusters: DST's kubeconfig context instead of its own."),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", metavar="NS",
                     help="Clusters: DST's namespace instead of its own."),
    ] = None,
    resume: ContinueOption = False,
    abort: AbortOption = False,
    json: JsonOption = False,
) -> None:  # fmt: skip
    """Promote SRC's last release to DST by image digest: nothing is built.

    \b
    When DST's registry differs from SRC's, each image is first copied into DST's registry by
    digest (the engine's docker credentials for both), and a copy whose digest differs is
    refused (exit 1, nothing deployed). Refused (exit 3) when SRC has never deployed, its last
    release is not healthy, or DST is locked by another deploy. When DST already runs those
    digests with the same plan, there is nothing to do (exit 0), so a re-run CI job passes.
    DST's release is verified and rolled back on failure like any deploy; with a canary
    declared for DST it goes out step by step (--continue resumes a paused one, --abort rolls it
    back).
    """
    from devkit.cli.deploying import open_target, provenance, unlock
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import deploy, promotion
    from devkit.project.secrets import local_secret_values

    about = {"source": source, "environment": destination}
    if resume or abort:
        from devkit.cli.deploying import resume_canary

        with json_errors(json, about):
            plan, root, _ = cluster_plan(ctx, destination, namespace)
            resumed = resume_canary(plan, root, context, abort=abort, break_lock=break_lock)
        show_result(resumed, destination, json, about)
        return
    with json_errors(json, about):
        src_plan, _, _ = cluster_plan(ctx, source, source_namespace)
        plan, root, _ = cluster_plan(ctx, destination, namespace)
        with open_target(src_plan, context=source_context) as src:
            src.check()
            taken = src.records.releases()
        with open_target(plan, context=context, force_conflicts=force_conflicts) as dst:
            dst.check()
            src_registry = getattr(src_plan.target, "registry", None)
            decided = promotion(
                taken, dst.records.releases(), source, plan, src_registry=src_registry
            )
            if dry_run or decided.nothing_to_do:
                shown = decided.to_dict()
                if dry_run:
                    from devkit.policy.check import check

                    report = check(plan, decided.images, root=root)
                    shown["policy"] = report.to_dict()
                _show(shown, about, json, dry_run)
                return
            secrets = local_secret_values({n for s in plan.services for n in s.secrets}, root)
            if break_lock:
                unlock(dst, say)
            printer = ServicePrinter(s.name for s in plan.services)
            if decided.copies:
                _copy(_from_host(decided.copies, src_plan, plan), printer.build_line)
            origin = f"promote from {source} #{decided.source.number}"
            result = deploy(
                plan, decided.images, dst, secrets=secrets, provenance=provenance(root, origin),
                root=root, progress=printer.step, say=say,
            )  # fmt: skip
    show_result(result, destination, json, {**about, **decided.to_dict()})


def _from_host(
    copies: dict[str, tuple[str, str]], src: Plan, dst: Plan
) -> dict[str, tuple[str, str]]:
    """The copies as this machine reaches both registries (`registry_from_host`)."""
    from devkit.planning.images import from_host

    def mapped(ref: str, plan: Plan) -> str:
        target = plan.target
        return from_host(ref, getattr(target, "registry", None),
                         getattr(target, "registry_from_host", None))  # fmt: skip

    return {n: (mapped(a, src), mapped(b, dst)) for n, (a, b) in copies.items()}


def _copy(copies: dict[str, tuple[str, str]], on_line: Callable[[str, str], None]) -> None:
    """Copy each image into DST's registry by digest; nothing is deployed if one fails."""
    from devkit.build.engine import connect
    from devkit.build.push import copy_image

    client = connect()
    try:
        for service, (image, copy) in sorted(copies.items()):
            copy_image(client, service, image, copy, on_line=on_line)
    finally:
        client.close()


def _show(decided: dict[str, object], context: dict[str, str], json: bool, dry_run: bool) -> None:
    if json:
        print_json({**context, "ok": True, "dry_run": dry_run, **decided})
        return
    source = decided["source"]
    assert isinstance(source, dict)
    taken = f"{source['environment']} #{source['release']}"
    if decided["nothing_to_do"]:
        err().print(
            f"{context['environment']} already runs release {taken}'s images: nothing to do",
            markup=False,
        )
        return
    changes = decided["changes"]
    assert isinstance(changes, dict)
    out().print(f"promote {taken} -> {context['environment']} (dry run):", markup=False)
    for name, change in sorted(changes.items()):
        out().print(
            f"  {name}: {change['from'] or '(not running)'} -> {change['to']}", markup=False
        )
    copies = decided.get("copies") or {}
    assert isinstance(copies, dict)
    for name, copy in sorted(copies.items()):
        out().print(f"  {name}: copied by digest from {copy['from']}", markup=False)
    if decided["plan_changed"]:
        out().print(
            f"  {context['environment']}'s plan changed since its last release", markup=False
        )
    if not changes and not decided["plan_changed"]:
        out().print("  nothing would change", markup=False)
    policy = decided.get("policy")
    if isinstance(policy, dict) and not policy["passed"]:
        verdict = "refused" if policy["enforced"] else "allowed (advice)"
        out().print(
            f"  policy: {len(policy['violations'])} violation(s), the promotion would be "
            f"{verdict}; devkit check {context['environment']}",
            markup=False,
        )
