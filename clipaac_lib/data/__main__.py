"""``python -m clipaac_lib.data {synthetic,clotho,stats} ...`` (same as ``clipaac data ...``)."""

from clipaac_lib.cli import main_data

raise SystemExit(main_data())
