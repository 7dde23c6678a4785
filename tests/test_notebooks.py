"""Every notebook executes top to bottom in smoke mode (each notebook is also a test: its cells assert).

Notebooks run with papermill in a fresh kernel, `smoke=True`, with `CLIPAAC_CACHE` pointing at one
temporary folder shared by the session (so later notebooks find what earlier ones made, as in the book).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="session")
def notebook_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("clipaac_cache")
    old = os.environ.get("CLIPAAC_CACHE")
    os.environ["CLIPAAC_CACHE"] = str(cache)  # inherited by the papermill kernels
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield cache
    if old is None:
        os.environ.pop("CLIPAAC_CACHE", None)
    else:
        os.environ["CLIPAAC_CACHE"] = old


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(path, notebook_cache, tmp_path):
    papermill.execute_notebook(str(path), str(tmp_path / path.name), parameters={"smoke": True},
                               cwd=str(REPO / "notebooks"), kernel_name="python3", progress_bar=False)


def test_papermill_command_as_a_user_types_it(notebook_cache, tmp_path):
    """`papermill notebooks/05_train.ipynb out.ipynb -p alpha 0.2`, from the repository root."""
    if not (REPO / "notebooks" / "05_train.ipynb").exists():
        pytest.skip("05_train.ipynb does not exist yet")
    papermill_bin = Path(sys.executable).with_name("papermill")
    out = tmp_path / "out.ipynb"
    result = subprocess.run([str(papermill_bin), "notebooks/05_train.ipynb", str(out), "-p", "alpha", "0.2"],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    assert '"alpha": 0.2' in out.read_text() or "alpha = 0.2" in out.read_text()
