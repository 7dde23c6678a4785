"""Every page of the built book passes the browser check at 1280 px (devtools/browser_check.py).

``test_built_book_passes_the_browser_check`` (slow) builds the whole book from the notebooks that
tests/test_notebooks.py executed in smoke mode this session, then opens every page in headless Chromium
with the network off: nothing may scroll sideways inside the article, and there may be no stderr box, no
broken image and no (frozen) widget. Two quick tests keep the checker itself honest on hand-written pages.

Where the executed notebooks come from: each notebook test leaves its executed notebook in the session
folder ``executed_notebooks`` (tests/conftest.py). This file is named ``test_zz_...`` so that pytest,
which runs files in alphabetical order, runs it after tests/test_notebooks.py and finds them all; a
notebook not executed yet this session (this file run alone, ``-k``, another order) is executed here,
the same way, so the test never depends on the order, it only costs more then. A notebook that failed
its own test is reported, not executed twice. ``CLIPAAC_BOOK_CHECK_EXECUTED_ONLY=1`` builds the book
from the executed notebooks only (a quick local look: ``pytest tests/test_notebooks.py -k 03
tests/test_zz_book_browser.py``, glue references to the others then stay empty).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devtools.book import vendor_javascript
from devtools.browser_check import book_pages, check_book, find_chromium, format_table

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = find_chromium()
try:
    import playwright.sync_api  # noqa: F401

    PLAYWRIGHT = True
except ImportError:
    PLAYWRIGHT = False

needs_browser = pytest.mark.skipif(
    not PLAYWRIGHT or CHROMIUM is None,
    reason="playwright is not installed (the dev extra: pip install -e .[dev])" if not PLAYWRIGHT
    else "Chromium is not installed (.ci/run installs Debian's chromium)")
PNG_1x1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

BAD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<article class="bd-article">
  <pre style="overflow:auto"><span style="display:inline-block; width:2000px">wide</span></pre>
  <div class="output stderr"><pre>UserWarning: leaked</pre></div>
  <img src="missing.png" alt="a file that is not there">
  <img src="https://example.com/badge.svg" alt="a badge from the network">
  <div class="cell_output">
    <script type="application/vnd.jupyter.widget-view+json">{"version_major": 2, "version_minor": 0,
      "model_id": "m1"}</script>
  </div>
  <div class="widget-subarea"><div class="jupyter-widgets widget-hprogress">50%</div></div>
</article>
<script type="application/vnd.jupyter.widget-state+json">{"version_major": 2, "version_minor": 0,
  "state": {"m1": {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls", "state": {}}}}
</script>
<div style="width:3000px">outside the article, still wider than the window</div>
</body></html>
"""

CLEAN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<article class="bd-article">
  <pre style="overflow:auto">print("fits")</pre>
  <div class="output stream"><pre>fits too</pre></div>
  <table><tr><td>a</td><td>b</td></tr></table>
  <img src="dot.png" alt="a local image">
