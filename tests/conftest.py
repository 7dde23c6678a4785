"""Shared fixtures: a seeded CLIP-AAC model at the ``small`` (or ``paper``) preset, and a tiny synthetic
Clotho-format dataset.

``make_model(vocab_size=20)`` builds ``CLIPAAC(ModelConfig.small(vocab_size=20))`` after
``torch.manual_seed(0)``; keyword arguments go to the preset, ``preset="paper"`` picks the paper's sizes.
``tiny_clotho`` is generated once per session (:data:`TINY_SIZES` clips of :data:`TINY_CLIP_SECONDS`
seconds, one event each) and shared: tests read it and never write into it. :data:`TINY_MODEL` is the
``model_overrides`` of a model small enough to train for a few steps in a test.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import torch

    from clipaac_lib.model import CLIPAAC
    from tests.test_notebooks import WheelInstall

TINY_SIZES = {"development": 8, "validation": 0, "evaluation": 4}
TINY_CLIP_SECONDS = 1.5
TINY_MODEL = {
    "embed_dim": 32,
    "audio": {"stem_width": 8, "groups": 4, "width_per_group": 16},
    "text": {"width": 32, "heads": 2, "layers": 1},
    "decoder": {"d_model": 32, "heads": 2, "ffn_dim": 64},
}


@pytest.fixture(scope="session")
def make_model() -> Callable[..., CLIPAAC]:
    """``make_model(preset="small", seed=0, **preset_kwargs)``: a fresh, seeded model per call."""

    import torch

    from clipaac_lib.model import CLIPAAC, ModelConfig

    def make(preset: str = "small", *, seed: int = 0, **preset_kwargs) -> CLIPAAC:
        torch.manual_seed(seed)
        return CLIPAAC(getattr(ModelConfig, preset)(**preset_kwargs))

    return make


@pytest.fixture(scope="session")
def tiny_clotho(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of a tiny synthetic Clotho v2.1 (``<root>/clotho_v2.1``), empty validation split included."""
    from clipaac_lib.data import make_synthetic_clotho

    root = tmp_path_factory.mktemp("tiny_clotho")
    make_synthetic_clotho(root, sizes=TINY_SIZES, clip_seconds=TINY_CLIP_SECONDS, max_events=1, progress=False)
    return root


@pytest.fixture(scope="session")
def meteor_index() -> Path:
    """The ``meteor`` folder of the user cache (``~/.cache/clipaac``, or ``$CLIPAAC_CACHE`` as the session
    starts) holding METEOR's paraphrase index, built there first if missing (about 20 s; it depends on
    pycocoevalcap's table only). Private caches link to it (:func:`share_meteor_index`) instead of
    building one each: four builds took 80 s of a test run. Building the index is tested in
    tests/test_metrics.py."""
    from clipaac_lib.common import cache_dir
    from clipaac_lib.metrics.paraphrase import load_index

    folder = cache_dir() / "meteor"
    load_index(folder=folder / "paraphrase-en")
    return folder


def share_meteor_index(cache: Path, meteor: Path) -> None:
    """Let the private cache ``cache`` use the session's METEOR index (:func:`meteor_index`)."""
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "meteor").symlink_to(meteor, target_is_directory=True)


@pytest.fixture
def one_thread_private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meteor_index: Path):
    """``CLIPAAC_CACHE`` in the test's own folder (METEOR's index shared, :func:`meteor_index`), and torch
    on one thread (tiny ops on a shared machine: one thread is faster and steadier); both restored
    afterwards."""
    import torch

    share_meteor_index(tmp_path / "cache", meteor_index)
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def unit_vectors(degrees: list[float]) -> torch.Tensor:
    """(N, 2) unit vectors at these angles: cosine similarity falls as the angle between two of them grows
    (hand-computable retrieval examples)."""
    import torch

    rad = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return torch.stack([rad.cos(), rad.sin()], dim=1).float()


@pytest.fixture(scope="session")
def wheel_install(tmp_path_factory: pytest.TempPathFactory, meteor_index: Path) -> WheelInstall:
    """The built wheel installed alone into a folder, built once per session for every module using it;
    its notebooks' cache shares the session's METEOR index."""
    from tests.test_notebooks import install_wheel

    install = install_wheel(tmp_path_factory)
    share_meteor_index(install.cache, meteor_index)
    return install


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per session where tests/test_notebooks.py leaves each smoke-executed notebook under its
    own name (``01_data.ipynb``; ``01_data.failed`` holding the error when it did not run), for the
    browser check of the built book (tests/test_zz_book_browser.py)."""
    return tmp_path_factory.mktemp("executed_notebooks")


#: Test files that share the session's wheel install (tests/test_notebooks.py) and executed notebooks:
#: under ``make test``'s two workers they run on one, in collection order (the browser check reads what
#: the notebook tests executed; the rehearsal installs the same wheel).
WHEEL_GROUP = frozenset({"test_notebooks.py", "test_colab_rehearsal.py", "test_zz_book_browser.py"})
#: Groups that take minutes each (measured 2026-12-07): under two workers they start first, so that
#: neither is the last thing left running on one worker while the other idles.
LONG_GROUPS = ("wheel", "test_results_reproduce.py")


def _worker() -> str | None:
    """The pytest-xdist worker's name (``gw0``), or None in a serial run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def pytest_configure(config: pytest.Config) -> None:
    """Under ``make test``'s two workers on 2 cores, each worker and everything it starts (notebook
    kernels, torchrun, subprocesses) runs torch on one thread: two workers with torch's default two
    spinning threads each took longer than one serial run (1258 s against 993 s, 2026-12-07), while a
    one-thread process loses almost nothing beside a busy neighbour (benchmarks/README.md, issue 32)."""
    if _worker() is None:
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    # a test that asks for more threads (the reproduction test's pretraining) waits without spinning
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import torch

    torch.set_num_threads(1)


def _group(nodeid: str) -> str:
    """The group of a test: its file's name, ``wheel`` for the files of :data:`WHEEL_GROUP`."""
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return "wheel" if name in WHEEL_GROUP else name


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``make test``'s scheduler: pytest-xdist's ``loadscope`` with one scope per :func:`_group`, so that each
    test file runs on one worker (its module and session fixtures are built once) and the files of
    :data:`WHEEL_GROUP` on one together, in collection order. (Its ``loadgroup`` cannot do this under
    pytest 9.2: it renames ``item._nodeid``, which pytest no longer reads, so every test became its own
    group and the browser check ran before the notebooks it checks, on the other worker.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FileGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return FileGroups(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under two workers the :data:`LONG_GROUPS` go first (a stable sort: each group keeps its order;
    ``--no-loadscope-reorder`` keeps this order); a serial run keeps pytest's order."""
    if _worker() is not None:
        rank = {group: index for index, group in enumerate(LONG_GROUPS)}
        items.sort(key=lambda item: rank.get(_group(item.nodeid), len(LONG_GROUPS)))
