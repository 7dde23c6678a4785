"""Notebooks talk to the library only through its package faces, and their parameters cells default to
the library's own values (so a parameter left alone runs the library's recipe, the one the tests check).

Each notebook's code is parsed (not run): every ``from clipaac_lib... import`` names a layer package and
only names in that package's ``__all__``; every parameter that is a library knob has the library's
default, read here from the dataclass field, not typed again.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from clipaac_lib.experiments import GRID_RECIPE
from clipaac_lib.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: The knobs every notebook accepts (the common parameters), and the notebooks whose other parameters
#: are TrainConfig knobs: 05 trains a run, 07 decodes one, 03 uses Eq. 5's lambda.
COMMON = ("dataset", "model_config", "device", "seed", "smoke")
TRAIN_KNOBS = {"05_train.ipynb": None, "07_caption_your_audio.ipynb": ("beam_size",),
               "03_contrastive_loss.ipynb": ("lam",)}


def _code(path: Path) -> list[tuple[list[str], str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(c.get("metadata", {}).get("tags", []), "".join(c["source"]))
            for c in cells if c["cell_type"] == "code" and "google.colab" not in "".join(c["source"])]


def _parameters(path: Path) -> dict[str, Any]:
    (source,) = [src for tags, src in _code(path) if "parameters" in tags]
    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in ast.parse(source).body if isinstance(node, ast.Assign)}


def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_only_package_faces(path: Path) -> None:
    for _, source in _code(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("clipaac_lib.") for a in node.names), ast.unparse(node)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clipaac_lib"):
                face = node.module or ""
                assert face.count(".") <= 1, f"{path.name} imports an internal module: {ast.unparse(node)}"
                package = importlib.import_module(face)
                for alias in node.names:
                    public = getattr(package, "__all__", None)
                    if face == "clipaac_lib":  # only sub-packages from the top
                        assert importlib.import_module(f"clipaac_lib.{alias.name}").__file__.endswith("__init__.py")
                    else:
                        assert alias.name in public, f"{path.name}: {alias.name} is not on {face}'s face"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameter_defaults_are_the_librarys(path: Path) -> None:
    params, defaults = _parameters(path), _defaults()
    knobs = TRAIN_KNOBS.get(path.name, ())
    names = [n for n in params if n in defaults] if knobs is None else [*COMMON, *knobs]
    for name in names:
        if name in params:
            assert params[name] == defaults[name], f"{path.name}: {name} = {params[name]!r}, library {defaults[name]!r}"
    if path.name == "06_ablations.ipynb":
        assert {k: params[k] for k in GRID_RECIPE} == GRID_RECIPE


def test_the_check_sees_a_changed_default(tmp_path: Path) -> None:
    """The defaults test can fail: a notebook whose alpha differs from TrainConfig's is caught."""
    nb = json.loads((REPO / "notebooks" / "05_train.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = "".join(cell["source"]).replace("alpha = 0.2", "alpha = 0.3")
    changed = tmp_path / "05_train.ipynb"
    changed.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(AssertionError, match="alpha"):
        test_parameter_defaults_are_the_librarys(changed)


def test_from_parameters_takes_the_fields_it_finds() -> None:
    namespace = {"alpha": 0.3, "batch_size": 4, "not_a_field": 1, "train": print}
    config = TrainConfig.from_parameters(namespace)
    assert (config.alpha, config.batch_size) == (0.3, 4)
    assert dataclasses.replace(config, alpha=TrainConfig().alpha, batch_size=TrainConfig().batch_size) == TrainConfig()
