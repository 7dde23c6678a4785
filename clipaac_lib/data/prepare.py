"""The dataset folder behind a notebook's ``dataset`` knob: the synthetic default or real Clotho.

:func:`prepare_dataset` is the one call notebooks make before opening a split with
:class:`~clipaac_lib.data.ClothoDataset`. Notebooks: ``notebooks/01_data.ipynb`` (where it is
explained) and ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from clipaac_lib.data.clotho import dataset_folder, default_data_root
from clipaac_lib.data.clotho_download import download_clotho
from clipaac_lib.data.synthetic import default_synthetic_root, make_synthetic_clotho

__all__ = ["DATASETS", "prepare_dataset"]

#: The datasets a run can use: the embedded synthetic default and real Clotho.
DATASETS = ("synthetic", "clotho")


def prepare_dataset(dataset: str, *, seed: int = 0, download: bool = False) -> Path:
    """The Clotho-format folder (``.../clotho_v2.1``) of ``dataset``, made ready to open.

    ``"synthetic"``: :func:`make_synthetic_clotho` with ``seed`` under :func:`default_synthetic_root`
    (generated on the first call, found afterwards). ``"clotho"``: Clotho v2.1 under
    :func:`default_data_root`; with ``download=True`` it is fetched first (:func:`download_clotho`,
    about 7 GB, from Zenodo or the mirror of ``$CLIPAAC_CLOTHO_URL``, checked against the md5s of the
    release or of ``$CLIPAAC_CLOTHO_CHECKSUMS``), otherwise a missing copy raises ``FileNotFoundError``
    saying how to get it. (Training downloads it on its own: :func:`clipaac_lib.train.setup.ensure_clotho`.)
    Any other name raises ``ValueError``. Notebook: ``notebooks/01_data.ipynb``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if dataset == "synthetic":
        return make_synthetic_clotho(default_synthetic_root(), seed=seed)
    root = default_data_root()
    if download:
        return download_clotho(root)
    folder = dataset_folder(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"Clotho is not in {root}; rerun with download=True (about 7 GB) "
                                "or dataset='synthetic'")
    return folder
