"""The exit code of a command run over the exec API, from its error channel's status."""

from __future__ import annotations

from devkit.targets.kubernetes.backup import _Exec


def code_of(status: bytes | None) -> object:
    running = _Exec(ws=None)
    running.status = status
    return running.code()


def test_success_is_0_and_a_failure_gives_the_exit_code() -> None:
    assert code_of(b'{"metadata":{},"status":"Success"}') == 0
    failure = (b'{"metadata":{},"status":"Failure","message":"command terminated with non-zero '
               b'exit code","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",'
               b'"message":"127"}]}}')  # fmt: skip
    assert code_of(failure) == 127


def test_no_or_an_unreadable_status_is_not_taken_for_success() -> None:
    assert code_of(None) != 0
    assert code_of(b"{not json") != 0
    assert code_of(b'{"status":"Failure","message":"container not found"}') == (
        "container not found"
    )
