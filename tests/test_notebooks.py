"""Every notebook executes top to bottom in smoke mode from the installed wheel alone, as on Colab.

A session fixture builds the wheel from the repository and installs it into a private folder
(``pip install --target``); each notebook is copied alone into an empty folder and executed there by
papermill in a fresh ``python3`` kernel with ``smoke=True``, ``PYTHONPATH`` set to that folder (so the
kernel imports the wheel's ``clipaac_lib``, never the editable checkout) and ``CLIPAAC_CACHE`` pointing
at one temporary folder shared by the session (later notebooks find what earlier ones made, as in the
book). Each notebook's cells assert, so each notebook is also a test.

How the tests know the wheel was used: the wheel is installed without bytecode, every notebook starts
with no ``__pycache__`` in the install folder, and the kernel (bytecode writing on) must leave compiled
``clipaac_lib`` modules there; a probe run by the kernel's interpreter with the kernel's environment and
working folder must import ``clipaac_lib`` from the install folder and find neither ``devtools`` nor
``clipaac_lib.devtools``.

The kernel runs with ``TQDM_DISABLE=1``, as ``make book`` executes the book's notebooks: no progress
widget is stored in an output (a static page cannot update one). Each executed notebook is also left in
the session's ``executed_notebooks`` folder (tests/conftest.py), from which
tests/test_zz_book_browser.py builds the book and checks its pages in a browser.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import papermill
import pytest
from jupyter_client.kernelspec import KernelSpecManager

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# What a wheel is built from: the build configuration and the package (README.md is the long description).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "clipaac_lib")
PROBE = (
    "import importlib.util, clipaac_lib\n"
    "print(clipaac_lib.__file__)\n"
    "print(importlib.util.find_spec('clipaac_lib.devtools') is None)\n"
    "print(importlib.util.find_spec('devtools') is None)\n"
)


def _kernel_python() -> str:
    """The interpreter papermill starts for kernel ``python3``: jupyter_client runs a kernelspec whose
    command is plain ``python``/``python3`` with its own ``sys.executable`` (the venv's python)."""
    command = KernelSpecManager().get_kernel_spec("python3").argv[0]
    return sys.executable if command in {"python", "python3"} else command


def _setuptools_builds_here() -> bool:
    """Whether this environment's setuptools meets pyproject's ``setuptools>=77`` (build offline)."""
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= 77
    except importlib.metadata.PackageNotFoundError:
        return False


def build_wheel(out: Path) -> Path:
    """Build the project's wheel into ``out`` from a copy of its sources (the checkout gets no build/)."""
    source = out / "source"
    source.mkdir(parents=True)
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)]
    if _setuptools_builds_here():
        command.insert(4, "--no-build-isolation")  # else pip fetches setuptools>=77 and wheel from PyPI
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("clipaac-*.whl")
    return wheel


@dataclass(frozen=True)
class WheelInstall:
    wheel: Path
    site: Path  # the folder the wheel is installed into, alone on the kernel's PYTHONPATH
    cache: Path  # CLIPAAC_CACHE shared by every notebook of the session
    env: dict[str, str]  # the kernel's environment, on top of this process's


