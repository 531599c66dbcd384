"""Kubernetes, kind included: pure decisions (`spec`, `diff`, `dev`), the API, the target, its
records, exec, logs, port-forwards and the kind CLI."""
