"""How fast the CLI answers, against the budgets of issue 21:

- `devkit --help` <= 0.15 s (and which heavy modules it imports: none);
- `devkit validate` and `devkit plan ENV --json` of a generated 500-service x 3-environment
  blueprint (benchmarks/render.py's generator) <= 0.5 s each, on an idle machine;
- for reference, `devkit validate` on examples/shop, and the peers a CLI cannot beat:
  `python -c pass` and `python -c "import typer"`.

Each command runs as a user runs it (the installed console script, a separate process each time,
bytecode cached), --runs times after a warm-up; median, min-max, the load while it ran and the
child's CPU time, then PASS/FAIL. A FAIL prints the parts of one run and which one sets the floor.

    .venv/bin/python benchmarks/cli_startup.py [--runs N] [--services N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from budget import DEVKIT, REPO, Runs, run_cli, summary, user_env, verdict
from render import ENVIRONMENTS, parts, write_blueprint

HELP_BUDGET = 0.15
SCALE_BUDGET = 0.5


def heavy_imports() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", DEVKIT, "--help"],
        capture_output=True, text=True, check=True, timeout=60, env=user_env(),
    )  # fmt: skip
    names = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    heavy = ("docker", "kubernetes", "pydantic", "rich", "jinja2", "jsonschema", "yaml")
    return sorted(n for n in heavy if n in names)


def reference(name: str, result: Runs) -> None:
    wall = result.wall
    print(
        f"      {name:<38} median {statistics.median(wall):.3f} s  "
        f"(min {min(wall):.3f}-max {max(wall):.3f} s)  {result.load.text()}  "
        f"cpu {statistics.median(result.cpu):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--services", type=int, default=500)
    args = parser.parse_args()
    env = user_env()

    result = run_cli([DEVKIT, "--help"], cwd=REPO, env=env, runs=args.runs, warm=2)
    peers = {
        "python -c pass": run_cli([sys.executable, "-c", "pass"], cwd=REPO, env=env, runs=5),
        "python -c 'import typer'": run_cli(
            [sys.executable, "-c", "import typer"], cwd=REPO, env=env, runs=5
        ),
    }
    verdict(
        "devkit --help", result.wall, HELP_BUDGET, result.load, cpu=result.cpu,
        parts=[
            f"{name}: median {statistics.median(r.wall):.3f} s" for name, r in peers.items()
        ],
        floor="the interpreter and typer's import, which every command pays",
        tried=["no heavy module imported by --help (checked below)"],
    )  # fmt: skip
    for name, peer in peers.items():
        reference(f"peer: {name}", peer)
    print(f"      heavy modules imported by --help: {', '.join(heavy_imports()) or 'none'}")

    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        root = Path(tmp)
        write_blueprint(root, args.services)
        runs = max(5, args.runs // 2)
        label = f"{args.services} services"
        commands = [("validate", [DEVKIT, "validate"], "validate", "")]
        commands += [
            (f"plan {e} --json", [DEVKIT, "plan", e, "--json"], "plan", e) for e in ENVIRONMENTS
        ]
        for name, argv, command, environment in commands:
            result = run_cli(argv, cwd=root, env=env, runs=runs)
            slow = statistics.median(result.wall) > SCALE_BUDGET
            found, floor = parts(root, command, environment) if slow else ([], "")
            verdict(
                f"devkit {name} ({label})", result.wall, SCALE_BUDGET, result.load,
                cpu=result.cpu, parts=found, floor=floor, idle_only=True,
                tried=[
                    "the plan --json path no longer imports rich",
                    "planning: see docs/development.md, Budgets",
                ],
            )  # fmt: skip
    reference(
        "reference: devkit validate (examples/shop)",
        run_cli([DEVKIT, "validate"], cwd=REPO / "examples/shop", env=env, runs=5),
    )
    summary()


if __name__ == "__main__":
    main()
