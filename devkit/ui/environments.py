"""The environments view: per environment its target, last releases (through the `Releases`
capability, where the target can be reached), the cost estimate, and the exact promote and
rollback commands, which the page may run (as the CLI, in a subprocess, its output streamed)."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from devkit.devloop.events import EventBus
from devkit.model.blueprint import Blueprint
from devkit.planning.cost import cents, estimate
from devkit.planning.planner import plan
from devkit.planning.pricesheet import PriceSheet
from devkit.records.release import Release
from devkit.targets.base import Releases, supports
from devkit.targets.registry import Options, capable, open_target

REACH_TIMEOUT = 8.0  # seconds an environment's target may take to list its releases
SHOWN = 5  # releases per environment


def describe(blueprint: Blueprint, sheet: PriceSheet) -> list[dict[str, Any]]:
    """Every environment of the blueprint, without touching a target (fast: planning only)."""
    names = list(blueprint.environments)
    deploying = set(capable(blueprint, Releases))
    found = []
    for name in names:
        entry: dict[str, Any] = {"name": name}
        try:
            planned = plan(blueprint, name)
        except Exception as exc:  # noqa: BLE001 - shown on the page, per environment
            entry["error"] = str(exc).splitlines()[0]
            found.append(entry)
            continue
        entry["target"] = planned.target.kind
        entry["details"] = list(planned.target.details())
        entry["local"] = planned.target.local
        cost = estimate(planned, sheet)
        entry["cost"] = {
            "currency": cost.currency,
            "min": float(cents(cost.total_min)),
            "max": float(cents(cost.total_max)),
            "notes": list(cost.notes),
        }
        entry["deploys"] = name in deploying
        if entry["deploys"]:
            later = [n for n in names[names.index(name) + 1 :] if n in deploying]
            entry["commands"] = {
                "rollback": ["rollback", name],
                # later environments first: promotion usually goes forward
                "promote": {
                    other: ["promote", name, other]
                    for other in later + [n for n in names[: names.index(name)] if n in deploying]
                },
                # the page offers the next deploying environment declared after this one first
                "next": later[0] if later else None,
            }
            if planned.canary is not None:
                # offered while its canary is paused (devkit/ui/canaries.py says when)
                entry["commands"]["continue"] = ["deploy", name, "--continue"]
                entry["commands"]["abort"] = ["deploy", name, "--abort"]
        if planned.canary is not None:
            entry["canary"] = {
                "service": planned.canary.service,
                "steps": [s.describe() for s in planned.canary.steps],
            }
        found.append(entry)
    return found


def releases_of(blueprint: Blueprint, name: str) -> dict[str, Any]:
    """The environment's last releases, or why they cannot be had (bounded by REACH_TIMEOUT)."""
    planned = plan(blueprint, name)

    def read() -> list[Release]:
        with open_target(planned, Options()) as target:
            if not supports(target, Releases):
                raise _NoReleasesError
            assert isinstance(target, Releases)
            return target.records.releases()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(read)
    try:
        found = future.result(timeout=REACH_TIMEOUT)
    except _NoReleasesError:
        return {"name": name, "releases": None, "reason": "keeps no releases (a dev stack)"}
    except concurrent.futures.TimeoutError:
        why = f"cannot reach {planned.target.kind} (no answer in {REACH_TIMEOUT:.0f}s)"
        return {"name": name, "releases": None, "reason": why}
    except Exception as exc:  # noqa: BLE001 - an unreachable target is shown, not fatal
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return {"name": name, "releases": None, "reason": f"cannot reach: {text}"}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    latest = sorted(found, key=lambda r: r.number, reverse=True)[:SHOWN]
    return {
        "name": name,
        "releases": [
            {
                "number": r.number,
                "status": r.status,
                "origin": r.origin,
                "by": r.by,
                "created": r.created,
                "commit": r.commit,
                "reason": r.reason,
                "images": r.images,
                "cost": r.cost.model_dump() if r.cost else None,
            }
            for r in latest
        ],
    }


class _NoReleasesError(Exception):
    pass


class Commands:
    """Runs promote and rollback as the CLI, one at a time, output published on the bus."""

    def __init__(self, root: Path, bus: EventBus, allowed: list[list[str]]) -> None:
        self.root, self.bus = root, bus
        self.allowed = [tuple(a) for a in allowed]
        self._lock = threading.Lock()
        self._next = 0

    def run(self, args: list[str]) -> int:
        """Start `devkit ARGS` (one of the allowed commands); returns its run id."""
        if tuple(args) not in self.allowed:
            raise ValueError("not a command this page offers")
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("another command is still running")
        self._next += 1
        run_id = self._next
        threading.Thread(target=self._run, args=(run_id, args), daemon=True).start()
        return run_id

    def _run(self, run_id: int, args: list[str]) -> None:
        shown = "devkit " + " ".join(args)
        try:
            self._run_logged(run_id, args, shown)
        except OSError as exc:
            self.bus.publish("command", "", "finished", f"{shown} could not start: {exc}",
                             {"id": run_id, "code": None})  # fmt: skip
        finally:
            self._lock.release()

    def _run_logged(self, run_id: int, args: list[str], shown: str) -> None:
        self.bus.publish("command", "", "started", shown, {"id": run_id})
        proc = subprocess.Popen(
            [sys.executable, "-m", "devkit", *args], cwd=self.root,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            self.bus.publish("command", "", "line", line.rstrip("\n"), {"id": run_id})
        code = proc.wait()
        self.bus.publish("command", "", "finished", f"{shown} exited {code}",
                         {"id": run_id, "code": code})  # fmt: skip
