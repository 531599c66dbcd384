"""Stock blueprints: ready-made services with real health checks and connection URLs.

Each returns an ordinary `Service`; add it to a project with `app.use(...)`:

    db = app.use(postgres(version="16", database="shop", password=Secret("SHOP_DB_PASSWORD")))
    api = app.service("api", ..., env={"DATABASE_URL": db.url})
"""

from blueprints.postgres import postgres
from blueprints.redis import redis

__all__ = ["postgres", "redis"]
