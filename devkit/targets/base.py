"""The capability protocols targets implement (placeholder; filled by the target seam)."""
