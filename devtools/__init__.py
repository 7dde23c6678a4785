"""Repository tooling (notebook hygiene, book preparation, the paper-to-code page): run from a checkout,
never installed with the package."""

from pathlib import Path

#: The repository root (this file is ``<repo>/devtools/__init__.py``).
REPO_ROOT = Path(__file__).resolve().parents[1]
