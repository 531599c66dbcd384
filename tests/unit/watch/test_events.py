"""The dev loop's event bus: one stream, fanned out in order, with a bounded history."""

from __future__ import annotations

import threading

from devkit.devloop.events import Event, EventBus


def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    first: list[Event] = []
    second: list[Event] = []
    bus.subscribe(first.append)
    bus.subscribe(second.append)
    bus.step("api", "healthy", "1.2s")
    bus.build_line("api", "Step 1/3")
    bus.log_line("api", "listening")
    assert [(e.kind, e.service, e.event, e.detail) for e in first] == [
        ("step", "api", "healthy", "1.2s"),
        ("build", "api", "", "Step 1/3"),
        ("log", "api", "", "listening"),
    ]
    assert first == second
    assert [e.seq for e in first] == [1, 2, 3]


def test_unsubscribed_readers_get_nothing_more() -> None:
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.step("api", "create", "")
    unsubscribe()
    bus.step("api", "start", "")
    assert len(seen) == 1


def test_history_is_bounded_and_a_late_reader_gets_it_then_the_rest() -> None:
    bus = EventBus(history=3)
    for i in range(5):
        bus.log_line("api", f"line {i}")
    assert [e.detail for e in bus.history()] == ["line 2", "line 3", "line 4"]
    late: list[Event] = []
    bus.subscribe_from(3, late.append)
    bus.log_line("api", "line 5")
    assert [e.detail for e in late] == ["line 3", "line 4", "line 5"]


def test_only_the_newest_usage_reading_is_kept_so_readings_never_push_history_out() -> None:
    bus = EventBus(history=3)
    bus.step("api", "healthy", "1.0s")
    for i in range(10):
        bus.publish("usage", "", "services", data={"services": [{"service": "api", "cpu": i}]})
    bus.log_line("api", "listening")
    kept = bus.history()
    assert [(e.kind, e.seq) for e in kept] == [("step", 1), ("usage", 11), ("log", 12)]
    assert kept[1].data["services"][0]["cpu"] == 9
    late: list[Event] = []
    bus.subscribe_from(1, late.append)
    assert [e.seq for e in late] == [11, 12]
    assert bus.history(after=11) == [kept[2]]


def test_the_newest_canary_of_each_environment_is_kept_whatever_else_happened_since() -> None:
    bus = EventBus(history=3)
    for number in (1, 2):
        for env in ("staging", "prod"):
            bus.publish("canary", "", "canaries",
                        data={"environment": env, "canaries": [{"release": number}]})  # fmt: skip
    for i in range(5):
        bus.log_line("api", f"line {i}")  # pushes every older line out of the history
    kept = [(e.kind, e.data.get("environment"), e.seq) for e in bus.history()]
    assert kept == [("canary", "staging", 3), ("canary", "prod", 4), ("log", None, 7),
                    ("log", None, 8), ("log", None, 9)]  # fmt: skip


def test_events_published_from_many_threads_are_numbered_once_each() -> None:
    bus = EventBus(history=10_000)
    seen: list[int] = []
    bus.subscribe(lambda e: seen.append(e.seq))
    threads = [
        threading.Thread(target=lambda: [bus.log_line("x", "y") for _ in range(500)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 2001))
    assert [e.seq for e in bus.history()] == list(range(1, 2001))


def test_an_event_as_json_carries_its_data_only_when_there_is_some() -> None:
    bus = EventBus()
    plain = bus.publish("step", "api", "sync", "1 file")
    status = bus.publish("status", "", "services", data={"services": []})
    assert "data" not in plain.to_dict()
    assert status.to_dict()["data"] == {"services": []}
