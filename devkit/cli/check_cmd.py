"""`devkit check ENV`: the environment's policy applied to what a deploy would apply."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devkit.cli.app import JsonOption, app
from devkit.cli.images import IMAGE_HELP, parse_images
from devkit.cli.output import err, out, print_json
from devkit.render.version import DEFAULT


@app.command("check")
def check_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment to check.")],
    images: Annotated[
        Path | None,
        typer.Option(
            "--images",
            metavar="FILE",
            help="Check these images (written by `devkit build ENV --push`), as deploy would.",
        ),
    ] = None,
    image: Annotated[list[str] | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    sarif: Annotated[
        Path | None,
        typer.Option("--sarif", metavar="FILE", help="Also write the result as SARIF 2.1.0."),
    ] = None,
    kube_version: Annotated[
        str | None,
        typer.Option("--kube-version", metavar="X.Y",
                     help=f"Render for this version. [default: {DEFAULT}]"),
    ] = None,
    json: JsonOption = False,
) -> None:  # fmt: skip
    """Check ENV against its policy: the built-in rules it chooses and its Rego rules, over its
    plan and the Kubernetes objects a deploy would apply.

    \b
    Exit 0: no violation. Exit 3: violations, each with its rule, object and the blueprint
    line that declared it. `devkit deploy` and `devkit promote` run the same check first.
    """
    from devkit import __version__, schemas
    from devkit.cli.loading import env_plan
    from devkit.errors import RefusedError, UserError
    from devkit.policy.check import check
    from devkit.policy.sarif import sarif as sarif_log
    from devkit.project import imagesfile

    plan, root, _, _ = env_plan(ctx, env)
    given = parse_images(image)
    if images is not None:
        if given:
            raise UserError("give --images FILE or --image SERVICE=REF, not both")
        given = imagesfile.read(images, plan)
    version = schemas.resolve(kube_version or DEFAULT)
    report = check(plan, given, root=root, kube_version=str(version))
    if sarif is not None:
        import json as json_

        log = sarif_log(report, base=Path.cwd(), version=__version__)
        sarif.parent.mkdir(parents=True, exist_ok=True)
        sarif.write_text(json_.dumps(log, indent=2, sort_keys=True) + "\n")
    if json:
        print_json({"ok": report.passed, **report.to_dict()})
    else:
        _show(report)
    if not report.passed:
        raise typer.Exit(RefusedError.exit_code)


def _show(report: object) -> None:
    from devkit.policy.check import Report

    assert isinstance(report, Report)
    if report.passed:
        err().print(
            f"[green]{report.environment} passes its policy[/] "
            f"({len(report.rules)} rules: {', '.join(report.rules)})"
        )
        return
    for violation in report.violations:
        out().print(violation.describe(), markup=False, soft_wrap=True)
    mode = "" if report.enforced else " (advice: deploys of it are not refused)"
    err().print(
        f"[red]{report.environment}: {len(report.violations)} policy violation"
        f"{'s' if len(report.violations) != 1 else ''}[/]{mode}",
    )
