"""The ``clipaac`` command line, the top layer: one module per command group, one-line error handling.

- :mod:`~clipaac_lib.cli.main`: the ``clipaac`` entry point (``data``, ``pretrain``, ``train``, ``evaluate``,
  ``caption``, ``metrics``);
- :mod:`~clipaac_lib.cli.data`, :mod:`~clipaac_lib.cli.pretrain`, :mod:`~clipaac_lib.cli.train`,
  :mod:`~clipaac_lib.cli.metrics`: the command groups;
- :mod:`~clipaac_lib.cli.errors`: an expected error is one line on stderr and exit code 2 (``--debug`` shows
  the traceback).

``python -m clipaac_lib.data|train|metrics`` are two-line launchers onto :func:`main_data`,
:func:`main_train` and :func:`main_metrics` (the ``main`` of each command group's module).
"""

from clipaac_lib.cli.data import main as main_data
from clipaac_lib.cli.main import build_parser, main
from clipaac_lib.cli.metrics import main as main_metrics
from clipaac_lib.cli.train import main_train

__all__ = ["build_parser", "main", "main_data", "main_metrics", "main_train"]
