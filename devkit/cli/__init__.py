"""The `devkit` command line: thin typer commands that call the layers and print."""
