"""The `decode` command: one thin module per group of subcommands over the Python API (see `cli.app`)."""
