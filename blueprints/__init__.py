"""Stock blueprints: ready-made services with real health checks and connection URLs.

Each returns an ordinary `Service`; add it to a project with `app.use(...)`:

    db = app.use(postgres(version="16", database="shop", password=Secret("SHOP_DB_PASSWORD")))
    api = app.use(web_service("api", build=Build("services/api"), env={"DATABASE_URL": db.url}))
    app.use(nginx(proxy=api))
"""

from blueprints.minio import minio
from blueprints.nginx import nginx
from blueprints.postgres import postgres
from blueprints.prometheus import prometheus
from blueprints.rabbitmq import rabbitmq
from blueprints.redis import redis
from blueprints.web_service import web_service

__all__ = ["minio", "nginx", "postgres", "prometheus", "rabbitmq", "redis", "web_service"]
