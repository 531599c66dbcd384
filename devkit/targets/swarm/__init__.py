"""Docker Swarm: service specs as data (`spec`), the target that deploys them, its records."""
