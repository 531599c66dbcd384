"""Engines that run a plan: one module per engine. Side effects live here and in build/."""
