"""Where clipaac keeps downloaded and generated files.

Everything goes under one user cache folder, never into the package directory:

- ``$CLIPAAC_CACHE`` when set, else ``~/.cache/clipaac``;
- ``<cache>/weights``  pretrained checkpoints (AudioCLIP, ESResNeXt-fbsp);
- ``<cache>/data``     datasets (Clotho, the synthetic default);
- ``<cache>/spice``    SPICE's Stanford CoreNLP jars (``lib/``) and its working files;
- ``<cache>/meteor``   the METEOR paraphrase index (built once);
- ``<cache>/runs``     training runs.

Notebook: ``notebooks/01_data.ipynb`` shows the layout.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "subdir"]

ENV_VAR = "CLIPAAC_CACHE"


def cache_dir() -> Path:
    """The root cache folder (``$CLIPAAC_CACHE`` or ``~/.cache/clipaac``), created on demand."""
    root = os.environ.get(ENV_VAR)
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "clipaac"
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    """A named folder inside the cache (``weights``, ``data``, ``spice``, ``runs``), created on demand."""
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
