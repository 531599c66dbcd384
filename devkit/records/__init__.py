"""What a target keeps about its releases: release records and the deploy lock (pure data and
the decisions made from them; the targets store them)."""
