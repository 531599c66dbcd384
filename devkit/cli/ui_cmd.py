"""`devkit ui`: the environments and the status of a running stack in a browser, on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ContextOption, EnvOption, app

PortOption = Annotated[
    int,
    typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1 (default: a free one).",
                 envvar="DEVKIT_UI_PORT"),
]  # fmt: skip


@app.command("ui")
def ui_command(
    ctx: typer.Context,
    env: EnvOption = None,
    port: PortOption = 0,
    context: ContextOption = None,
) -> None:
    """Serve the dev loop's page for a stack that is already up, and the environments view.

    Status is polled from the environment's target and logs followed; restart, rebuild and sync
    need the dev loop itself: `devkit up --ui` serves the same page from inside it. The page is
    served on 127.0.0.1 only, behind a random token in the printed URL. Ctrl-C stops serving.
    """
    import threading

    from devkit.cli.loading import env_plan
    from devkit.cli.output import err
    from devkit.devloop.events import EventBus
    from devkit.ui.launch import start_ui

    planned, root, _, loaded = env_plan(ctx, env)
    bus = EventBus()
    running = start_ui(loaded, planned, root, bus, port=port, context=context, follow_logs=True)
    announce(running.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        running.close()
        err().print("\nstopped serving")
        raise typer.Exit(130) from None


def announce(url: str) -> None:
    from devkit.cli.output import err

    err().print(f"devkit ui: {url}", markup=False, soft_wrap=True)
