"""Health checks as Docker runs them inside a container: decided in the renderer
(devkit/render/healthcheck.py), which the compose export shares with the Docker and Swarm
targets."""

from devkit.render.healthcheck import healthcheck, probe_command

__all__ = ["healthcheck", "probe_command"]
