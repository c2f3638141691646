"""Subcommands of the ``evalkit`` command line, one module each (see evalkit/cli.py)."""
