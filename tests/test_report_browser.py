"""The report and the leaderboard opened in headless Chromium (Debian's `chromium`, installed by
`make test`): checks run on the DOM after the page's JavaScript ran, and on a screenshot.

Without Chromium these tests fail, unless DEEPLENSE_ALLOW_SKIP_BROWSER=1 allows a skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
)

# Injected into a copy of the Snakemake report: once the app has rendered, record what it holds
# (the rendered menu, categories, results, their captions, the rows of the embedded leaderboard, each embedded PNG's
# size from its header), then show the leaderboard (or, with #figure, a ROC figure) for the
# screenshot. Synchronous on purpose: --dump-dom does not wait for promises (fetch, decode).
REPORT_PROBE = """
<script>
function deeplenseBytes(uri) {
  var b64 = uri.slice(uri.indexOf(',') + 1);
  return Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
}
window.addEventListener('load', function () {
  setTimeout(function () {
    var probe = {categories: {}, results: {}, images: {}, leaderboard: []};
    probe.menu = Array.from(document.querySelectorAll('nav span')).map(s => s.textContent);  // as rendered
    for (var [cat, subcats] of Object.entries(categories)) { probe.categories[cat] = Object.keys(subcats); }
    for (var [path, r] of Object.entries(results)) { probe.results[path] = {caption: r.caption || '', labels: r.labels || {}}; }
    var paths = Object.keys(results);
    paths.filter(p => p.endsWith('.png')).forEach(function (path) {
      var b = deeplenseBytes(results[path].data_uri), v = new DataView(b.buffer);
      var png = b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
      probe.images[path] = png ? [v.getUint32(16), v.getUint32(20)] : [0, 0];
    });
    // the landing page, before the view changes: the summary's rows and the links to the figures
    probe.summary = Array.from(document.querySelectorAll('#summary-leaderboard tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent));
    probe.figure_links = Array.from(document.querySelectorAll('a[href^="javascript:app.setView"]')).map(a => a.textContent.trim());
    var board = paths.find(p => p.endsWith('leaderboard.html'));
    if (board) {
      var text = new TextDecoder().decode(deeplenseBytes(results[board].data_uri));
      var doc = new DOMParser().parseFromString(text, 'text/html');
      probe.leaderboard = Array.from(doc.querySelectorAll('#leaderboard tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent));
    }
    var figure = paths.find(p => p.endsWith('roc.png'));
    if (location.hash === '#figure' && figure) {
      app.setView({navbarMode: 'category', category: 'Evaluation', content: 'img', contentPath: results[figure].data_uri, resultPath: figure});
    } else if (board) {
      app.setView({navbarMode: 'category', category: 'Leaderboard', content: 'html', contentPath: results[board].data_uri, resultPath: board});
    }
    var pre = document.createElement('pre');
    pre.id = 'deeplense-probe';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify(probe);
    document.body.appendChild(pre);
  }, 200);
});
</script>
"""


def chromium_binary() -> str:
    """The Chromium executable; a failure (or, with DEEPLENSE_ALLOW_SKIP_BROWSER=1, a skip) if absent."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "headless Chromium is missing: `make test` installs Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("DEEPLENSE_ALLOW_SKIP_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message)


def run_chromium(url: str, *args: str, timeout: float = 600) -> str:
    """Run headless Chromium on ``url`` with ``args``; returns stdout."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args, url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def dump_dom(page: Path, fragment: str = "") -> str:
    """The page's DOM after its scripts ran."""
    return run_chromium(page.resolve().as_uri() + fragment, "--dump-dom")


def screenshot(page: Path, png: Path, fragment: str = "", size: str = "1400,1000") -> np.ndarray:
    """A screenshot of the page as a (y, x, channel) array."""
    from PIL import Image

    run_chromium(page.resolve().as_uri() + fragment, f"--screenshot={png}", f"--window-size={size}")
    return np.asarray(Image.open(png).convert("RGB"), dtype=float)


def assert_not_blank(pixels: np.ndarray) -> None:
    """Something was drawn (in this region): real contrast and many distinct colours."""
    assert pixels.std() > 10, f"screenshot looks blank (pixel std {pixels.std():.1f})"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def probe_report(report: Path, workdir: Path) -> tuple[dict, str]:
    """Open a probed copy of a Snakemake report: (what the app holds, the rendered DOM)."""
    html = report.read_text()
    at = html.rindex("</body>")
    probed = workdir / "report_probed.html"
    probed.write_text(html[:at] + REPORT_PROBE + html[at:])
    dom = dump_dom(probed)
    found = re.search(r'<pre id="deeplense-probe"[^>]*>(.*?)</pre>', dom, re.S)
    assert found, "the report's JavaScript did not run to the end (no probe in the DOM)"
    import html as html_lib

    return json.loads(html_lib.unescape(found.group(1))), dom


# A leaderboard page's sort, clicked in the browser: the order of the first column after clicking
# the macro-AUC header once (ascending) and twice (descending).
SORT_PROBE = """
<script>
window.addEventListener('load', function () {
  var th = Array.from(document.querySelectorAll('#leaderboard th')).find(h => h.textContent.startsWith('macro AUC'));
  var order = () => Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(tr => tr.cells[0].textContent);
  th.click(); var up = order(); th.click(); var down = order();
  document.body.setAttribute('data-sorted', JSON.stringify({up: up, down: down}));
});
</script>
"""


def test_leaderboard_page_renders_and_sorts(tmp_path):
    from deeplense.report.leaderboard import write_leaderboard
    from tests.records import write_metrics

    files = []
    for name, auc in (("m_low", 0.61), ("m_high", 0.93), ("m_mid", 0.8)):
        files.append(write_metrics(tmp_path / f"{name}.json", {"auc_macro": auc, "accuracy": auc - 0.1}, model=name, n_test=30,
                                   ci={"auc_macro": {"low": auc - 0.05, "high": auc + 0.04}}))
    page = tmp_path / "leaderboard.html"
    write_leaderboard(files, tmp_path / "lb.csv", page)
    probed = tmp_path / "sorted.html"
    probed.write_text(page.read_text().replace("</body>", SORT_PROBE + "</body>"))
    dom = dump_dom(probed)
    import html as html_lib

    sorted_ = json.loads(html_lib.unescape(re.search(r"data-sorted=\"(.*?)\"", dom).group(1)))
    assert sorted_ == {"up": ["m_low", "m_mid", "m_high"], "down": ["m_high", "m_mid", "m_low"]}
    assert "Published DeepLense values (different data, for orientation)" in dom and "0.930 [0.880, 0.970]" in dom
    assert_not_blank(screenshot(page, tmp_path / "leaderboard.png", size="1200,700"))


# Where the headline value column ends, and how wide the page is, in a pane as narrow as the
# Snakemake report's content pane at a 1,400 px browser width (about 1,000 px).
LAYOUT_PROBE = """
<script>
window.addEventListener('load', function () {
  var th = Array.from(document.querySelectorAll('#leaderboard th')).find(h => h.textContent.startsWith('value'));
  document.body.setAttribute('data-layout', JSON.stringify({
    value_right: th.getBoundingClientRect().right, width: window.innerWidth, page_width: document.documentElement.scrollWidth}));
});
</script>
"""


def test_leaderboard_headline_stays_in_view_in_a_narrow_pane(tmp_path):
    """Many metric columns and a wide published column: the headline value is still in view, the
    page itself does not scroll sideways (the wide table scrolls in its own box)."""
    from deeplense.report.leaderboard import write_leaderboard
    from tests.records import write_metrics

    files = [write_metrics(tmp_path / "clf.json", {"auc_macro": 0.9, "auc_micro": 0.91, "accuracy": 0.8, "auc_per_class": {c: 0.9 for c in "abcdef"}},
                           model="a_model_with_a_long_name", provenance={"dataset_preset": "deeplense_model_i"},
                           ci={k: {"low": 0.8, "high": 0.95} for k in ("auc_macro", "auc_micro", "accuracy")}),
             write_metrics(tmp_path / "mass.json", {"mae": 6.3e9, "rmse": 8e9, "r2": 0.91, "bias": -1.3e9, "baseline_mae": 2.2e10,
                                                    "baseline_r2": -0.004, "target_units": {"m": "Msun"}},
                           model="mass", task="regression", ci={k: {"low": 4.7e9, "high": 7.9e9} for k in ("mae", "rmse")})]
    page = tmp_path / "leaderboard.html"
    write_leaderboard(files, tmp_path / "lb.csv", page)
    probed = tmp_path / "layout.html"
    probed.write_text(page.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    import html as html_lib

    dom = run_chromium(probed.resolve().as_uri(), "--dump-dom", "--window-size=1000,700")
    layout = json.loads(html_lib.unescape(re.search(r"data-layout=\"(.*?)\"", dom).group(1)))
    assert layout["value_right"] <= layout["width"], layout
    assert layout["page_width"] <= layout["width"], layout
    assert "6.30 [4.70, 7.90] × 10⁹ M☉" in dom
