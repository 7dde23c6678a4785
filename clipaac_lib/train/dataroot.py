"""Where a run's dataset lives, and the fingerprint of the test split its saved scores belong to.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from clipaac_lib.data import default_data_root, default_synthetic_root, split_digest
from clipaac_lib.train.config import TrainConfig

__all__ = ["data_root", "digest_of_test_split"]


def data_root(config: TrainConfig) -> Path:
    """The dataset root of ``config``: ``data_root``, else the cache's synthetic or Clotho folder."""
    if config.data_root:
        return Path(config.data_root).expanduser()
    return default_synthetic_root() if config.dataset == "synthetic" else default_data_root()


def digest_of_test_split(config: TrainConfig) -> str:
    """:func:`~clipaac_lib.data.split_digest.split_digest` of the run's test split (``test_split``,
    ``limit_test_clips``); ``""`` while its captions are not on disk."""
    return split_digest(data_root(config), config.test_split, config.limit_test_clips)
