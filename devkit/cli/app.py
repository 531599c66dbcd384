"""The typer application and its error handling: DevkitError -> message and exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from devkit import __version__
from devkit.cli.output import print_error

_ENGINE_LIBRARIES = ("docker.", "requests.", "urllib3.", "kubernetes.")


class _Group(TyperGroup):
    """Runs commands so that a DevkitError prints one paragraph and exits with its own code."""

    # typer passes its own Context subclass; the base class names typer's vendored click one.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        from devkit.errors import DevkitError

        try:
            return super().invoke(ctx)
        except DevkitError as exc:
            options = ctx.obj if isinstance(ctx.obj, Options) else None
            if options and options.debug:
                raise
            print_error(exc.render())
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            _point_at_the_env_form(exc)
            # An engine or network library failing where no devkit layer wrapped it: one line,
            # never a traceback, which could carry request details (names, environment values).
            if not type(exc).__module__.startswith(_ENGINE_LIBRARIES):
                raise
            options = ctx.obj if isinstance(ctx.obj, Options) else None
            if options and options.debug:
                raise
            explanation = getattr(exc, "explanation", None) or type(exc).__name__
            print_error(f"the engine failed: {str(explanation).splitlines()[0][:200]}")
            raise typer.Exit(1) from None


def _point_at_the_env_form(exc: Exception) -> None:
    """Say how this command takes ENV when a usage error comes from giving it the other way.

    `plan`, `render`, `deploy`... take ENV as an argument; `up`, `status`, `logs`... take
    `-e ENV`. Duck-typed: typer vendors click in some versions and uses click in others.
    """
    ctx = getattr(exc, "ctx", None)
    message = getattr(exc, "message", None)
    command = getattr(ctx, "command", None)
    env = next((p for p in getattr(command, "params", ()) if p.name == "env"), None)
    if env is None or not isinstance(message, str):
        return
    path = ctx.command_path  # type: ignore[union-attr]
    option = getattr(exc, "option_name", None)
    if env.param_type_name == "argument" and option in {"-e", "--env"}:
        exc.message = (  # type: ignore[attr-defined]
            f"{path} takes the environment as its argument, not {option}: {path} ENV"
        )
        exc.possibilities = None  # type: ignore[attr-defined]  # click's "Possible options: ..."
    elif env.param_type_name == "option" and message.startswith("Got unexpected extra argument"):
        exc.message = f"{message}; the environment is chosen with -e: {path} -e ENV"  # type: ignore[attr-defined]


class Options:
    """Options given before the command, shared by every command."""

    def __init__(self, file: Path | None, debug: bool) -> None:
        self.file = file
        self.debug = debug


app = typer.Typer(
    cls=_Group,
    name="devkit",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: `devkit --help` must not import rich
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"devkit {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            envvar="DEVKIT_FILE",
            show_envvar=True,
            help="Blueprint file, or a directory with blueprint.py. [default: ./blueprint.py]",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of devkit errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """One typed Python blueprint from laptop to production.

    devkit builds images, runs your stack locally with live sync, and ships the same blueprint
    to staging and production.

    \b
    Exit codes: 0 done, 1 failed at run time, 2 bad input (nothing changed),
                3 refused on purpose, 130 interrupted.
    """
    ctx.obj = Options(file=file, debug=debug)


def options(ctx: typer.Context) -> Options:
    """The shared options of the running command."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Options) else Options(file=None, debug=False)


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", metavar="ENV",
        help="The environment [default: local, or DEVKIT_DEFAULT_ENV / default_env in pyproject].",
    ),
]  # fmt: skip
"""`-e/--env` of the commands that act on a running stack."""

ServicesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[SERVICE|GROUP]...",
        help="Only these services (and what they need).",
        show_default=False,
    ),
]

ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context", metavar="NAME",
        help="Clusters: this kubeconfig context instead of the environment's own.",
    ),
]  # fmt: skip
NamespaceOption = Annotated[
    str | None,
    typer.Option(
        "--namespace", "-n", metavar="NS",
        help="Clusters: this namespace instead of the environment's own.",
    ),
]  # fmt: skip
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster", metavar="NAME",
        help="Environments on several clusters: only this one of its clusters.",
    ),
]  # fmt: skip
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
