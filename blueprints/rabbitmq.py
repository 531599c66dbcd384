"""RabbitMQ, as the official `rabbitmq` image runs it."""

from __future__ import annotations

import re
import urllib.parse

from devkit.errors import BlueprintError
from devkit.model.blueprint import declare_service
from devkit.model.health import Command
from devkit.model.refs import Secret
from devkit.model.resources import Resources
from devkit.model.service import Service
from devkit.source import caller_location

_VHOST = re.compile(r"^[A-Za-z0-9/_.-]{1,255}$")


def rabbitmq(
    *,
    version: str = "3",
    name: str = "rabbitmq",
    user: str = "app",
    password: Secret | None = None,
    vhost: str = "/",
    storage: str = "1Gi",
    resources: Resources | None = None,
) -> Service:
    """A RabbitMQ broker with one user and virtual host; `url` is its AMQP URL (password masked).

    The password is a secret: `Secret("RABBITMQ_PASSWORD")` unless you name another. The node
    name is fixed (`rabbit@localhost`), so its data on the volume `data` survives the container
    being replaced. It runs as the official image's `rabbitmq` user (uid 999) with a read-only
    root filesystem: the server creates the user and virtual host from its environment, logs to
    the console, and writes only to its data volume, /var/log/rabbitmq (scratch) and /tmp.
    """
    if not _VHOST.match(vhost):
        raise BlueprintError(
            f'rabbitmq "{name}": vhost "{vhost}" is not a usable virtual host name; use letters, '
            'digits, "/", "_", "." and "-"',
            location=caller_location(),
        )
    return declare_service(
        {
            "name": name,
            "image": f"rabbitmq:{version}",
            "ports": {"amqp": 5672},
            "env": {
                "RABBITMQ_DEFAULT_USER": user,
                "RABBITMQ_DEFAULT_PASS": password
                if password is not None
                else Secret("RABBITMQ_PASSWORD"),
                "RABBITMQ_DEFAULT_VHOST": vhost,
                "RABBITMQ_NODENAME": "rabbit@localhost",
                "RABBITMQ_LOGS": "-",
            },
            # Every listener accepts connections: the broker has booted, users and vhost exist.
            # (Each run starts an Erlang CLI, about a second of CPU: hence the longer interval.)
            "health": Command(
                "rabbitmq-diagnostics",
                "-q",
                "check_port_connectivity",
                interval=5.0,
                timeout=15.0,
                retries=3,
                start_period=10.0,
            ),
            "volumes": {"data": {"path": "/var/lib/rabbitmq", "size": storage}},
            "stateful": True,
            "run_as_user": 999,
            # The upgrade log and crash dumps go there even when the logs go to the console.
            "scratch": ("/var/log/rabbitmq",),
            "resources": resources or Resources(cpu="250m", memory="512Mi", memory_limit="1Gi"),
            "url_template": (
                "amqp://{env.RABBITMQ_DEFAULT_USER}:{env.RABBITMQ_DEFAULT_PASS}@{host}:{port}/"
                + urllib.parse.quote(vhost, safe="")
            ),
        }
    )
