"""`python -m devkit` runs the CLI."""

from devkit.cli.main import main

main()
