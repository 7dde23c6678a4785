"""The ``clipaac data`` command line: ``synthetic``, ``clotho`` and ``stats``.

``add_data_commands(subparsers)`` registers ``data`` on the top-level parser of
:mod:`clipaac_lib.cli.main`; every command stores its handler in ``func``. Heavy imports happen inside the
handlers. Also runnable as ``python -m clipaac_lib.data ...``. Notebook: ``notebooks/01_data.ipynb``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clipaac_lib.cli.errors import OneLineArgumentParser, Subcommands, pop_debug, run_reporting_errors

__all__ = ["add_data_commands", "main"]


def _sizes(text: str) -> dict[str, int]:
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected DEV,VAL,EVAL clip counts such as 240,60,60; got {text!r}")
    try:
        dev, val, ev = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"clip counts must be integers, got {text!r}") from None
    return {"development": dev, "validation": val, "evaluation": ev}


def _synthetic(args: argparse.Namespace) -> int:
    from clipaac_lib.common import SAMPLE_RATE
    from clipaac_lib.data import (
        DEFAULT_CLIP_SECONDS,
        DEFAULT_SIZES,
        default_synthetic_root,
        make_synthetic_clotho,
    )

    root = args.root if args.root is not None else default_synthetic_root()
    seconds = args.clip_seconds or DEFAULT_CLIP_SECONDS
    if len(seconds) > 2:
        raise ValueError(f"--clip-seconds takes one length or SHORTEST LONGEST; got {' '.join(map(str, seconds))}")
    folder = make_synthetic_clotho(root, seed=args.seed, sizes=args.sizes or dict(DEFAULT_SIZES),
                                   clip_seconds=seconds[0] if len(seconds) == 1 else tuple(seconds),
                                   sample_rate=args.sample_rate or SAMPLE_RATE,
                                   overwrite=args.overwrite, progress=not args.quiet)
    print(f"synthetic dataset: {folder}")
    if args.stats:
        _print_stats(folder, args.plot)
    return 0


def _clotho(args: argparse.Namespace) -> int:
    from clipaac_lib.data import SOURCE_SPLITS, default_data_root, download_clotho

    folder = download_clotho(args.root if args.root is not None else default_data_root(),
                             splits=args.splits or SOURCE_SPLITS, base_url=args.base_url,
                             delete_archives=args.delete_archives)
    print(f"Clotho v2.1: {folder}")
    return 0


def _print_stats(root: Path, plot: Path | None) -> None:
    from clipaac_lib.data import dataset_summary, plot_summary

    summary = dataset_summary(root)
    print(summary)
    if plot is not None:
        fig = plot_summary(summary)
        fig.savefig(plot, dpi=120)
        print(f"plot: {plot}")


def _stats(args: argparse.Namespace) -> int:
    from clipaac_lib.data import default_synthetic_root

    _print_stats(args.root if args.root is not None else default_synthetic_root(), args.plot)
    return 0


def add_data_commands(subparsers: Subcommands) -> argparse.ArgumentParser:
    """Register ``data {synthetic,clotho,stats}`` on a top-level ``add_subparsers()`` object."""
    data = subparsers.add_parser("data", help="get, generate and describe datasets",
                                 description="Get Clotho, generate the synthetic set, print statistics.")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="{synthetic,clotho,stats}")

    synth = commands.add_parser("synthetic", help="write the synthetic Clotho-format dataset")
    synth.add_argument("--root", type=Path, help="parent folder (default: <cache>/data/synthetic)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    synth.add_argument("--sizes", type=_sizes, help="clips per split as DEV,VAL,EVAL (default 240,60,60)")
    synth.add_argument("--clip-seconds", type=float, nargs="+", default=None, metavar="SECONDS",
                       help="clip length in seconds, or SHORTEST LONGEST for lengths drawn from that range "
                            "(default: 3 6)")
    synth.add_argument("--sample-rate", type=int, default=None,
                       help="WAV sample rate in Hz (default: clipaac_lib.common.SAMPLE_RATE)")
    synth.add_argument("--overwrite", action="store_true", help="replace a non-synthetic dataset in ROOT")
    synth.add_argument("--stats", action="store_true", help="print the dataset summary afterwards")
    synth.add_argument("--plot", type=Path, help="with --stats: save the summary plot to this image file")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=_synthetic)

    clotho = commands.add_parser("clotho", help="download and extract Clotho v2.1")
    clotho.add_argument("--root", type=Path, help="parent folder (default: <cache>/data)")
    clotho.add_argument("--base-url", help="mirror holding the release files (default: Zenodo record 4783391)")
    clotho.add_argument("--splits", nargs="+", choices=("development", "validation", "evaluation"),
                        help="splits to fetch (default: all three)")
    clotho.add_argument("--delete-archives", action="store_true", help="remove the .7z files after extraction")
    clotho.set_defaults(func=_clotho)

    stats = commands.add_parser("stats", help="print a summary of a Clotho-format dataset")
    stats.add_argument("--root", type=Path, help="dataset parent folder (default: the synthetic set)")
    stats.add_argument("--plot", type=Path, help="save the summary plot to this image file")
    stats.set_defaults(func=_stats)
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m clipaac_lib.data ...``: the ``data`` commands on their own."""
    parser = OneLineArgumentParser(prog="python -m clipaac_lib.data")
    commands = parser.add_subparsers(dest="command", required=True)
    add_data_commands(commands)
    argv, debug = pop_debug(list(argv) if argv is not None else sys.argv[1:])
    args = parser.parse_args(["data", *argv])
    return run_reporting_errors(args.func, args, debug=debug, prog="python -m clipaac_lib.data")
