from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devkit.records.lock import Lock, new_lock, stale


def test_a_live_lock_is_not_stale() -> None:
    lock = new_lock("ci", "deploy prod")
    assert stale(lock, alive=lambda pid: True) is None
    assert Lock.from_json(lock.to_json()) == lock


def test_a_lock_whose_process_died_on_this_host_is_stale() -> None:
    lock = new_lock("ci", "deploy prod")
    assert "is gone" in (stale(lock, alive=lambda pid: False) or "")
    # On another host the process cannot be checked: only expiry frees it.
    assert stale(lock, host="elsewhere", alive=lambda pid: False) is None


def test_an_expired_lock_is_stale() -> None:
    lock = new_lock("ci", "deploy prod", ttl=timedelta(minutes=1))
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert "expired" in (stale(lock, now=later, host="elsewhere") or "")


def test_a_paused_canary_keeps_its_lock_with_no_process_until_it_expires() -> None:
    lock = Lock(
        owner="ci", host="here", pid=0, operation="deploy prod", acquired="2026-11-30T10:00:00Z",
        expires="2026-12-01T10:00:00Z", paused=7,
    )  # fmt: skip
    assert Lock.from_json(lock.to_json()) == lock
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert stale(lock, now=now, host="here", alive=lambda pid: False) is None
    assert "release #7 is paused" in lock.describe()
    assert "expired" in (stale(lock, now=now + timedelta(days=1)) or "")


def test_a_lock_written_before_pauses_existed_reads_as_not_paused() -> None:
    text = new_lock("ci", "deploy prod").to_json().replace(', "paused": 0', "")
    assert '"paused"' not in text
    assert Lock.from_json(text).paused == 0
