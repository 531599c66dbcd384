"""`devkit doctor`'s verdicts, from plain facts: what blocks the dev loop, what only warns."""

from __future__ import annotations

from pathlib import Path

from devkit import Blueprint, Docker, Kind, Kubernetes, Port, Swarm
from devkit.planning.planner import plan
from devkit.project.doctor import (
    ContextFacts,
    ContextNeed,
    EngineFacts,
    Facts,
    InotifyFacts,
    Needs,
    PortFacts,
    RegistryFacts,
    RegistryNeed,
    WatchFacts,
    context_check,
    diagnose,
    engine_checks,
    inotify_check,
    needs,
    port_check,
    registry_check,
    watch_check,
)

HEALTHY = EngineFacts(
    "unix:///var/run/docker.sock", version="27.3.1", api_version="1.47",
    storage_driver="overlay2", skew=0.1,
)  # fmt: skip


def _blueprint() -> Blueprint:
    app = Blueprint("shop")
    app.service("api", image="api:1", ports={"http": Port(8000, host=8080)})
    app.service("db", image="postgres:16", ports={"pg": 5432})
    app.environment("local", Docker())
    app.environment("dev", Kind("shop-dev", registry="localhost:5001"))
    app.environment("staging", Kubernetes(context="staging", registry="ghcr.io/acme"))
    app.environment("prod", Kubernetes(context="prod", registry="ghcr.io/acme"))
    app.environment("swarm", Swarm(registry="127.0.0.1:5000"))
    app.file = Path("/repo/blueprint.py")
    return app


def test_needs_name_every_context_and_registry_and_mark_the_selected_environments_own() -> None:
    app = _blueprint()
    wanted = needs(app, plan(app, "staging"))

    assert [(c.context, c.environments, c.selected) for c in wanted.contexts] == [
        ("kind-shop-dev", ("dev",), False),
        ("prod", ("prod",), False),
        ("staging", ("staging",), True),
    ]
    assert wanted.contexts[0].kind_cluster == "shop-dev"
    assert [(r.host, r.environments, r.selected) for r in wanted.registries] == [
        ("127.0.0.1:5000", ("swarm",), False),
        ("ghcr.io", ("staging", "prod"), True),
        ("localhost:5001", ("dev",), False),
    ]
    assert not wanted.local


def test_a_registry_the_nodes_name_otherwise_is_checked_where_this_machine_reaches_it() -> None:
    app = Blueprint("shop")
    app.service("api", image="api:1")
    app.environment("prod", Kubernetes(context="prod", registry="registry.internal:5000",
                                       registry_from_host="127.0.0.1:5002"))  # fmt: skip
    wanted = needs(app, plan(app, "prod"))
    assert [(r.host, r.environments) for r in wanted.registries] == [("127.0.0.1:5002", ("prod",))]


def test_needs_of_a_local_environment_list_only_pinned_host_ports() -> None:
    app = _blueprint()
    wanted = needs(app, plan(app, "local"))
    assert wanted.local
    assert [(p.port, p.protocol, p.service) for p in wanted.ports] == [(8080, "tcp", "api")]


def test_unreachable_engine_fails_with_how_to_start_it() -> None:
    [check] = engine_checks(EngineFacts("unix:///nowhere.sock", error="connection refused"))
    assert check.status == "fail"
    assert "unix:///nowhere.sock" in check.summary
    assert check.fix is not None and "DOCKER_HOST" in check.fix


def test_healthy_engine_reports_version_driver_and_clock() -> None:
    checks = engine_checks(HEALTHY)
    assert [(c.name, c.status) for c in checks] == [
        ("engine", "ok"), ("storage driver", "ok"), ("clock", "ok"),
    ]  # fmt: skip
    assert "27.3.1" in checks[0].summary


def test_old_engine_vfs_driver_and_skewed_clock_warn() -> None:
    facts = EngineFacts("tcp://vm:2375", version="19.03.2", api_version="1.40",
                        storage_driver="vfs", skew=-42.0)  # fmt: skip
    checks = {c.name: c for c in engine_checks(facts)}
    assert {c.status for c in checks.values()} == {"warn"}
    assert "older than 20.10" in checks["engine"].summary
    assert "overlay2" in (checks["storage driver"].fix or "")
    assert "42.0s behind" in checks["clock"].summary


