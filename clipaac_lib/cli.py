"""The ``clipaac`` command: wiring only; each package registers its own subcommands.

``clipaac data {synthetic,clotho,stats}`` comes from :func:`clipaac_lib.data.cli.add_data_commands`.
To add a command group (``train``, ``evaluate``, ``caption``), write an ``add_<name>_commands(subparsers)``
in its package that sets ``func`` on its parsers, and call it in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys

from clipaac_lib.data.cli import add_data_commands

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered command group."""
    parser = argparse.ArgumentParser(prog="clipaac", description="CLIP-AAC: data, training, evaluation.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_data_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clipaac`` script; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
