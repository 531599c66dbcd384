"""How fast a large blueprint renders (target: 200 services x 3 environments under 1 s).

Generates a blueprint of 200 services (databases with volumes and secrets, public web services
with HTTP checks, workers with URLs that embed secrets, autoscaled APIs) and three environments:
dev (kind), staging (spot) and prod (on demand, autoscaled). Each run plans and renders all three
to YAML; the median of several runs is printed with the min-max spread. Schema validation of the
same objects, and the compose export, are timed separately.

    .venv/bin/python benchmarks/render.py [--services N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from devkit import (
    Autoscale,
    Blueprint,
    Command,
    Http,
    Ingress,
    Kind,
    Kubernetes,
    Port,
    Resources,
    Secret,
    Volume,
    schemas,
)
from devkit.planning.planner import plan
from devkit.profiles import on_demand, spot
from devkit.render import compose_yaml, render

ENVIRONMENTS = ("dev", "staging", "prod")


def blueprint(count: int) -> Blueprint:
    """`count` services: one database per ten, each with a web service, workers and an API."""
    app = Blueprint("bench")
    overrides: dict[str, dict[str, object]] = {}
    databases: list[str] = []
    for number in range(count):
        name = f"svc-{number:03d}"
        if number % 10 == 0:
            app.service(
                name,
                image="postgres:16",
                ports={"postgres": 5432},
                env={"POSTGRES_USER": "app", "POSTGRES_PASSWORD": Secret(f"DB_{number}_PASSWORD")},
                health=Command("pg_isready", "-q"),
                volumes={"data": Volume("/var/lib/postgresql/data", size="10Gi")},
                stateful=True,
                run_as_user=999,
                scratch=["/var/run/postgresql"],
                resources=Resources(cpu="500m", memory="1Gi", memory_limit="2Gi"),
                url_template="postgresql://{env.POSTGRES_USER}:{env.POSTGRES_PASSWORD}@{host}:{port}/app",
            )
            databases.append(name)
            continue
        db = app.services[databases[-1]]
        public = number % 10 == 1
        app.service(
            name,
            image=f"ghcr.io/acme/{name}:1.{number}",
            ports={"http": Port(8000, public=public)},
            env={"DATABASE_URL": db.url, "LOG_LEVEL": "info", "WORKERS": number % 4 + 1},
            depends_on=[db.name],
            health=Http("/healthz", port="http"),
            resources=Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
        )
        if number % 10 == 2:
            overrides[name] = {"autoscale": Autoscale(min=3, max=20, cpu=70)}
    ingress = Ingress(domain="bench.example.com")
    app.environment("dev", Kind("bench", ingress=ingress))
    app.environment("staging", Kubernetes(ingress=ingress), profile=spot(), replicas=2)
    app.environment(
        "prod", Kubernetes(ingress=ingress), profile=on_demand(), replicas=3, overrides=overrides
    )
    return app


def timed(work: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run, after one warm-up run (first imports and caches).

    CPU time is printed too because a shared machine's wall time says as much about the other
    processes on it as about this code."""
    work()
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return wall, cpu


def report(name: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    print(
        f"{name:<44} median {statistics.median(wall):.3f} s   "
        f"min {min(wall):.3f} s   max {max(wall):.3f} s   "
        f"(cpu median {statistics.median(cpu):.3f} s, {len(wall)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    app = blueprint(args.services)

    def render_all() -> list[str]:
        return [render(plan(app, env)).to_yaml() for env in ENVIRONMENTS]

    texts = render_all()
    plans = {env: plan(app, env) for env in ENVIRONMENTS}
    manifests = {env: render(plans[env]) for env in ENVIRONMENTS}
    objects = sum(len(m.objects) for m in manifests.values())
    print(
        f"{args.services} services x {len(ENVIRONMENTS)} environments: {objects} objects, "
        f"{sum(len(t) for t in texts) / 1e6:.1f} MB of YAML"
    )
    report("plan + render + YAML, all 3 (target < 1 s)", timed(render_all, args.runs))
    report("  plan only, all 3", timed(lambda: [plan(app, e) for e in ENVIRONMENTS], args.runs))
    report(
        "  render + YAML of the plans, all 3",
        timed(lambda: [render(plans[e]).to_yaml() for e in ENVIRONMENTS], args.runs),
    )
    version = schemas.resolve("1.33")
    report(
        "schema validation of every object, all 3",
        timed(lambda: [schemas.validate(m.objects, version) for m in manifests.values()], 3),
    )
    report(
        "compose export, all 3",
        timed(lambda: [compose_yaml(plans[e]) for e in ENVIRONMENTS], args.runs),
    )


if __name__ == "__main__":
    main()
