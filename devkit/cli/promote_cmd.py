"""`devkit promote SRC DST`: deploy to DST exactly the images SRC's last healthy release runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devkit.cli.app import ClusterOption, app
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
    from devkit.delivery.waves import Wave, WaveRun
    from devkit.planning.planner import Plan
    from devkit.records.release import Release


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
    cluster: ClusterOption = None,
    source_cluster: Annotated[
        str | None,
        typer.Option("--source-cluster", metavar="NAME",
                     help="SRC on several clusters: take this cluster's release (default: its "
                          "first)."),
    ] = None,
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

    \b
    DST on several clusters is promoted wave by wave in its declared order (--cluster: only
    one): each cluster gets copies in its own registry, a deploy, a verify, before the next;
    a wave that fails is rolled back and stops the promotion, and the clusters done before it
    keep the new release or are rolled back too, as DST says (after_failure).
    With a canary declared for DST it goes out step by step: --continue resumes a paused
    one, --abort rolls it back (with tenants, the one --tenant names).
    """
    from devkit.cli.deploying import cluster_waves, open_target, tenants_of

    about: dict[str, Any] = {"source": source, "environment": destination}
    if resume or abort:
        from devkit.cli.deploying import resume_canary

        with json_errors(json, about):
            plan, root, _ = cluster_plan(ctx, destination, namespace, tenant=tenant)
            resumed = resume_canary(plan, root, context, abort=abort, break_lock=break_lock)
        show_result(resumed, destination, json, about)
        return
    with json_errors(json, about):
        src_plan, _, _ = cluster_plan(ctx, source, source_namespace)
        plan, root, _ = cluster_plan(ctx, destination, namespace, tenant=tenant)
        src_waves = cluster_waves(src_plan, source_cluster, source_context)
        if src_waves:
            if len(src_waves) > 1:
                say(f"{source} runs on several clusters: taking {src_waves[0].cluster}'s release")
            src_plan = src_waves[0].plan
        dst_waves = cluster_waves(plan, cluster, context)
        if dst_waves:
            from devkit.cli.deploying import wave_run

            run = wave_run(
                plan, root, "promote", context=context, force_conflicts=force_conflicts,
                break_lock=break_lock, copy_from=src_plan,
            )  # fmt: skip
            with open_target(src_plan, context=source_context) as src:
                src.check()
                taken = src.records.releases()
            _promote_waves(
                source, src_plan, taken, plan, dst_waves, run, dry_run=dry_run, json=json
            )
            return
        chosen = tenants_of(plan, tenant, namespace)
    done: list[dict[str, Any]] = []
    options = _Promotion(source, dry_run, break_lock, source_context, context)
    for name in chosen:
        if name is not None:
            about = {**about, "tenant": name, "done": [d["tenant"] for d in done]}
        with json_errors(json, about):
            # A tenant is promoted from the same tenant of SRC when SRC has it, else from SRC.
            taken_from = src_plan
            if name is not None and name in src_plan.tenants:
                taken_from = cluster_plan(ctx, source, source_namespace, tenant=name)[0]
            into = plan if name == tenant else cluster_plan(ctx, destination, tenant=name)[0]
            shown = _promote_one(taken_from, into, root, options, force_conflicts=force_conflicts)
        if name is None or tenant is not None:  # one release: the document it always was
            _show_one(shown, {k: v for k, v in about.items() if k != "done"}, json, dry_run)
            return
        done.append(_tenant_done(shown, name, about, json, dry_run))
    if json:
        print_json({"source": source, "environment": destination, "ok": True, "tenants": done})


def _show_one(
    shown: dict[str, Any] | tuple[DeployResult, dict[str, Any]],
    about: dict[str, Any],
    json: bool,
    dry_run: bool,
) -> None:
    """One promotion's outcome: what was decided, or the healthy release."""
    if isinstance(shown, dict):
        _show(shown, about, json, dry_run)
    else:
        show_result(shown[0], about["environment"], json, {**about, **shown[1]})


def _tenant_done(
    shown: dict[str, Any] | tuple[DeployResult, dict[str, Any]],
    name: str,
    about: dict[str, Any],
    json: bool,
    dry_run: bool,
) -> dict[str, Any]:
    """One tenant's promotion among several: its line on stderr (without --json), and its
    entry in the `tenants` list."""
    from devkit.cli.deploying import result_line

    if isinstance(shown, dict):
        if not json:
            _show(shown, {**about, "environment": f"{about['environment']}, tenant {name}"},
                  False, dry_run)  # fmt: skip
        return {"tenant": name, **shown}
    if not json:
        result_line(shown[0], about["environment"], name)
    return {"tenant": name, **shown[1], **shown[0].to_dict()}


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
    from devkit.cli.deploying import copy_images, open_target, provenance, unlock
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
        secrets = local_secret_values(plan.secret_names, root)
        if options.break_lock:
            unlock(dst, say)
        printer = ServicePrinter(s.name for s in plan.services)
        if decided.copies:
            copy_images(decided.copies, src_plan, plan, printer.build_line)
        origin = f"promote from {options.source} #{decided.source.number}"
        result = deploy(
            plan, decided.images, dst, secrets=secrets, provenance=provenance(root, origin),
            root=root, progress=printer.step, say=say,
        )  # fmt: skip
    return result, decided.to_dict()


def _promote_waves(
    source: str,
    src_plan: Plan,
    taken: list[Release],
    plan: Plan,
    waves: tuple[Wave, ...],
    run: WaveRun,
    *,
    dry_run: bool,
    json: bool,
) -> None:
    """Promote to each cluster of DST in turn (or show, with --dry-run, what each would get)."""
    from functools import partial

    from devkit.cli.deploying import show_waves
    from devkit.delivery.waves import (
        after_failure_of,
        promote_wave,
        registry_of,
        rollback_wave,
        run_waves,
    )

    about = {"source": source, "environment": plan.environment}
    src_registry = registry_of(src_plan)
    if dry_run:
        _show_waves_dry_run(source, taken, waves, run, src_registry, about, json)
        return
    act = partial(
        promote_wave, source=taken, source_env=source, source_registry=src_registry, run=run
    )
    results = run_waves(
        plan.environment, waves, act, partial(rollback_wave, run=run),
        after_failure=after_failure_of(plan), say=say,
    )  # fmt: skip
    show_waves(results, plan.environment, json, about)


def _show_waves_dry_run(
    source: str,
    taken: list[Release],
    waves: tuple[Wave, ...],
    run: WaveRun,
    src_registry: str | None,
    about: dict[str, str],
    json: bool,
) -> None:
    from devkit.delivery.deploy import promotion
    from devkit.policy.check import check

    shown = []
    for wave in waves:
        with run.open(wave.plan) as dst:
            dst.check()
            decided = promotion(
                taken, dst.records.releases(), source, wave.plan, src_registry=src_registry
            )
        one = decided.to_dict()
        one["policy"] = check(wave.plan, decided.images, root=run.root).to_dict()
        shown.append({"cluster": wave.cluster, **one})
    if json:
        nothing = all(one["nothing_to_do"] for one in shown)
        print_json({**about, "ok": True, "dry_run": True, "nothing_to_do": nothing,
                    "waves": shown})  # fmt: skip
        return
    for one in shown:
        where = {**about, "environment": f"{about['environment']} (cluster {one['cluster']})"}
        _show(one, where, json=False, dry_run=not one["nothing_to_do"])


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
