"""``python -m clipaac_lib.data {synthetic,clotho,stats} ...`` (same as ``clipaac data ...``)."""

from clipaac_lib.cli.data import main

raise SystemExit(main())