def test_file_watch_self_test_verdicts() -> None:
    assert watch_check(WatchFacts("/repo", 0.004)).status == "ok"
    slow = watch_check(WatchFacts("/repo", 2.5))
    assert slow.status == "warn"
    assert "2.50s" in slow.summary
    silent = watch_check(WatchFacts("/mnt/share", None, 5.0))
    assert silent.status == "fail"
    assert "WATCHFILES_FORCE_POLLING=1" in (silent.fix or "")


def test_inotify_limit_against_watched_directories() -> None:
    assert inotify_check(InotifyFacts(8192, 100, 2)).status == "ok"
    assert inotify_check(InotifyFacts(8192, 5000, 2)).status == "warn"
    full = inotify_check(InotifyFacts(8192, 9000, 2))
    assert full.status == "fail"
    assert "9000 directories under 2 watched paths, but the limit is 8192" in full.summary
    assert "fs.inotify.max_user_watches=524288" in (full.fix or "")
    assert inotify_check(InotifyFacts(None, 9000, 2)).status == "ok"


def test_missing_context_of_the_selected_environment_fails_and_names_those_that_exist() -> None:
    need = ContextNeed("staging", ("staging",), selected=True)
    facts = ContextFacts("staging", "/home/u/.kube/config", ("kind-shop-dev", "prod"))
    check = context_check(need, facts)
    assert check.status == "fail"
    assert 'names context "staging", which /home/u/.kube/config does not have' in check.summary
    assert "contexts there: kind-shop-dev, prod" in check.summary


def test_missing_context_of_another_environment_only_warns() -> None:
    need = ContextNeed("prod", ("prod",), selected=False)
    assert context_check(need, ContextFacts("prod", "/k")).status == "warn"


def test_missing_kind_context_says_to_create_the_cluster() -> None:
    need = ContextNeed("kind-shop-dev", ("dev",), selected=True, kind_cluster="shop-dev")
    check = context_check(need, ContextFacts("kind-shop-dev", "/k"))
    assert check.fix == "create the cluster: `devkit cluster up dev`"


def test_context_whose_api_server_does_not_answer_fails() -> None:
    need = ContextNeed("staging", ("staging",), selected=True)
    facts = ContextFacts("staging", "/k", ("staging",), exists=True, error="timed out")
    check = context_check(need, facts)
    assert check.status == "fail"
    assert "does not answer: timed out" in check.summary


def test_registry_without_credentials_warns_unless_it_is_local() -> None:
    remote = RegistryNeed("ghcr.io", ("staging",), selected=True)
    check = registry_check(remote, RegistryFacts("ghcr.io"))
    assert check.status == "warn"
    assert check.fix == "`docker login ghcr.io`"
    local = RegistryNeed("localhost:5001", ("dev",), selected=True)
    assert registry_check(local, RegistryFacts("localhost:5001")).status == "ok"


def test_unreachable_registry_fails_only_for_the_selected_environment() -> None:
    facts = RegistryFacts("ghcr.io", error="timed out", credentials="docker's config.json (auths)")
    assert registry_check(RegistryNeed("ghcr.io", ("staging",), True), facts).status == "fail"
    assert registry_check(RegistryNeed("ghcr.io", ("prod",), False), facts).status == "warn"


def test_busy_port_fails_unless_the_stack_itself_holds_it() -> None:
    busy = port_check(PortFacts(8080, "tcp", "api", busy=True))
    assert busy.status == "fail"
    assert '"api" pins host port 8080' in busy.summary
    assert port_check(PortFacts(8080, "tcp", "api", busy=True, held_by_stack=True)).status == "ok"
    assert port_check(PortFacts(8080, "tcp", "api", busy=False)).status == "ok"


def test_diagnosis_is_blocked_by_any_failure_and_serialises_every_check() -> None:
    wanted = Needs("local", local=True, contexts=(ContextNeed("prod", ("prod",), False),))
    facts = Facts(
        engine=HEALTHY, watch=WatchFacts("/repo", 0.01), inotify=InotifyFacts(8192, 10, 1),
        contexts=(ContextFacts("prod", "/k"),),
        ports=(PortFacts(8080, "tcp", "api", busy=True),),
    )  # fmt: skip
    diagnosis = diagnose(wanted, facts)
    assert diagnosis.blocked
    document = diagnosis.to_dict()
    assert document["ok"] is False
    assert [(c["name"], c["status"]) for c in document["checks"]] == [
        ("engine", "ok"), ("storage driver", "ok"), ("clock", "ok"), ("file watching", "ok"),
        ("inotify watches", "ok"), ("context prod", "warn"), ("port 8080/tcp", "fail"),
    ]  # fmt: skip
    assert set(document["checks"][0]) == {"name", "status", "summary", "fix"}
