"""The book renders a plot, a table, a widget and math with no network (headless Chromium).

Builds a one-page book with the project's own `_config.yml` settings (vendored JavaScript, local
MathJax), opens it from file:// in headless Chromium with the network switched off, and checks the DOM
after scripts ran: the figure image loaded, the pandas table is there, the ipywidgets embed manager
replaced the widget's JSON with rendered controls, MathJax typeset the equation, a MyST admonition
displayed from code (``nb_render_markdown_format: myst``) is rendered, and the book's own
stylesheet (book/_static/clipaac.css) is linked. A screenshot is saved next to the build for a human look.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.book import vendor_javascript
from devtools.notebooks import from_percent

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

PAGE = '''# %% [markdown]
# # Offline check
#
# $$L_{total} = \\alpha L_{cl} + (1 - \\alpha) L_{ce}$$
# %% tags=["parameters"]
n = 3  # rows
# %%
import matplotlib.pyplot as plt
import pandas as pd
import ipywidgets as widgets
plt.plot([0, 1, 2], [0, 1, 4])
plt.show()
# %%
pd.DataFrame({"metric": ["bleu_1", "cider_d"], "value": [0.5, 0.4]})
# %%
widgets.IntSlider(value=7, min=0, max=10, description="beam")
# %%
from IPython.display import Markdown
Markdown(":::{note}\\nA MyST admonition displayed from code.\\n:::")
'''


@pytest.mark.slow  # a Jupyter Book build and two headless Chromium runs
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_book_page_renders_offline(tmp_path):
    vendor = vendor_javascript()[0].parent
    book = tmp_path / "book"
    book.mkdir()
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    config["sphinx"]["config"]["html_static_path"] = [str(vendor), str(REPO / "book" / "_static")]  # + our CSS
    config["execute"]["execute_notebooks"] = "force"
    config["execute"].pop("cache", None)
    (book / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.ipynb").write_text(json.dumps(from_percent(PAGE)))
    build = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(book)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    html = book / "_build" / "html" / "page.html"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # no network at all
             "--virtual-time-budget=15000"]
    dom = subprocess.run(flags + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    subprocess.run(flags + ["--window-size=1200,1600", f"--screenshot={book / 'page.png'}", html.as_uri()],
                   capture_output=True, timeout=120)
    assert "<table" in dom and "cider_d" in dom, "pandas table missing"
    assert '<img alt="../_images/' in dom or 'src="_images/' in dom, "matplotlib figure missing"
    assert "widget-slider" in dom and "beam" in dom, "widget not rendered by the vendored embed manager"
    assert "mjx-container" in dom, "MathJax did not typeset (vendored copy not loaded?)"
    assert "admonition note" in dom and "displayed from code" in dom, "text/markdown output not parsed as MyST"
    assert "cdn.jsdelivr" not in dom and "cdnjs" not in dom
    assert "_static/clipaac.css" in dom and (html.parent / "_static" / "clipaac.css").exists(), "book CSS missing"
    assert (book / "page.png").stat().st_size > 10_000
