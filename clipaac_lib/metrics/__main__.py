"""``python -m clipaac_lib.metrics ...``: the same as ``clipaac metrics ...`` (:mod:`clipaac_lib.cli.metrics`)."""

from clipaac_lib.cli import main_metrics

raise SystemExit(main_metrics())
