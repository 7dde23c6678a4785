"""Steps ``make book`` runs before Jupyter Book: everything the offline build needs.

Repository tooling, not part of the installed ``clipaac_lib`` package. From the repository root:
``python -m devtools.book prepare [--repo PATH]`` (the repository defaults to the one holding this file):

1. generates the embedded offline dataset (once; later runs find it), so notebooks run with no network;
2. makes the default training run (notebook 5's defaults, :func:`notebook_defaults_run`): the book's
   pretrained encoder, then the synthetic recipe's epochs (``SYNTHETIC_EPOCHS``), with progress bars on
   the console. Jupyter Book shows nothing while a notebook executes, so the longest single job of a cold build runs here, where it can be watched;
   notebook 5 then finds the finished run in the cache (reused, never trained twice);
3. answers notebook 6's grid (its parameters: every system of Tables 1-2 over seeds, with the
   equal-steps batch-4 run) from the records shipped in ``results/``, training only what no record
   answers, after printing the expected time (:func:`prepare_grid`); notebook 6 then finds every record;
4. vendors the JavaScript that pages would otherwise load from CDNs (RequireJS and the ipywidgets
   embed manager for widgets, MathJax 3 for equations) into ``book/_vendor`` from the npm registry,
   once. ``_config.yml`` lists that folder in ``html_static_path`` and points myst-nb and Sphinx at the
   local copies, so the rendered site works when opened with no network.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from devtools import REPO_ROOT

__all__ = ["VENDORED", "prepare", "prepare_default_run", "prepare_grid", "notebook_defaults_run", "vendor_javascript", "main"]

REPO = REPO_ROOT
VENDOR_DIR = REPO / "book" / "_vendor"

# npm package -> (path inside the package, path under book/_vendor)
VENDORED: dict[str, list[tuple[str, str]]] = {
    "requirejs@2.3.4": [("require.js", "require.js")],
    "@jupyter-widgets/html-manager@1.0.6": [("dist/embed-amd.js", "embed-amd.js")],
    "mathjax@3.2.2": [("es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
                      ("es5/output/chtml/fonts", "mathjax/output/chtml/fonts")],
}


def vendor_javascript(target: Path = VENDOR_DIR) -> list[Path]:
    """Fetch the packages in :data:`VENDORED` with ``npm pack`` and copy the listed files; idempotent."""
    wanted = [target / dst for files in VENDORED.values() for _, dst in files]
    if all(p.exists() for p in wanted):
        return wanted
    if shutil.which("npm") is None:
        raise RuntimeError(
            "npm is needed once to vendor the book's JavaScript (widgets, MathJax) for offline viewing. "
            "Install Node.js (Debian: apt-get install npm), or copy the files listed in "
            f"devtools/book.py:VENDORED into {target} by hand."
        )
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in VENDORED.items():
            result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {result.stderr.strip()}")
            archive = Path(tmp) / result.stdout.strip().splitlines()[-1]
            unpacked = Path(tmp) / archive.stem
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
            for src, dst in files:
                source, dest = unpacked / "package" / src, target / dst
                dest.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, dest, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, dest)
    return wanted


def prepare_data() -> None:
    """Generate the default synthetic dataset when the data package is present."""
    from clipaac_lib.data import default_synthetic_root, make_synthetic_clotho

    folder = make_synthetic_clotho(default_synthetic_root(), seed=0)
    print(f"offline dataset ready: {folder}")


def notebook_defaults_run(notebook: Path) -> dict[str, object]:
    """The values of ``notebook``'s ``parameters`` cell (executed on their own: plain assignments)."""
    import json

    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    (cell,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    values: dict[str, object] = {}
    exec("".join(cell["source"]), {}, values)  # noqa: S102 (our own notebook's literal assignments)
    return values


def prepare_default_run(repo: Path = REPO) -> None:
    """Train notebook 5's default run now, with console progress bars (see the module docstring), unless
    notebook 5's parameters differ from the defaults (then notebook 5 trains its own run)."""
    from clipaac_lib.train import TrainConfig, train

    config = TrainConfig()
    notebook = notebook_defaults_run(repo / "notebooks" / "05_train.ipynb")
    differ = {k: v for k, v in notebook.items() if hasattr(config, k) and getattr(config, k) != v}
    if differ:  # the notebook would not find this run: leave the training to it
        print(f"notebook 5's parameters differ from TrainConfig's defaults ({differ}): not pre-training")
        return
    result = train(config)
    print(f"default run ready: {result.run_dir} ({'reused' if result.reused else 'trained'})")


def prepare_grid(repo: Path = REPO) -> None:
    """Answer notebook 6's grid (its parameters cell's values) from the records shipped in
    ``results/``; train only what no record answers (a changed parameter), printing the expected time
    first, with a console progress bar; notebook 6 then finds every record."""
    from clipaac_lib import experiments as ex

    p = notebook_defaults_run(repo / "notebooks" / "06_ablations.ipynb")
    common = dict(dataset=p["dataset"], model_config=p["model_config"], device=p["device"], smoke=p["smoke"],
                  num_epochs=p["num_epochs"], limit_train_clips=p["limit_train_clips"], eval_untrained=False,
                  validate_every=1)
    jobs = ex.grid_jobs(ex.parse_tables(p["run_tables"]), p["systems"], **common)
    seeds = ex.parse_seeds(p["seeds"])
    grid = ex.run_grid(jobs, seeds, results_dir=p["results_dir"], read_also=[repo / "results"],
                       seeded=ex.seeded_systems(p["seeded"]), workers=p["workers"] or ex.default_workers(p["device"]),
                       train_missing=p["train_missing"], command="make book (devtools.book prepare)")
    print(f"notebook 6's grid: {len(grid.records)} of {len(grid.plan)} (system, seed) pairs answered by records")


#: A cold ``make book`` (fresh clone, empty cache, venv included) on a 2-core AMD EPYC (AVX2), 2026-12-04:
#: 57.7 min to the end of notebook 6's grid (about 44 min of it: the build trained the grid then) and the
#: 16-epoch default run (9.3 min), then 3.4 min of notebooks and Sphinx. The first line ``prepare`` prints.
COLD_BUILD_MINUTES = 61
#: The part of it the grid took, which the shipped records in ``results/`` now answer.
COLD_BUILD_GRID_MINUTES = 44


def prepare(repo: Path = REPO) -> None:
    """Everything the offline book build of the repository at ``repo`` needs."""
    print(f"make book: a cold build (nothing cached) took {COLD_BUILD_MINUTES} min on the project's 2-core "
          f"machine on 2026-12-04, {COLD_BUILD_GRID_MINUTES} of them training notebook 6's grid, which the "
          "records in results/ now answer (a run missing from them still trains, after its expected time is "
          "printed); with the cache warm a build takes seconds.")
    vendor_javascript(repo / "book" / "_vendor")
    prepare_data()
    prepare_default_run(repo)
    prepare_grid(repo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.book")
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository root (default: %(default)s)")
    args = parser.parse_args(argv)
    prepare(args.repo.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
