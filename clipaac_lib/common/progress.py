"""Progress bars that a static page never keeps: ``tqdm.auto``, with ``TQDM_DISABLE`` honoured in Jupyter too.

Every long loop of the library shows a ``tqdm.auto`` bar: a widget in Jupyter, text on a console.
tqdm reads ``TQDM_DISABLE=1`` from the environment for console bars, but its notebook bar passes
``disable=False`` explicitly and so ignores it, leaving a frozen widget in every executed notebook.
:func:`tqdm` here is ``tqdm.auto.tqdm`` with the variable honoured everywhere: ``make book`` sets it for
the notebook build (the long work runs before, in ``devtools.book prepare``, with console bars).
"""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm as _auto_tqdm

__all__ = ["progress_disabled", "tqdm"]


def progress_disabled() -> bool:
    """Whether ``TQDM_DISABLE`` is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes", "on")


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """``tqdm.auto.tqdm(*args, **kwargs)``, disabled when :func:`progress_disabled` (whatever the
    caller's ``disable``)."""
    if progress_disabled():
        kwargs["disable"] = True
    return _auto_tqdm(*args, **kwargs)
