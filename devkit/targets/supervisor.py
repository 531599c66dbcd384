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

from collections.abc import Sequence

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

NAME = "devkit-supervise"
EXIT_MARK = "devkit: the process exited with status"
"""What the supervisor prints (on stderr) when the service's process dies on its own."""


def supervised(
    entrypoint: Sequence[str] | None, cmd: Sequence[str] | None, command: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Entrypoint and command that run the image's own (entrypoint + command) under the supervisor.

    `command` is the service's declared command, which replaces the image's CMD as Docker does.
    """
    argv = [*(entrypoint or []), *(command if command is not None else (cmd or []))]
    return ["/bin/sh", "-c", SCRIPT, NAME], argv
