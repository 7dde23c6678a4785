"""Steps ``make book`` runs before Jupyter Book: everything the offline build needs.

``python -m clipaac_lib.devtools.book prepare`` generates the embedded offline dataset (once; later runs
find it) so that the notebooks execute with no network.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

__all__ = ["prepare", "main"]


def prepare() -> None:
    """Generate the default synthetic dataset when the data package is present."""
    if importlib.util.find_spec("clipaac_lib.data") is None:
        print("clipaac_lib.data not present yet: nothing to prepare")
        return
    from clipaac_lib.data import default_data_root, make_synthetic_clotho

    folder = make_synthetic_clotho(default_data_root() / "synthetic", seed=0)
    print(f"offline dataset ready: {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipaac_lib.devtools.book")
    parser.add_argument("command", choices=["prepare"])
    parser.parse_args(argv)
    prepare()
    return 0


if __name__ == "__main__":
    sys.exit(main())
