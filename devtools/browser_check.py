"""Open every page of a built book in headless Chromium and report what a reader would trip over.

Repository tooling, not part of the installed ``clipaac_lib`` package. From the repository root::

    python -m devtools.browser_check _build/html        # exit 1 when any page has a problem

Each page (every ``.html`` file except ``genindex``/``search`` and those under ``_static``, ``_sources``
and ``_images``) is opened from ``file://`` at a 1280 x 900 viewport with the network cut off (every
request that is not ``file://`` is aborted), after its scripts settled (MathJax typeset, widgets
rendered, the DOM quiet for a moment); a redirect page (the book's ``index.html``) is only noted.
Problems, per page:

* **scroll**: an element inside the article (``article.bd-article``) that scrolls sideways (its content
  wider than its box, ``overflow-x`` auto or scroll), a ``<pre>`` or table wider than its box, or the
  document itself wider than the viewport;
* **stderr**: a stderr stream output box (myst-nb's ``div.output.stderr``): warnings that leaked;
* **broken image**: an ``<img>`` that did not load (not complete, or ``naturalWidth`` 0), e.g. a badge
  fetched from the network;
* **frozen widget**: a Jupyter widget in the article, rendered or not (a widget in a static page
  cannot respond: ``tqdm.notebook`` progress bars and ipywidgets controls alike).

Requests the page tried to make to the network are listed as notes (the badge behind a broken image,
say); they are not problems by themselves.

Chromium is the system's (``chromium``, ``chromium-browser`` or ``google-chrome`` on ``PATH``, or
``--chromium``), started through Playwright's ``executable_path``: Playwright's own browser download is
never used (no network). :func:`check_book` returns one :class:`PageReport` per page, for the tests.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["VIEWPORT", "PageReport", "find_chromium", "book_pages", "check_pages", "check_book",
           "format_table", "main"]

VIEWPORT = {"width": 1280, "height": 900}
SKIPPED_FOLDERS = {"_static", "_sources", "_images"}
SKIPPED_PAGES = {"genindex.html", "search.html"}
REDIRECT = re.compile(r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']?\d+;\s*url=([^"'>]+)""", re.I)
SETTLE_MS = 400  # the DOM must stay unchanged this long ...
SETTLE_MAX_MS = 15_000  # ... within this long after the load event


