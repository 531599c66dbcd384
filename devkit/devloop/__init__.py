"""The dev loop: `up` on any target that runs a stack, and live sync (file events -> sync rules
-> files into running containers or pods, restarts, rebuilds)."""
