"""`devkit releases ENV`: the release history an environment's target records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import ClusterOption, ContextOption, NamespaceOption, app
from devkit.cli.deploying import JsonOption, TenantOption, cluster_plan
from devkit.cli.output import out, print_json

if TYPE_CHECKING:
    from datetime import datetime

    from devkit.records.lock import Lock
    from devkit.records.release import PolicyResult, Release


@app.command("releases")
def releases_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment.")],
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only releases created since: a duration back from now (30m, 12h, 7d, 2w) or "
            "a date or time (2026-11-01, 2026-11-01T09:00:00Z).",
        ),
    ] = None,
    cluster: ClusterOption = None,
    tenant: TenantOption = None,
    json: JsonOption = False,
) -> None:
    """List ENV's releases, newest first: outcome, origin, commit, who, when, policy, and the
    lock. With --json, an audit trail: each release's digests, source, outcome and policy check.
    An environment on several clusters lists each cluster's own (--cluster: only one).
    """
    from datetime import UTC, datetime

    from devkit.cli.deploying import cluster_waves, one_tenant, open_target
    from devkit.records.release import since as since_moment

    moment = since_moment(since, datetime.now(UTC)) if since is not None else None
    plan, _, _ = cluster_plan(ctx, env, namespace, tenant=tenant)
    one_tenant(plan, tenant)
    waves = cluster_waves(plan, cluster, context)
    if not waves:
        with open_target(plan, context=context) as target:
            target.check()
            history = target.records.releases()
            lock = target.records.holder()
        _show(env, history, lock, moment, since, json)
        return
    found = []
    for wave in waves:
        with open_target(wave.plan, context=context) as target:
            target.check()
            found.append((wave.cluster, target.records.releases(), target.records.holder()))
    if json:
        print_json(
            {
                "environment": env,
                "since": _moment(moment),
                "clusters": [
                    {"cluster": name, **_document(history, lock, moment)}
                    for name, history, lock in found
                ],
            }
        )
        return
    for name, history, lock in found:
        out().print(f"cluster {name}:", style="bold")
        _show(env, history, lock, moment, since, json=False, where=f" (cluster {name})")


def _moment(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _document(
    history: list[Release], lock: Lock | None, moment: datetime | None
) -> dict[str, object]:
    from devkit.records.release import created_since, current

    running = current(history)
    shown = created_since(history, moment) if moment is not None else history
    return {
        "current": running.number if running else None,
        "releases": [r.summary() for r in reversed(shown)],
        "lock": lock.__dict__ if lock else None,
    }


def _show(
    env: str,
    history: list[Release],
    lock: Lock | None,
    moment: datetime | None,
    since: str | None,
    json: bool,
    where: str = "",
) -> None:
    """One target's releases (`where`: which cluster): a JSON document, or a table."""
    from rich.table import Table

    from devkit.records.release import created_since, current

    if json:
        print_json(
            {"environment": env, "since": _moment(moment), **_document(history, lock, moment)}
        )
        return
    running = current(history)
    shown = created_since(history, moment) if moment is not None else history
    if not shown:
        if history:
            out().print(f"{env}{where} has no releases since {since}")
        else:
            out().print(f"{env}{where} has no releases yet; `devkit deploy {env}` makes the first")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("#", "status", "origin", "commit", "by", "created", "policy", "reason"):
        table.add_column(column, overflow="fold")
    for r in reversed(shown):
        mark = " *" if running and r.number == running.number else ""
        table.add_row(
            f"{r.number}{mark}", r.status, r.origin, (r.commit or "-")[:12], r.by, r.created,
            _policy(r.policy), r.reason or "",
        )  # fmt: skip
    out().print(table)
    out().print("* the release that runs", style="dim")
    for r in reversed(shown):
        if r.canary is not None:
            _print_canary(r)
    if lock:
        out().print(f"locked: {lock.describe()}", markup=False)


def _policy(result: PolicyResult | None) -> str:
    if result is None:
        return "-"
    if result.passed:
        return "passed"
    return f"{len(result.violations)} violations" + ("" if result.enforced else " (advice)")


def _print_canary(release: Release) -> None:
    """A canary release's steps, each check's measured values, how each step ended."""
    canary = release.canary
    assert canary is not None
    out().print(
        f"#{release.number} canary of {canary.service} beside #{canary.stable}:", markup=False
    )
    for number, step in enumerate(canary.steps, start=1):
        out().print(f"  step {number}: {step.weight}% {step.status}", markup=False)
        by_check: dict[str, list[str]] = {}
        for result in step.checks:
            shown = "no data" if result.value is None else f"{result.value:.4g}"
            mark = "" if result.passed is not False else " FAILED"
            by_check.setdefault(f"{result.name} ({result.bound})", []).append(shown + mark)
        for name, values in by_check.items():
            out().print(f"    {name}: {', '.join(values)}", markup=False)
