"""`devkit promote SRC DST`: deploy to DST exactly the images SRC's last healthy release runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devkit.cli.app import app
from devkit.cli.deploying import (
    AbortOption,
    BreakLockOption,
    ContinueOption,
    ForceConflictsOption,
    JsonOption,
    TenantOption,
    cluster_plan,
    json_errors,
    say,
    show_result,
)
from devkit.cli.output import err, out, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.delivery.deploy import DeployResult
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
    tenant: TenantOption = None,
    json: JsonOption = False,
) -> None:  # fmt: skip
    """Promote SRC's last release to DST by image digest: nothing is built.

    \b
    When DST's registry differs from SRC's, each image is first copied into DST's registry by
    digest (the engine's docker credentials for both), and a copy whose digest differs is
    refused (exit 1, nothing deployed). Refused (exit 3) when SRC has never deployed, its last
    release is not healthy, or DST is locked by another deploy. When DST already runs those
    digests with the same plan, there is nothing to do (exit 0), so a re-run CI job passes.
    DST's release is verified and rolled back on failure like any deploy. A DST with tenants
    is promoted tenant by tenant (or the one --tenant names), each from the same tenant of SRC
    if SRC has it, else from SRC, and stops at the first that fails.
    With a canary declared for DST it goes out step by step: --continue resumes a paused
    one, --abort rolls it back (with tenants, the one --tenant names).
    """
    from devkit.cli.deploying import result_line, tenants_of

    about: dict[str, Any] = {"source": source, "environment": destination}
    if resume or abort:
        from devkit.cli.deploying import resume_canary

        with json_errors(json, about):
            plan, root, _ = cluster_plan(ctx, destination, namespace, tenant=tenant)
            resumed = resume_canary(plan, root, context, abort=abort, break_lock=break_lock)
        show_result(resumed, destination, json, about)
        return
    with json_errors(json, about):
        base, _, _ = cluster_plan(ctx, destination, namespace, tenant=tenant)
        chosen = tenants_of(base, tenant, namespace)
    done: list[dict[str, Any]] = []
    for name in chosen:
        if name is not None:
            about = {**about, "tenant": name, "done": [d["tenant"] for d in done]}
        with json_errors(json, about):
            # A tenant is promoted from the same tenant of SRC when SRC has it, else from SRC.
            src_plan, _, _ = cluster_plan(ctx, source, source_namespace)
            from_tenant = name if name in src_plan.tenants else None
            if from_tenant is not None:
                src_plan, _, _ = cluster_plan(ctx, source, source_namespace, tenant=from_tenant)
            plan, root, _ = cluster_plan(ctx, destination, namespace, tenant=name)
            options = _Promotion(source, dry_run, break_lock, source_context, context)
            shown = _promote_one(src_plan, plan, root, options, force_conflicts=force_conflicts)
        if name is None or tenant is not None:  # one release: the document it always was
            one = {k: v for k, v in about.items() if k != "done"}
            if isinstance(shown, dict):
                _show(shown, one, json, dry_run)
            else:
                show_result(shown[0], destination, json, {**one, **shown[1]})
            return
        if isinstance(shown, dict):
            done.append({"tenant": name, **shown})
            if not json:
                _show(
                    shown, {**about, "environment": f"{destination}, tenant {name}"}, False, dry_run
                )
        else:
            done.append({"tenant": name, **shown[1], **shown[0].to_dict()})
            if not json:
                result_line(shown[0], destination, name)
    if json:
        print_json({"source": source, "environment": destination, "ok": True, "tenants": done})


@dataclass(frozen=True)
class _Promotion:
    source: str
    dry_run: bool
    break_lock: bool
    source_context: str | None
    context: str | None


def _promote_one(
    src_plan: Plan, plan: Plan, root: Path, options: _Promotion, *, force_conflicts: bool
) -> dict[str, Any] | tuple[DeployResult, dict[str, Any]]:
    """Promote SRC's last release into one destination plan: what was decided (dry run,
    nothing to do) as a dict, or the deploy's result and the decision."""
    from devkit.cli.deploying import open_target, provenance, unlock
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import deploy, promotion
    from devkit.project.secrets import local_secret_values

    with open_target(src_plan, context=options.source_context) as src:
        src.check()
        taken = src.records.releases()
    with open_target(plan, context=options.context, force_conflicts=force_conflicts) as dst:
        dst.check()
        src_registry = getattr(src_plan.target, "registry", None)
        decided = promotion(
            taken, dst.records.releases(), options.source, plan, src_registry=src_registry
        )
        if options.dry_run or decided.nothing_to_do:
            shown = decided.to_dict()
            if options.dry_run:
                from devkit.policy.check import check

                report = check(plan, decided.images, root=root)
                shown["policy"] = report.to_dict()
            return shown
        secrets = local_secret_values({n for s in plan.services for n in s.secrets}, root)
        if options.break_lock:
            unlock(dst, say)
        printer = ServicePrinter(s.name for s in plan.services)
        if decided.copies:
            _copy(_from_host(decided.copies, src_plan, plan), printer.build_line)
        origin = f"promote from {options.source} #{decided.source.number}"
        result = deploy(
            plan, decided.images, dst, secrets=secrets, provenance=provenance(root, origin),
            root=root, progress=printer.step, say=say,
        )  # fmt: skip
    return result, decided.to_dict()


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
