"""Render the book page ``book/paper_to_code.md`` from :data:`devtools.paper_to_code_rows.ROWS`.

``python -m devtools.paper_to_code book/paper_to_code.md`` (run from the repository root) writes the page;
``--check`` exits 1 when it is out of date. Code and Test link to their files on GitHub (files, not lines,
so that editing a file does not make the page stale). Repository tooling: not part of the package.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path

from clipaac_lib.common.fileio import atomic_write_text
from devtools import REPO_ROOT
from devtools.paper_to_code_rows import DEVIATION, ROWS, SILENT, Row, resolve

__all__ = ["SOURCE_URL", "source_file", "test_exists", "render_markdown", "main"]

#: Where the Code and Test columns link to (a path in the repository is appended).
SOURCE_URL = "https://github.com/clipaac/clipaac/blob/main/"



def source_file(dotted: str) -> str:
    """The repository path of the file that defines a row's ``code`` (for a value, such as a constant or
    a dataclass field, the file of the module or class that holds it)."""
    target = resolve(dotted)
    if not (inspect.ismodule(target) or inspect.isclass(target) or callable(target)):
        target = resolve(dotted.rsplit(".", 1)[0])
    code = inspect.unwrap(target) if callable(target) and not inspect.isclass(target) else target
    return Path(inspect.getsourcefile(code) or "").resolve().relative_to(REPO_ROOT).as_posix()


def test_exists(test_id: str, root: Path = REPO_ROOT) -> bool:
    """Whether the test ``path::name`` (or ``path::Class::name``) exists under ``root``, found by parsing
    the file without importing it."""
    path, *names = test_id.split("::")
    file = root / path
    if not names or not file.is_file():
        return False
    body: list[ast.stmt] = ast.parse(file.read_text(encoding="utf-8"), filename=str(file)).body
    for depth, name in enumerate(names):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == name), None)
        if node is None or (depth == len(names) - 1) == isinstance(node, ast.ClassDef):
            return False
        body = node.body if isinstance(node, ast.ClassDef) else []
    return True


test_exists.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


# ---------------------------------------------------------------------------------------- rendering
def _cell(text: str) -> str:
    """Text for one table cell: pipes escaped; ``<``, ``>`` and ``$`` escaped outside code spans (MyST
    would read them as HTML and math)."""
    pieces = text.replace("\n", " ").split("`")
    for i in range(0, len(pieces), 2):  # outside code spans
        pieces[i] = pieces[i].replace("<", "&lt;").replace(">", "&gt;").replace("$", r"\$")
    return "`".join(pieces).replace("|", r"\|")


def _code_link(row: Row, source_url: str) -> str:
    return f"[`{row.code.removeprefix('clipaac_lib.')}`]({source_url}{source_file(row.code)})"


def _test_link(row: Row, source_url: str) -> str:
    return f"[`{row.test.removeprefix('tests/')}`]({source_url}{row.test.split('::')[0]})"


def render_markdown(rows: Sequence[Row] = ROWS, source_url: str = SOURCE_URL) -> str:
    """The MyST Markdown page ``book/paper_to_code.md``: an introduction, one table (Item, Paper, Ours,
    Code, Test; Code and Test link to their files under ``source_url``) and the list of open choices.

    """
    open_rows = [row for row in rows if row.is_open]
    deviations = [row for row in rows if row.is_deviation]
    out = [
        "# Paper to code",
        "",
        "Each equation, each step of Algorithm 1 and each setting of the CLIP-AAC paper (Chen et al., "
        "Interspeech 2022), next to what this library does. The columns:",
        "",
        "- **Item**: the equation, step or setting, with the paper's section (§);",
        "- **Paper**: what the paper says, in a few words quoted from it;",
        "- **Ours**: what we do;",
        "- **Code**: the function, class, constant or configuration field that does it, linked to its source;",
        "- **Test**: the test under `tests/` that checks it.",
        "",
        f"{SILENT} in the Paper column marks an open choice: the paper does not say, or says it ambiguously "
        "(the quote follows). There the Ours column gives our default and why; most of these are fields of "
        f"`TrainConfig` that a run can change. {len(rows)} rows, {len(open_rows)} open choices, listed again "
        f"at the end. {DEVIATION} marks the {len(deviations)} places where we knowingly do something other "
        "than the paper says; the Ours column says what and why, and they are listed at the end too.",
        "",
        "This page is generated from `devtools.paper_to_code_rows.ROWS` by "
        "`python -m devtools.paper_to_code book/paper_to_code.md`. The test suite checks that each linked "
        "symbol and test exists and that the page is up to date.",
        "",
        "| Item | Paper | Ours | Code | Test |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [f"{row.item} (§{row.section})", row.paper, row.ours]
        out.append("| " + " | ".join([*map(_cell, cells), _code_link(row, source_url), _test_link(row, source_url)])
                   + " |")
    out += ["", "## Deviations from the paper", ""]
    for row in deviations:
        out.append(f"- **{_cell(row.item)}** (§{row.section}): {_cell(row.ours)} {_code_link(row, source_url)}")
    out += ["", "## Open choices", ""]
    for row in open_rows:
        out.append(f"- **{_cell(row.item)}** (§{row.section}): {_cell(row.ours)} {_code_link(row, source_url)}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.paper_to_code [--check] OUT.md``: write the page atomically, or with
    ``--check`` exit 1 when ``OUT.md`` differs from what would be written.

    """
    parser = argparse.ArgumentParser(prog="python -m devtools.paper_to_code",
                                     description="Write the book's paper-to-code page from devtools.paper_to_code_rows.ROWS.")
    parser.add_argument("out", type=Path, help="the page to write, normally book/paper_to_code.md")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the page is out of date")
    args = parser.parse_args(argv)
    page = render_markdown()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if current != page:
            print(f"{args.out} is out of date; regenerate it with "
                  f"`python -m devtools.paper_to_code {args.out}`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    atomic_write_text(args.out, page)
    print(f"wrote {args.out} ({len(ROWS)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
