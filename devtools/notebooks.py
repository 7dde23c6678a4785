"""Notebook hygiene for ``notebooks/``: committed without outputs, on one skeleton.

Repository tooling, not part of the installed ``clipaac_lib`` package; run from the repository root.
``python -m devtools.notebooks check notebooks`` fails (exit 1) naming every notebook that
breaks a rule; ``... strip notebooks`` removes outputs and execution counts in place (atomically).

Rules (STYLE.md, practice 2): no outputs or execution counts; kernelspec ``python3`` (papermill and
Jupyter Book find the venv's kernel by that name); exactly one code cell tagged ``parameters``; the first
code cell is the Colab install cell (:data:`COLAB_MARKER`); no external images in Markdown (badges break
offline; the theme's launch buttons open Colab and Binder).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from clipaac_lib.common.fileio import atomic_write_text

__all__ = [
    "COLAB_MARKER", "colab_install_source", "from_percent", "notebook_problems", "strip_notebook", "main",
]

REPOSITORY = "clipaac/clipaac"
COLAB_MARKER = "# Colab only: install clipaac"


def colab_install_source(ref: str = "main") -> str:
    """The first code cell of every notebook: on Colab, ``%pip`` installs clipaac at ``ref`` (with the
    ``colab`` extra; Colab's torch is kept), then :func:`clipaac_lib.common.colab_setup` does the rest
    (checks the installed ref, installs Java with apt when missing: the caption metrics need it). The
    install stays in the cell: the package cannot be imported before it is installed. Outside Colab
    (the book build, papermill) the cell only sets ``CLIPAAC_REF``.

    ``ref`` defaults to ``main``: the newest code, which is what the book's Colab launch button opens
    (``blob/main``). To pin a release, set ``CLIPAAC_REF`` to its tag or commit. IPython expands
    ``$CLIPAAC_REF`` in the ``%pip`` line (``{CLIPAAC_REF}`` would not fit in 88 columns).
    """
    return (
        f"{COLAB_MARKER} at CLIPAAC_REF (a branch, tag or commit), then Java.\n"
        "import sys\n"
        "\n"
        f'CLIPAAC_REF = "{ref}"\n'
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "clipaac[colab]@git+https://github.com/{REPOSITORY}@$CLIPAAC_REF"\n'
        "    from clipaac_lib.common import colab_setup\n"
        "    colab_setup(CLIPAAC_REF)"
    )


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def notebook_problems(path: Path) -> list[str]:
    """Every rule ``path`` breaks, as human-readable strings (empty when clean)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"not a readable notebook ({err})"]
    problems: list[str] = []
    cells = nb.get("cells", [])
    code = [c for c in cells if c.get("cell_type") == "code"]
    dirty = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and (c.get("outputs") or c.get("execution_count"))]
    if dirty:
        problems.append(f"outputs or execution counts in cells {dirty}: run `make strip` (or "
                        "`python -m devtools.notebooks strip notebooks`)")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec name is {kernel!r}, must be 'python3'")
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        problems.append(f"{len(tagged)} code cells tagged 'parameters'; exactly one is required")
    if not code or not _source(code[0]).startswith(COLAB_MARKER):
        problems.append("the first code cell is not the Colab install cell (colab_install_source())")
    badges = [i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
              and re.search(r"!\[[^]]*\]\(https?://", _source(c))]
    if badges:  # external images break offline; the theme's launch button opens Colab
        problems.append(f"external images (badges) in Markdown cells {badges}: the book's launch buttons "
                        "open Colab")
    return problems


def strip_notebook(path: Path) -> bool:
    """Remove outputs and execution counts in place; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        atomic_write_text(path, new)
        return True
    return False


def from_percent(text: str) -> dict[str, Any]:
    """A notebook from percent-format source (the authoring format for ``notebooks/``).

    ``# %% [markdown]`` starts a Markdown cell (its lines lose a leading ``# ``), ``# %%`` a code cell,
    ``# %% tags=["parameters"]`` a tagged code cell. The Colab install cell is inserted as the first code
    cell, so sources do not repeat it.
    """
    cells: list[dict[str, Any]] = []
    kind, tags, lines = None, [], []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n"))
            cells.append({"cell_type": "markdown", "metadata": {}, "source": body})
        else:
            cells.append({"cell_type": "code", "metadata": {"tags": tags} if tags else {}, "source": body,
                          "outputs": [], "execution_count": None})

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            header = line[4:].strip()
            kind = "markdown" if header.startswith("[markdown]") else "code"
            tags = json.loads(header.split("=", 1)[1]) if header.startswith("tags=") else []
            lines = []
        else:
            lines.append(line)
    flush()
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cells.insert(first_code, {"cell_type": "code", "metadata": {"tags": ["remove-cell"]},
                              "source": colab_install_source(),
                              "outputs": [], "execution_count": None})
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.notebooks", description=__doc__)
    parser.add_argument("command", choices=["check", "strip", "build"])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("notebooks"),
                        help="notebook folder (check, strip) or a percent-format .py source (build)")
    parser.add_argument("output", type=Path, nargs="?", help="build: the .ipynb to write")
    args = parser.parse_args(argv)
    if args.command == "build":
        nb = from_percent(args.folder.read_text(encoding="utf-8"))
        atomic_write_text(args.output, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.output}")
        return 0
    paths = sorted(args.folder.glob("*.ipynb"))
    if args.command == "strip":
        for path in paths:
            if strip_notebook(path):
                print(f"stripped {path}")
        return 0
    failed = 0
    for path in paths:
        for problem in notebook_problems(path):
            print(f"{path}: {problem}")
            failed += 1
    print(f"checked {len(paths)} notebooks: {failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
