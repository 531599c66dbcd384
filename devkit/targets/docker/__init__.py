"""The local Docker engine: containers as data (`spec`), and the target that runs them."""
