"""The shop api: orders stored in postgres, queued in redis for the worker."""
