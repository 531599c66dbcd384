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
