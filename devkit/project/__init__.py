"""The user's project on disk: the blueprint file, settings, local secret values, the images
file, git provenance, and what `devkit init` writes."""
