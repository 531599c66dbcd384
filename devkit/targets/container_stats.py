"""Reads the engine's stats of running containers, once each, keeping each one's last reading so
the next read can say the CPU in use (the Docker and Swarm targets' usage())."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError, NotFound

from devkit.targets.base import ServiceUsage
from devkit.targets.container_usage import Reading, cores, per_service, reading


class ContainerStats:
    """One engine's containers' CPU and memory, per service."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self._readings: dict[str, Reading] = {}  # container id -> its last stats reading

    def usage(self, running: Sequence[tuple[str, str]]) -> list[ServiceUsage]:
        """(service, container id) pairs -> use per service (CPU None the first time a container
        is read); a container stopped or removed meanwhile is left out."""

        def read(pair: tuple[str, str]) -> tuple[str, float | None, int] | None:
            service, container = pair
            try:
                stats = self.client.api.stats(container, stream=False, one_shot=True)
            except (APIError, NotFound):
                return None
            now = reading(stats)
            cpu = cores(self._readings.get(container), now)
            self._readings[container] = now
            return service, cpu, now.memory

        if not running:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(running))) as pool:
            found = [u for u in pool.map(read, running) if u is not None]
        alive = {container for _, container in running}
        for gone in [key for key in self._readings if key not in alive]:
            del self._readings[gone]
        return per_service(found)
