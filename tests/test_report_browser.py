"""The evaluation report as a reader sees it: rendered by a real headless Chromium, offline.

A probe script is added to a copy of report.html; after the page loads it measures the
layout and writes what it found into the DOM, which ``chromium --dump-dom`` prints. The
checks: the headline table lies within the first screen, every image loaded and fits the
page without being squeezed, nothing scrolls sideways, and nothing logged an error.
"""

import json
import re
import shutil
import subprocess

import pytest

from tests.test_evaluate import report  # noqa: F401  (the module-scoped report fixture)

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
WINDOW = (1280, 800)

PROBE_HEAD = """<script>window.__errors=[];
window.addEventListener('error',function(e){window.__errors.push(String(e.message||(e.target&&e.target.src)||e))},true);
var __ce=console.error;console.error=function(){window.__errors.push(Array.from(arguments).join(' '));__ce.apply(console,arguments)};
</script>"""
PROBE_BODY = """<script>window.addEventListener('load',function(){
var h=document.getElementById('headline'), r=h?h.getBoundingClientRect():null;
var e=document.getElementById('cross-era'), er=e?e.getBoundingClientRect():null;
var imgs=Array.from(document.images).map(function(i){var b=i.getBoundingClientRect();
 return {w:i.naturalWidth,h:i.naturalHeight,shown:b.width,complete:i.complete,jpeg:i.src.indexOf('image/jpeg')>0}});
var out={headline_top:r&&r.top,headline_bottom:r&&r.bottom,headline_rows:h?h.rows.length:0,
 cross_era_top:er&&er.top,screen_h:innerHeight,screen_w:innerWidth,
 scroll_w:document.documentElement.scrollWidth,body_w:document.body.clientWidth,
 gallery:document.querySelectorAll('#gallery .card').length,imgs:imgs,errors:window.__errors};
var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(out);document.body.appendChild(p);});
</script>"""


def rendered(html_path, tmp_path):
    """Probe results of ``html_path`` as rendered by headless Chromium (no network)."""
    html = open(html_path, encoding="utf-8").read()
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_BODY + "</body>", 1),
                     encoding="utf-8")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, re.S)
    assert found, f"no probe output from chromium (exit {out.returncode}): {out.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium); "
                                              "the rendered report cannot be checked")
def test_report_renders_with_its_answer_on_the_first_screen(report, tmp_path):  # noqa: F811
    result, html_path, _ = report
    probe = rendered(html_path, tmp_path)
    assert probe["errors"] == []
    # the answer: best model per input kind beside its constant, within the first screen
    assert probe["headline_rows"] >= 2
    assert 0 <= probe["headline_top"] and probe["headline_bottom"] <= probe["screen_h"], probe
    assert probe["cross_era_top"] is not None and probe["cross_era_top"] < probe["screen_h"], probe
    # every image loaded and fits; figures are shown at their own size (not squeezed)
    assert probe["imgs"] and all(i["complete"] and i["w"] > 0 for i in probe["imgs"])
    assert all(i["shown"] <= probe["body_w"] + 1 for i in probe["imgs"])
    figures = [i for i in probe["imgs"] if not i["jpeg"]]
    assert all(i["w"] <= 1100 and abs(i["shown"] - i["w"]) <= 1 for i in figures), figures
    assert probe["scroll_w"] <= probe["screen_w"]
    # the gallery shows embedded poster thumbnails, right and wrong answers
    thumbs = [i for i in probe["imgs"] if i["jpeg"]]
    assert probe["gallery"] >= 4 and len(thumbs) == probe["gallery"]
    assert all(i["w"] <= 92 and i["h"] <= 138 for i in thumbs)
