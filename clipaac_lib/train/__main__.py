"""``python -m clipaac_lib.train [options]`` and ``torchrun --nproc_per_node=N -m clipaac_lib.train [options]``.

The options are those of ``clipaac train`` (one per :class:`~clipaac_lib.train.TrainConfig` field; see
``--help``). Notebook: ``notebooks/05_train.ipynb``.
"""

import sys

from clipaac_lib.cli import main_train

if __name__ == "__main__":
    sys.exit(main_train())
