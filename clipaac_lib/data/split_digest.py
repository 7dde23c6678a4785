"""A fingerprint of a split's contents, so that a saved evaluation is not reused on a changed split.

Runs are keyed by their configuration (``clipaac_lib.train.config.TrainConfig.run_hash``), not by the files
of the dataset, so regenerating the synthetic set with other sizes, or replacing a Clotho folder, leaves the
run's saved scores in place while the split they were computed on is gone. The digest covers what decides
a split's clips and references: the captions CSV of each source split (``SPLITS``) and, for the synthetic
set, its ``synthetic.json`` (generator version, sizes, seed). Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import hashlib
import os

from clipaac_lib.data.clotho import SPLITS, dataset_folder

__all__ = ["split_digest"]


def split_digest(root: str | os.PathLike[str], split: str, limit: int | None = None) -> str:
    """16 hex digits of the split's captions CSVs (and ``synthetic.json`` where present) and ``limit``;
    ``""`` when a captions CSV is missing (nothing to compare against)."""
    folder = dataset_folder(root)
    digest = hashlib.sha256(f"{split}|limit={limit}".encode())
    for source in SPLITS.get(split, (split,)):
        path = folder / f"clotho_captions_{source}.csv"
        if not path.is_file():
            return ""
        digest.update(source.encode() + b"\0" + path.read_bytes() + b"\0")
    recipe = folder / "synthetic.json"
    if recipe.is_file():
        digest.update(recipe.read_bytes())
    return digest.hexdigest()[:16]