</article>
</body></html>
"""


@pytest.fixture(scope="module")
def hand_made_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    html = tmp_path_factory.mktemp("hand_made_html")
    (html / "bad.html").write_text(BAD_PAGE)
    (html / "clean.html").write_text(CLEAN_PAGE)
    (html / "dot.png").write_bytes(PNG_1x1)
    for skipped in ("genindex.html", "search.html", "_static/x.html", "_sources/y.html", "_images/z.html"):
        (html / skipped).parent.mkdir(exist_ok=True)
        (html / skipped).write_text(BAD_PAGE)  # never opened: not pages of the book
    return {report.page: report for report in check_book(html)}


@needs_browser
def test_checker_finds_each_problem_of_a_hand_made_page(hand_made_pages) -> None:
    bad = hand_made_pages["bad.html"]
    assert not bad.ok
    assert any(s.startswith("pre ") and s.endswith('"wide"') for s in bad.scroll), bad.scroll
    assert any("the page is 30" in s and "1280 px viewport" in s for s in bad.scroll), bad.scroll
    assert bad.stderr == ['"UserWarning: leaked"']
    assert sorted(bad.broken_images) == ["https://example.com/badge.svg", "missing.png"]
    assert bad.widgets == ["IntSliderModel: not rendered", 'rendered view: progress bar "50%"'], bad.widgets
    assert "network request blocked: https://example.com/badge.svg" in bad.notes  # the network is off
    assert len(bad.problems) == 7, bad.problems


@needs_browser
def test_checker_passes_a_clean_page_and_skips_non_pages(hand_made_pages) -> None:
    assert sorted(hand_made_pages) == ["bad.html", "clean.html"]
    clean = hand_made_pages["clean.html"]
    assert clean.ok, clean.problems
    assert clean.article_width and clean.article_width > 1000
    assert "0 of 1 pages have problems" in format_table([clean])


def smoke_executed_notebooks(executed: Path, request: pytest.FixtureRequest, tmp_path: Path) -> list[Path]:
    """The executed notebooks (see the module docstring), executing here those not executed yet."""
    only_executed = os.environ.get("CLIPAAC_BOOK_CHECK_EXECUTED_ONLY", "") not in ("", "0")
    found = []
    for path in NOTEBOOKS:
        done, failed = executed / path.name, executed / f"{path.stem}.failed"
        if failed.exists():
            pytest.fail(f"{path.name} failed in tests/test_notebooks.py, so the book cannot be built: "
                        f"{failed.read_text()[:1500]}")
        if not done.exists() and not only_executed:
            from tests.test_notebooks import execute_in_smoke_mode

            wheel_install = request.getfixturevalue("wheel_install")
            with pytest.MonkeyPatch.context() as monkeypatch:
                folder = tmp_path / f"execute_{path.stem}"
                folder.mkdir()
                shutil.copy2(execute_in_smoke_mode(path, wheel_install, folder, monkeypatch), done)
        if done.exists():
            found.append(done)
    if not found:
        pytest.skip("no notebook was executed in this session (CLIPAAC_BOOK_CHECK_EXECUTED_ONLY is set)")
    return found


def assemble_book(book: Path, notebooks: list[Path]) -> Path:
    """The project's book in ``book``: its _config.yml (no execution; static paths made absolute), its
    _toc.yml (less the notebooks not given), its Markdown pages and the given executed notebooks."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    config["execute"].pop("cache", None)
    static = config["sphinx"]["config"]["html_static_path"]
    vendor = vendor_javascript()[0].parent
    config["sphinx"]["config"]["html_static_path"] = [str(vendor if s == "book/_vendor" else REPO / s) for s in static]
    book.mkdir(parents=True)
    (book / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    names = {p.stem for p in notebooks}
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part["chapters"]
                            if not c["file"].startswith("notebooks/") or Path(c["file"]).name in names]
    toc["parts"] = [part for part in toc.get("parts", []) if part["chapters"]]  # a part may not be empty
    (book / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    shutil.copytree(REPO / "book", book / "book", ignore=shutil.ignore_patterns("_vendor", "_static"))
    (book / "notebooks").mkdir()
    for path in notebooks:
        notebook = json.loads(path.read_text())
        # papermill's injected `smoke = True` cell: not in the book `make book` builds
        notebook["cells"] = [c for c in notebook["cells"]
                             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
        (book / "notebooks" / path.name).write_text(json.dumps(notebook))
    return book


@pytest.mark.slow  # a whole Jupyter Book build (and the notebooks, when not executed yet) and a browser run
@needs_browser
def test_built_book_passes_the_browser_check(executed_notebooks: Path, request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:
    notebooks = smoke_executed_notebooks(executed_notebooks, request, tmp_path)
    book = assemble_book(tmp_path / "book", notebooks)
    start = time.monotonic()
    build = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(book)],
                           capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    built = time.monotonic() - start
    html = book / "_build" / "html"
    assert (html / "_static" / "clipaac.css").exists(), "book/_static/clipaac.css was not copied into the build"
    pages = {p.relative_to(html).as_posix() for p in book_pages(html)}
    expected = {f"{Path(n).with_suffix('.html')}" for n in ("book/intro", "book/report", "book/running")}
    expected |= {f"notebooks/{p.stem}.html" for p in notebooks}
    assert expected <= pages, f"pages missing from the build: {sorted(expected - pages)}"
    reports = check_book(html)
    print(f"built in {built:.0f} s, {len(reports)} pages checked in {time.monotonic() - start - built:.0f} s\n"
          + format_table(reports))
    bad = [r for r in reports if not r.ok]
    assert not bad, ("pages of the book a reader would trip over at 1280 px (fix the notebook or page; "
                     "`python -m devtools.browser_check _build/html` after `make book` shows the same):\n"
                     + format_table(bad, notes=False))
