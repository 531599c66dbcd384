"""The process supervisor devkit puts in front of a live-synced service's command on Docker.

A restart after a sync must not cost a container restart (stop timeout, then start): the
supervisor, a POSIX sh script run as the container's main process (under Docker's init), keeps
the service's process as its child and restarts just that child on SIGHUP (what `docker kill -s
HUP` delivers through the init). When the child dies on its own (a syntax error in the synced
code, say) the container stays up and the supervisor waits for the next HUP, so the next good
save recovers without a container restart. TERM and INT stop the child and then the supervisor.
The child gets TERM first and KILL after a grace period (2 s). The supervisor writes its own pid
and its child's to /tmp/.devkit-supervisor.pid and /tmp/.devkit-child.pid, so the sync agent can
restart the child and know when the new one runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from devkit.planning.planner import PlannedService

SCRIPT = r"""
grace_ticks=${DEVKIT_RESTART_GRACE_TICKS:-200}
child=0; restart=0; stopping=0
echo $$ > /tmp/.devkit-supervisor.pid 2>/dev/null || true
stop_child() {
  [ "$child" -gt 0 ] || return 0
  kill -TERM "$child" 2>/dev/null || return 0
  i=0
  while kill -0 "$child" 2>/dev/null && [ "$i" -lt "$grace_ticks" ]; do
    sleep 0.01; i=$((i + 1))
  done
  kill -KILL "$child" 2>/dev/null || true
}
trap 'restart=1; stop_child' HUP
trap 'stopping=1; stop_child' TERM INT
while :; do
  restart=0
  "$@" &
  child=$!
  echo "$child" > /tmp/.devkit-child.pid 2>/dev/null || true
  while :; do
    wait "$child"; status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=0
  [ "$stopping" = 1 ] && exit "$status"
  [ "$restart" = 1 ] && continue
  echo "devkit: the process exited with status $status; waiting for the next change" >&2
  while [ "$restart" = 0 ] && [ "$stopping" = 0 ]; do sleep 0.05; done
  [ "$stopping" = 1 ] && exit "$status"
done
""".strip()

PYTHON_SCRIPT = r"""
import os, runpy, signal, sys, threading, time

argv = sys.argv[1:]
pid_dir = "/tmp"
for name in filter(None, os.environ.get("DEVKIT_PRELOAD", "").split(",")):
    try:
        __import__(name)
    except Exception as exc:
        print("devkit: could not preload %s: %s" % (name, exc), file=sys.stderr, flush=True)

def write(name, value):
    try:
        with open(os.path.join(pid_dir, name), "w") as handle:
            handle.write(str(value))
    except OSError:
        pass

def run_child():
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    args, i = argv[1:], 0
    while i < len(args) and args[i].startswith("-") and args[i] not in ("-m", "-c"):
        i += 1
    args = args[i:]
    code = 0
    try:
        if args and args[0] == "-m":
            sys.argv = [args[1]] + args[2:]
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        elif args and args[0] == "-c":
            sys.argv = ["-c"] + args[2:]
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = args
            sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
            runpy.run_path(args[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)

state = {"child": 0, "restart": False, "stopping": False}

def stop_child():
    child = state["child"]
    if not child:
        return
    try:
        os.kill(child, signal.SIGTERM)
    except ProcessLookupError:
        return
    def kill_late():
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timer = threading.Timer(2.0, kill_late)
    timer.daemon = True
    timer.start()

def on_hup(signum, frame):
    state["restart"] = True
    stop_child()

def on_stop(signum, frame):
    state["stopping"] = True
    stop_child()

signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_stop)
signal.signal(signal.SIGINT, on_stop)
write(".devkit-supervisor.pid", os.getpid())
status = 0
while True:
    state["restart"] = False
    child = os.fork()
    if child == 0:
        run_child()
    state["child"] = child
    write(".devkit-child.pid", child)
    _, raw = os.waitpid(child, 0)
    state["child"] = 0
    status = os.waitstatus_to_exitcode(raw)
    if state["stopping"]:
        sys.exit(0 if status < 0 else status)
    if state["restart"]:
        continue
    print("devkit: the process exited with status %s; waiting for the next change" % status,
          file=sys.stderr, flush=True)
    while not state["restart"] and not state["stopping"]:
        time.sleep(0.05)
    if state["stopping"]:
        sys.exit(status)
""".strip()
"""The warm-restart supervisor for Python services: preloaded modules, a fork per restart."""

NAME = "devkit-supervise"
EXIT_MARK = "devkit: the process exited with status"
"""What the supervisor prints (on stderr) when the service's process dies on its own."""


def runs_python(argv: Sequence[str]) -> bool:
    """Whether a command line starts a Python interpreter directly."""
    return (
        bool(argv)
        and re.fullmatch(r"python(\d+(\.\d+)?)?", PurePosixPath(argv[0]).name) is not None
    )


def supervised(
    entrypoint: Sequence[str] | None,
    cmd: Sequence[str] | None,
    command: Sequence[str] | None,
    preload: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Entrypoint and command that run the image's own (entrypoint + command) under a supervisor.

    `command` is the service's declared command, which replaces the image's CMD as Docker does.
    With `preload`, a Python command runs under the warm-restart supervisor (the same
    interpreter, the modules imported once); anything else runs under the sh supervisor.
    """
    argv = [*(entrypoint or []), *(command if command is not None else (cmd or []))]
    if preload and runs_python(argv):
        return [argv[0], "-c", PYTHON_SCRIPT], argv
    return ["/bin/sh", "-c", SCRIPT, NAME], argv


def restarts_on_sync(service: PlannedService) -> bool:
    """Whether a sync rule restarts the service, so it runs under devkit's supervisor."""
    return any(action.kind == "restart" for rule in service.sync for action in rule.then)


def preloaded(service: PlannedService) -> tuple[str, ...]:
    """The modules the service's restart rules keep warm, in order, once each."""
    names: list[str] = []
    for rule in service.sync:
        for action in rule.then:
            if action.kind == "restart":
                names.extend(n for n in action.preload if n not in names)
    return tuple(names)


ImageConfig = tuple[Sequence[str] | None, Sequence[str] | None]
"""An image's own (Entrypoint, Cmd)."""
