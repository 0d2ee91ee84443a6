"""Service subcommands of ``grader`` (serve, worker, db, user, upload, regrade, export)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the service subcommands to the ``grader`` command line."""
