"""The shop worker: marks queued orders as processed."""