@dataclass
class PageReport:
    """What one page showed; ``problems`` empty means the page is clean."""

    page: str  # path relative to the book's html folder
    article_width: int | None = None  # the article's width in px (None: no article.bd-article)
    scroll: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    widgets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # blocked network requests, settle timeouts

    @property
    def problems(self) -> list[str]:
        return ([f"scrolls sideways: {s}" for s in self.scroll]
                + [f"stderr output: {s}" for s in self.stderr]
                + [f"broken image: {s}" for s in self.broken_images]
                + [f"frozen widget: {s}" for s in self.widgets])

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium() -> str | None:
    """The system's Chromium (or Chrome) on ``PATH``, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def book_pages(html: Path) -> list[Path]:
    """Every page of the built book under ``html``, sorted."""
    return sorted(p for p in html.rglob("*.html")
                  if p.name not in SKIPPED_PAGES and not SKIPPED_FOLDERS & set(p.relative_to(html).parts))


# Resolves once MathJax typeset (when the page has it), lazy images loaded, and the DOM went quiet.
SETTLE_JS = """
async ([quietMs, maxMs]) => {
  const start = performance.now();
  const within = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  for (const img of document.images) img.loading = 'eager';
  let last = performance.now();
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
  if (mathjax) await Promise.race([mathjax.catch(() => null), within(maxMs)]);
  await Promise.race([Promise.all([...document.images].map((img) => img.decode().catch(() => null))),
                      within(maxMs)]);
  while (performance.now() - last < quietMs && performance.now() - start < maxMs) await within(50);
  observer.disconnect();
  return performance.now() - start < maxMs;
}
"""

# The measurements; everything returned is plain data (strings, numbers).
PROBE_JS = r"""
() => {
  const text = (el, n) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, n);
  const name = (el) => el.tagName.toLowerCase() + [...el.classList].slice(0, 3).map((c) => '.' + c).join('');
  const article = document.querySelector('article.bd-article');
  const out = {articleWidth: article ? article.clientWidth : null, scroll: [], stderr: [], broken: [],
               widgets: []};
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    out.scroll.push(`the page is ${root.scrollWidth} px wide in a ${root.clientWidth} px viewport`);
  }
  if (article) {
    const found = [];
    for (const el of article.querySelectorAll('*')) {
      if (!el.clientWidth) continue;  // not laid out (display: none, a closed <details>)
      const cs = getComputedStyle(el);
      const scrolls = ['auto', 'scroll'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 1;
      const overflows = (el.tagName === 'PRE' && el.scrollWidth > el.clientWidth + 1)
        || (el.tagName === 'TABLE' && el.parentElement
            && el.getBoundingClientRect().width > el.parentElement.clientWidth + 1);
      if (scrolls || overflows) found.push(el);
    }
    // One entry per place: the outermost element (a scrolling output box, not also the table inside it).
    for (const el of found) {
      if (found.some((other) => other !== el && other.contains(el))) continue;
      const content = el.tagName === 'TABLE' ? Math.round(el.getBoundingClientRect().width) : el.scrollWidth;
      const box = el.tagName === 'TABLE' ? el.parentElement.clientWidth : el.clientWidth;
      out.scroll.push(`${name(el)} ${content} px in a ${box} px box: "${text(el, 60)}"`);
    }
    for (const el of article.querySelectorAll('div.output.stderr')) out.stderr.push(`"${text(el, 100)}"`);
    // Widgets: each widget-view script (rendered or not), and rendered views without one (hand-made).
    const state = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    let models = {};
    try { models = state ? JSON.parse(state.textContent).state || {} : {}; } catch (e) { models = {}; }
    const kinds = {'widget-hprogress': 'progress bar', 'widget-vprogress': 'progress bar',
                   'widget-dropdown': 'dropdown', 'widget-text': 'text box', 'widget-textarea': 'text area',
                   'widget-button': 'button', 'widget-slider': 'slider', 'widget-checkbox': 'checkbox',
                   'widget-toggle-button': 'toggle button', 'widget-radio': 'radio buttons',
                   'widget-select': 'select', 'widget-upload': 'file upload', 'widget-play': 'play button'};
    const describe = (view) => {
      if (!view) return 'not rendered';
      const seen = new Set();
      for (const el of [view, ...view.querySelectorAll('[class*="widget-"]')]) {
        for (const c of el.classList) if (kinds[c]) seen.add(kinds[c]);
      }
      return [[...seen].join(', ') || 'widget', text(view, 60) ? `"${text(view, 60)}"` : ''].join(' ').trim();
    };
    const described = new Set();
    for (const script of article.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
      let modelName = 'widget';
      try { const id = JSON.parse(script.textContent).model_id; modelName = (models[id] || {}).model_name || id; }
      catch (e) { modelName = 'unreadable widget-view'; }
      // the embed manager renders a view just before its script
      const before = script.previousElementSibling;
      const view = before && before.matches('.widget-subarea, .jupyter-widgets') ? before : null;
      if (view) described.add(view);
      out.widgets.push(`${modelName}: ${describe(view)}`);
    }
    for (const view of article.querySelectorAll('.widget-subarea, .jupyter-widgets')) {
      if ([...described].some((d) => d.contains(view))) continue;
      if (view.parentElement.closest('.widget-subarea, .jupyter-widgets')) continue;  // only the outermost
      described.add(view);
      out.widgets.push(`rendered view: ${describe(view)}`);
    }
  }
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) out.broken.push(img.getAttribute('src') || img.src);
  }
  return out;
}
"""


def check_pages(pages: list[Path], html: Path, chromium: str | None = None,
                viewport: dict[str, int] | None = None) -> list[PageReport]:
    """Open each of ``pages`` (files under ``html``) and report; see the module docstring."""
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("Chromium not found on PATH (chromium, chromium-browser, google-chrome); "
                           "Debian: apt-get install chromium")
    reports = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport=viewport or VIEWPORT)
            blocked: list[str] = []

            def offline(route) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            for path in pages:
                blocked.clear()
                report = PageReport(path.resolve().relative_to(html.resolve()).as_posix())
                redirect = REDIRECT.search(path.read_text(encoding="utf-8", errors="replace")[:2000])
                if redirect:  # Jupyter Book's index.html: the page it points to is checked on its own
                    report.notes.append(f"redirects to {redirect.group(1).strip()}")
                    reports.append(report)
                    continue
                page.goto(path.resolve().as_uri(), wait_until="load", timeout=60_000)
                if not page.evaluate(SETTLE_JS, [SETTLE_MS, SETTLE_MAX_MS]):
                    report.notes.append(f"still changing {SETTLE_MAX_MS // 1000} s after loading")
                found = page.evaluate(PROBE_JS)
                report.article_width = found["articleWidth"]
                report.scroll, report.stderr = found["scroll"], found["stderr"]
                report.broken_images, report.widgets = found["broken"], found["widgets"]
                report.notes += [f"network request blocked: {url}" for url in dict.fromkeys(blocked)]
                reports.append(report)
        finally:
            browser.close()
    return reports


def check_book(html: Path, chromium: str | None = None) -> list[PageReport]:
    """Every page of the book built into ``html`` (``_build/html``), one :class:`PageReport` each."""
    html = Path(html)
    pages = book_pages(html)
    if not pages:
        raise FileNotFoundError(f"no pages under {html}: build the book first (make book)")
    return check_pages(pages, html, chromium)


def format_table(reports: list[PageReport], notes: bool = True) -> str:
    """A plain-text table: one row per page and problem (``ok`` for a clean page)."""
    width = max([len("page")] + [len(r.page) for r in reports])
    lines = [f"{'page':<{width}}  problems", f"{'-' * width}  {'-' * 8}"]
    for r in reports:
        rows = r.problems or ["ok"]
        if notes:
            rows += [f"(note) {n}" for n in r.notes]
        lines += [f"{r.page if i == 0 else '':<{width}}  {row}" for i, row in enumerate(rows)]
    bad = [r for r in reports if not r.ok]
    lines.append(f"{len(bad)} of {len(reports)} pages have problems"
                 + (f" ({sum(len(r.problems) for r in bad)} in all)" if bad else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.browser_check", description=__doc__.split("\n")[0])
    parser.add_argument("html", type=Path, help="the built book's html folder (_build/html)")
    parser.add_argument("--chromium", help="the Chromium executable (default: found on PATH)")
    args = parser.parse_args(argv)
    try:
        reports = check_book(args.html, args.chromium)
    except ImportError:
        print("playwright is not installed: pip install -e '.[dev]' (its browser download is not needed)",
              file=sys.stderr)
        return 2
    except (RuntimeError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 2
    print(format_table(reports))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
