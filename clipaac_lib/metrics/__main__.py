"""``python -m clipaac_lib.metrics ...``: the same as ``clipaac metrics ...`` (:mod:`clipaac_lib.cli.metrics`)."""

from clipaac_lib.cli.metrics import main

raise SystemExit(main())
