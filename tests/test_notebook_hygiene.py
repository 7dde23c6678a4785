"""The notebook hygiene rules that `make test` enforces on notebooks/. What the first (Colab) cell does is
rehearsed in tests/test_colab_rehearsal.py."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.notebooks import (
    colab_install_source,
    from_percent,
    main,
    notebook_problems,
    strip_notebook,
)

REPO = Path(__file__).resolve().parents[1]


def _notebook(cells):
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _code(src, tags=(), outputs=(), count=None):
    return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}, "outputs": list(outputs),
            "execution_count": count}


BADGE = {"cell_type": "markdown", "metadata": {},
         "source": "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](x)"}
TITLE = {"cell_type": "markdown", "metadata": {}, "source": "# Title\nA [link](https://example.org)."}


def test_clean_notebook_passes(tmp_path):
    path = tmp_path / "ok.ipynb"
    path.write_text(json.dumps(_notebook([TITLE, _code(colab_install_source()), _code("a = 1", ["parameters"])])))
    assert notebook_problems(path) == []


def test_outputs_are_reported_then_stripped(tmp_path):
    path = tmp_path / "dirty.ipynb"
    out = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    path.write_text(json.dumps(_notebook([TITLE, _code(colab_install_source()),
                                          _code("print(1)", ["parameters"], [out], 3)])))
    assert any("outputs" in p for p in notebook_problems(path))
    assert main(["check", str(tmp_path)]) == 1
    assert strip_notebook(path)
    assert notebook_problems(path) == []
    assert main(["check", str(tmp_path)]) == 0


def test_missing_parameters_cell_and_colab_cell_are_reported(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(_notebook([BADGE, _code("x = 1")])))
    problems = " ".join(notebook_problems(path))
    assert "parameters" in problems and "Colab install" in problems and "badges" in problems


def test_repository_notebooks_are_clean():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        assert notebook_problems(path) == [], path


def test_percent_source_builds_a_clean_notebook(tmp_path):
    source = (
        "# %% [markdown]\n# # Title\n# Opens in [Colab](https://colab.research.google.com/x).\n"
        '# %% tags=["parameters"]\nalpha = 0.2  # weight\n'
        "# %%\nprint(alpha)\n"
    )
    nb = from_percent(source)
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds == ["markdown", "code", "code", "code"]
    assert nb["cells"][0]["source"].startswith("# Title")
    assert nb["cells"][2]["metadata"]["tags"] == ["parameters"]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert notebook_problems(path) == []


def test_glued_values_in_prose_paste_as_text_not_code():
    """In prose, ``{glue}`` / ``{glue:}`` render a value as a code span (``<code class="docutils
    literal">``, seen in the built report page); ``{glue:text}`` pastes it as text. Block directives
    (a line starting with three backticks and ``{glue:}``) are tables and figures and stay."""
    import re

    inline_any = re.compile(r"\{glue(?::any)?:?\}`")
    sources = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "book").glob("*.md")}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    offenders = {name: inline_any.findall(text) for name, text in sources.items() if inline_any.search(text)}
    assert not offenders, f"use {{glue:text}} for values in prose: {offenders}"
    # myst-nb splits the role's text at its last colon for a format spec, so a reference to another
    # document ("path::key") needs one ("path::key:s"), or the key is read as "path:" and nothing is pasted
    unformatted = re.compile(r"\{glue:text\}`[^`]*::[^`:]*`")
    missing = {name: unformatted.findall(text) for name, text in sources.items() if unformatted.search(text)}
    assert not missing, f"add a format spec (:s) to cross-document {{glue:text}} references: {missing}"
