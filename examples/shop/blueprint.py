"""shop: an HTTP api and a worker, backed by postgres and redis.

`devkit up` runs `local` on Docker with live sync; `devkit plan prod` shows what production runs.
`swarm-staging` and `swarm-prod` deploy to a Docker Swarm: `devkit deploy swarm-staging`, then
`devkit promote swarm-staging swarm-prod` (see the README's CI workflow).
"""

import os

from blueprints import postgres, redis
from devkit import (
    Autoscale,
    Blueprint,
    Build,
    CircuitBreaker,
    ConnectionPool,
    Docker,
    Http,
    Kind,
    Kubernetes,
    Metrics,
    Port,
    Resources,
    Restart,
    Route,
    Scraper,
    Secret,
    Swarm,
    Sync,
    Verify,
)
from devkit.profiles import on_demand, spot

app = Blueprint("shop")

db = app.use(
    postgres(version="16", database="shop", user="shop", password=Secret("SHOP_DB_PASSWORD"))
)
cache = app.use(redis(version="7"))

api = app.service(
    "api",
    build=Build("services/api"),
    ports={"http": Port(8000, public=True)},
    env={"DATABASE_URL": db.url, "REDIS_URL": cache.url, "PORT": 8000},
    depends_on=[db, cache],
    health=Http("/healthz", port="http"),
    # Prometheus metrics (prometheus-client) on the same port: scraped by blueprints.prometheus()
    # locally, found through scrape annotations (or a ServiceMonitor) on clusters.
    metrics=Metrics("http", path="/metrics"),
    # Code syncs live; a change to requirements.txt or the Dockerfile rebuilds the image.
    # Restarts fork from a process that already imported the heavy libraries (warm restarts).
    sync=[Sync("services/api/app", "/srv/app", then=Restart(preload=["psycopg", "redis"]))],
    resources=Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
)

worker = app.service(
    "worker",
    build=Build("services/worker"),
    env={"DATABASE_URL": db.url, "REDIS_URL": cache.url},
    depends_on=[db, cache],
    sync=[
        Sync("services/worker/worker", "/srv/worker", then=Restart(preload=["psycopg", "redis"]))
    ],
    resources=Resources(cpu="100m", memory="128Mi", memory_limit="256Mi"),
)

app.group("backend", [api, worker])

app.environment("local", Docker())
# The same dev loop on a local kind cluster: `devkit cluster up dev`, then `devkit up -e dev`.
# The cluster's name, node image and kind config can come from the environment (the test suite
# points them at its own testbed).
app.environment(
    "dev",
    Kind(
        os.environ.get("SHOP_KIND_CLUSTER", "shop-dev"),
        node_image=os.environ.get("SHOP_KIND_NODE_IMAGE"),
        config=os.environ.get("SHOP_KIND_CONFIG"),
    ),
)
# On the clusters, Prometheus runs in the namespace "monitoring" (kube-prometheus-stack's usual
# one): the NetworkPolicies admit it to the api's metrics port (docs/metrics.md).
app.environment(
    "staging",
    Kubernetes(context="staging", scraper=Scraper(namespace="monitoring")),
    profile=spot(),
    replicas=2,
)
# prod runs Istio: the api's route gets a timeout and retries (in the Ingress and, for calls inside
# the mesh, a VirtualService), and callers eject a failing api replica and cap their connections
# to it (a DestinationRule); mutual TLS is STRICT in the namespace (docs/traffic.md).
app.environment(
    "prod",
    Kubernetes(context="prod", mesh="istio", scraper=Scraper(namespace="monitoring")),
    profile=on_demand(),
    replicas=3,
    overrides={
        api: {
            "autoscale": Autoscale(min=3, max=30, cpu=70),
            "ports": {"http": Port(8000, routes=Route(timeout=15, retries=2))},
            "circuit_breaker": CircuitBreaker(errors=5, interval=10, ejection=30),
            "connection_pool": ConnectionPool(max_connections=200, max_pending_requests=100),
        }
    },
)

# Docker Swarm: images go to SHOP_REGISTRY; a release counts as healthy once the smoke test (an
# order placed through the api and processed by the worker) passes inside the environment.
# routing_mesh=False because this repo's CI machine has no IPVS in its kernel (docs/deploy.md);
# on a usual swarm, leave it out.
swarm = Swarm(registry=os.environ.get("SHOP_REGISTRY", "127.0.0.1:5000"), routing_mesh=False)
smoke = Verify(["python", "-m", "app.smoke"], service="api", timeout=60)
app.environment("swarm-staging", swarm, verify=smoke, rollout_timeout=180)
app.environment("swarm-prod", swarm, replicas=2, verify=smoke, rollout_timeout=180)
