"""Backups and restores of an environment's data, over the targets' capabilities."""
