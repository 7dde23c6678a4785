"""Each package of ``clipaac_lib`` is used through its face (issue 32, item 5).

A package's ``__init__.py`` is its face: a module of another package imports ``from clipaac_lib.<pkg>
import name`` (or ``import clipaac_lib.<pkg>``), never a submodule such as ``clipaac_lib.<pkg>.setup``,
and only names in ``clipaac_lib.<pkg>.__all__``. Modules of one package import each other freely.
Every module is parsed (not imported), so imports inside functions (the lazy ones) and under
``TYPE_CHECKING`` count too. ``tests/test_notebook_faces.py`` holds the notebooks to the same faces.
The faces import their modules plainly; the command line imports the faces it needs only when a command
runs, so that ``clipaac --help`` imports neither torch nor the training code (checked here too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "clipaac_lib"
PACKAGES = sorted(p.name for p in LIB.iterdir() if (p / "__init__.py").is_file())
MODULES = sorted(LIB.rglob("*.py"))
HOW = ("import from the package's face (`from clipaac_lib.<pkg> import name`), never from one of its "
       "modules; a name the face lacks goes into clipaac_lib/<pkg>/__init__.py: an import and an entry "
       "in __all__")


def face_names(package: str, lib: Path = LIB) -> set[str]:
    """The names in ``clipaac_lib.<package>.__all__``, read from its ``__init__.py`` without importing it."""
    tree = ast.parse((lib / package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                return set(ast.literal_eval(node.value))
    return set()


def _dotted(path: Path, lib: Path) -> tuple[str, bool]:
    """``(dotted name, is a package's __init__)`` of a module file under ``lib``."""
    parts = path.relative_to(lib.parent).with_suffix("").parts
    is_init = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_init else parts), is_init


def _absolute(node: ast.ImportFrom, module: str, is_init: bool) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_init else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def face_problems(source: str, path: Path, lib: Path = LIB,
                  faces: dict[str, set[str]] | None = None) -> list[str]:
    """One line per import in ``source`` (the module file ``path`` under ``lib``) that passes another
    package's face: ``file:line: the import -> what to do``."""
    packages = sorted(p.name for p in lib.iterdir() if (p / "__init__.py").is_file())
    faces = faces if faces is not None else {p: face_names(p, lib) for p in packages}
    module, is_init = _dotted(path, lib)
    bits = module.split(".")
    own = bits[1] if len(bits) > 1 else None  # None: a module at the top of clipaac_lib
    where = f"{path.relative_to(lib.parent)}"
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.split(".")
                if name[0] == lib.name and len(name) > 2 and name[1] != own:
                    out.append((node.lineno, f"{where}:{node.lineno}: `import {alias.name}` -> `import "
                                             f"{lib.name}.{name[1]}` (the face) and use the names of its __all__"))
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_init).split(".")
            if target[0] != lib.name or len(target) < 2 or target[1] == own or target[1] not in packages:
                continue
            package, names = target[1], [a.name for a in node.names]
            fixes = []
            if len(target) > 2:
                fixes.append(f"import from the face: `from {lib.name}.{package} import {', '.join(names)}`")
            absent = [n for n in names if n not in faces[package]]
            modules = [n for n in absent if len(target) == 2
                       and ((lib / package / f"{n}.py").is_file() or (lib / package / n).is_dir())]
            if modules:
                fixes.append(f"import the names you use from {lib.name}.{package}, not its module(s) "
                             f"{', '.join(modules)}")
            missing = [n for n in absent if n not in modules]
            if missing:
                fixes.append(f"add {', '.join(missing)} to {lib.name}/{package}/__init__.py (an import and "
                             f"__all__), or use a name that is there")
            if fixes:
                out.append((node.lineno, f"{where}:{node.lineno}: `{ast.unparse(node)}` -> {'; '.join(fixes)}"))
    return [line for _, line in sorted(out)]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_other_packages_are_imported_through_their_faces(path: Path) -> None:
    problems = face_problems(path.read_text(encoding="utf-8"), path)
    assert not problems, f"{HOW}:\n" + "\n".join(problems)


def test_every_layer_package_has_a_face() -> None:
    assert {"common", "data", "model", "metrics", "pretrain", "train", "experiments", "caption", "cli"} <= set(PACKAGES)
    for package in PACKAGES:
        assert face_names(package), f"clipaac_lib/{package}/__init__.py has no __all__"


def test_the_check_sees_each_kind_of_violation(tmp_path: Path) -> None:
    """The check can fail: a submodule reached at module level, inside a function, by ``import`` and by a
    relative import, a name missing from ``__all__`` and a module imported from the face are each caught;
    the face, the package's own modules and the top package are not."""
    lib = tmp_path / "clipaac_lib"
    for package in ("common", "train", "caption"):
        (lib / package).mkdir(parents=True)
        (lib / package / "__init__.py").write_text("__all__ = ['Public']\n", encoding="utf-8")
    (lib / "common" / "paths.py").write_text("", encoding="utf-8")
    path = lib / "caption" / "demo.py"
    source = "\n".join([
        "import clipaac_lib",
        "from clipaac_lib import train",
        "from clipaac_lib.train import Public",  # fine: the face, a name of __all__
        "from clipaac_lib.caption.runs import anything",  # fine: its own package
        "from .runs import anything_else",  # fine: its own package, relative
        "from clipaac_lib.train.setup import Public",  # line 6: a submodule
        "def lazy():",
        "    from clipaac_lib.train.evaluation import run_split",  # line 8: lazily, and not in __all__
        "import clipaac_lib.train.rundir",  # line 9
        "from ..train.setup import Public",  # line 10: relative, into another package
        "from clipaac_lib.common import paths",  # line 11: a module through the face
        "from clipaac_lib.common import Private",  # line 12: not in __all__
    ])
    problems = face_problems(source, path, lib)
    assert [p.split(":")[1] for p in problems] == ["6", "8", "9", "10", "11", "12"], problems
    assert all(p.startswith("clipaac_lib/caption/demo.py:") for p in problems)
    assert "from clipaac_lib.train import run_split" in problems[1] and "add run_split to" in problems[1]
    assert "`import clipaac_lib.train` (the face)" in problems[2]
    assert "not its module(s) paths" in problems[4] and "add Private to clipaac_lib/common/__init__.py" in problems[5]


def test_clipaac_help_imports_neither_torch_nor_the_training_code() -> None:
    """``clipaac --help`` builds every sub-command's parser; the faces above the command line (train, with
    torch) are imported only when a command runs, or when ``clipaac train`` reads its options."""
    code = ("import sys\n"
            "from clipaac_lib.cli import build_parser\n"
            "build_parser().format_help()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'pandas')\n"
            "             or (m.startswith('clipaac_lib.') and m.split('.')[1] != 'cli')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"`clipaac --help` imported {done.stdout.strip()}"
