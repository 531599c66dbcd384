"""Which test sessions are stale: owner process gone, on this host; never another host's."""

from __future__ import annotations

import os

from devkit.targets import labels
from devkit.testing.session import (
    OWNER,
    SESSION,
    Owner,
    current_owner,
    is_alive,
    session_labels,
    stale_sessions,
)


def test_owner_round_trips_through_its_label() -> None:
    owner = Owner(host="ci-runner-7", pid=4242, started="123456")
    assert Owner.parse(str(owner)) == owner
    assert Owner.parse("garbage") is None


def test_this_process_is_alive_and_a_reused_pid_is_not() -> None:
    me = current_owner()
    assert me.pid == os.getpid()
    assert is_alive(me)
    assert not is_alive(Owner(host=me.host, pid=me.pid, started="1"))  # same pid, other start
    assert not is_alive(Owner(host=me.host, pid=2**22 + 12345, started="1"))


def test_only_this_hosts_sessions_with_a_dead_owner_are_stale() -> None:
    found = {
        "dead": "box:10:1",
        "alive": "box:11:1",
        "elsewhere": "other-box:10:1",
        "unreadable": "???",
    }
    stale = stale_sessions(found, host="box", alive=lambda owner: owner.pid == 11)
    assert stale == {"dead"}


def test_session_labels_never_claim_a_devkit_up_environment() -> None:
    made = session_labels("shop", "abc", Owner("box", 1, "2"), "local")
    assert made[labels.PROJECT] == "shop"
    assert made[SESSION] == "abc" and made[OWNER] == "box:1:2"
    assert labels.ENV not in made  # `devkit up`'s stack of shop/local never sees these
