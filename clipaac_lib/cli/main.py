"""The ``clipaac`` command: wiring only; each package registers its own subcommands.

``clipaac data {synthetic,clotho,stats}`` comes from :func:`clipaac_lib.cli.data.add_data_commands`;
``clipaac pretrain`` from :func:`clipaac_lib.cli.pretrain.add_pretrain_commands`;
``clipaac train|evaluate|caption`` from :func:`clipaac_lib.cli.train.add_train_commands`;
``clipaac metrics {install-spice,prepare-meteor,check}`` forwards to :mod:`clipaac_lib.cli.metrics`.
To add a command group (``train``, ``evaluate``, ``caption``), write an ``add_<name>_commands(subparsers)``
in its package that sets ``func`` on its parsers, and call it in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys

from clipaac_lib.cli.data import add_data_commands
from clipaac_lib.cli.errors import DEBUG_FLAG, OneLineArgumentParser, pop_debug, run_reporting_errors
from clipaac_lib.cli.pretrain import add_pretrain_commands
from clipaac_lib.cli.train import add_train_commands

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered command group."""
    parser = OneLineArgumentParser(prog="clipaac", description="CLIP-AAC: data, training, evaluation.",
                                     epilog=f"Errors are reported in one line; {DEBUG_FLAG} shows the traceback.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_data_commands(commands)
    add_pretrain_commands(commands)
    add_train_commands(commands)
    metrics = commands.add_parser(
        "metrics", help="caption-metric tools: install-spice, prepare-meteor, check",
        description="Forwarded to `python -m clipaac_lib.metrics`; run `clipaac metrics -h` for its commands.",
        add_help=False,
    )
    metrics.add_argument("metrics_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clipaac`` script; returns the exit status (2 on an error, reported in one line
    as ``clipaac: error: ...``; ``--debug`` shows the traceback instead)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["metrics"]:  # forwarded whole, options included
        from clipaac_lib.cli.metrics import main as metrics_main

        return metrics_main(argv[1:] or ["--help"])
    argv, debug = pop_debug(argv)
    args = build_parser().parse_args(argv)
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
    return run_reporting_errors(args.func, args, debug=debug)


if __name__ == "__main__":
    raise SystemExit(main())