def install_wheel(tmp_path_factory: pytest.TempPathFactory) -> WheelInstall:
    """The built wheel installed alone into a folder (pip --target), its kernel proven to import it: the
    session fixture ``wheel_install`` of tests/conftest.py (shared by every notebook test module)."""
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--quiet",
                             "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    cache = tmp_path_factory.mktemp("clipaac_cache")
    # TQDM_DISABLE: no progress widget in the outputs, as in `make book` (clipaac_lib.common.progress).
    env = {"PYTHONPATH": str(site), "CLIPAAC_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}

    # Precedence: the kernel's interpreter, environment and working folder import the wheel's package.
    empty = tmp_path_factory.mktemp("probe")
    probe = subprocess.run([_kernel_python(), "-B", "-c", PROBE], cwd=empty, env={**os.environ, **env},
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-3000:]
    origin, no_lib_devtools, no_devtools = probe.stdout.split()
    assert Path(origin).is_relative_to(site / "clipaac_lib"), f"the kernel would import {origin}, not the wheel"
    assert no_lib_devtools == "True", "clipaac_lib.devtools is importable: repository tooling leaked into the package"
    assert no_devtools == "True", "devtools is importable outside the checkout"
    return WheelInstall(wheel, site, cache, env)


def test_wheel_holds_the_library_only(wheel_install: WheelInstall) -> None:
    names = zipfile.ZipFile(wheel_install.wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "clipaac_lib" in tops and all(t == "clipaac_lib" or t.endswith(".dist-info") for t in tops), tops
    assert not [n for n in names if "devtools" in n or n.startswith(("tests/", "notebooks/", "benchmarks/"))]
    assert "clipaac_lib/model/clipaac.py" in names and "clipaac_lib/train/__main__.py" in names


#: The parameters of each notebook's smoke run: ``smoke=True``; notebook 6 with 2 seeds of its 5 (every
#: path of its findings, intervals included, runs with 2; its 10 jobs x 5 seeds of smoke runs took 130 s);
#: notebook 8 trains its sweep at two sizes with 2 seeds (in smoke mode every size is one smoke run).
SMOKE = {"06_ablations": {"smoke": True, "seeds": 2},
         "08_scarcity": {"smoke": True, "seeds": "0,1", "sizes": "38,300", "train_missing": True}}


def execute_in_smoke_mode(path: Path, wheel_install: WheelInstall, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> Path:
    """Execute notebook ``path`` alone in ``tmp_path/colab`` from the wheel, ``smoke=True``; returns the
    executed notebook (``tmp_path/executed_<name>``). The kernel's bytecode is cleared first."""
    folder = tmp_path / "colab"  # the notebook alone, as when Colab opens it
    folder.mkdir()
    shutil.copy2(path, folder / path.name)
    for compiled in list((wheel_install.site / "clipaac_lib").rglob("__pycache__")):
        shutil.rmtree(compiled)
    for key, value in wheel_install.env.items():
        monkeypatch.setenv(key, value)  # inherited by the kernel papermill starts
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # the kernel's imports leave bytecode
    executed = tmp_path / f"executed_{path.name}"
    papermill.execute_notebook(str(folder / path.name), str(executed), parameters=SMOKE.get(path.stem, {"smoke": True}),
                               cwd=str(folder), kernel_name="python3", progress_bar=False)
    return executed


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_from_the_wheel_in_smoke_mode(path: Path, wheel_install: WheelInstall, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    executed_notebooks: Path) -> None:
    """Notebooks run in order (01 first): later ones reuse the data and runs earlier ones left in the cache."""
    try:
        executed = execute_in_smoke_mode(path, wheel_install, tmp_path, monkeypatch)
    except Exception as error:  # the browser check of the book reports it instead of executing it again
        (executed_notebooks / f"{path.stem}.failed").write_text(f"{type(error).__name__}: {error}"[:4000])
        raise
    shutil.copy2(executed, executed_notebooks / path.name)  # for tests/test_zz_book_browser.py
    lib = wheel_install.site / "clipaac_lib"
    assert list(lib.glob("__pycache__/__init__.*.pyc")), "the kernel did not import clipaac_lib from the wheel"


@pytest.mark.slow
def test_papermill_command_as_a_user_types_it(tmp_path: Path, wheel_install: WheelInstall) -> None:
    """`papermill notebooks/05_train.ipynb out.ipynb -p alpha 0.1 -p smoke True`, from the repository root:
    the injected alpha reaches the run the notebook trains. (The cache is the notebook tests': their
    smoke data and pretrained encoders are reused, the alpha-0.1 run is new.)"""
    papermill_bin = Path(sys.executable).with_name("papermill")
    out, cache = tmp_path / "out.ipynb", wheel_install.cache
    env = {**os.environ, "CLIPAAC_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([str(papermill_bin), "notebooks/05_train.ipynb", str(out), "-p", "alpha", "0.1",
                             "-p", "smoke", "True"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    configs = [json.loads(p.read_text()) for p in cache.glob("runs/*/config.json")]
    assert (0.1, True) in [(c["alpha"], c["smoke"]) for c in configs]
    assert "alpha = 0.1" in out.read_text(encoding="utf-8")  # the injected parameters cell
