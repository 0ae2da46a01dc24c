"""The report as a reviewer's browser shows it: headless Chromium at 1280x900, network off.
The first screen holds the answer; every figure (the appendix's opened) is displayed at no
less than 75% of its natural size, so its text stays legible at 100% zoom. Skipped only when
Chromium is absent (`scripts/install-browser` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from bayes_btc.output.redraw import rebuild_report
from tests.conftest import committed_copy

ROOT = Path(__file__).parents[1]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
MIN_SCALE = 0.75  # displayed / natural width of every figure
pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium not installed")

MEASURE = """<script>
document.querySelectorAll('details').forEach(d => d.open = true);
const imgs = [...document.images].map(i => ({alt: i.alt, natural: i.naturalWidth,
  shown: i.getBoundingClientRect().width}));
const answer = [...document.querySelectorAll('h2')].find(h => h.textContent === 'The answer');
const first = document.querySelector('p.answer');
const out = document.createElement('pre'); out.id = 'measure';
out.textContent = JSON.stringify({imgs, width: document.documentElement.clientWidth,
  answerTop: answer ? answer.getBoundingClientRect().top : -1,
  firstAnswerTop: first ? first.getBoundingClientRect().top : -1,
  text: document.body.innerText.length});
document.body.appendChild(out);
</script>"""


def _chromium(*args: str, profile: Path) -> str:
    cmd = [
        BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}", "--hide-scrollbars",
        "--window-size=1280,900", *args,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    return done.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = committed_copy(tmp_path_factory, "browser")
    rebuild_report(out)
    return out


def test_first_screen_and_figure_sizes(rendered, tmp_path):
    page = (rendered / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"))
    dom = _chromium(
        "--virtual-time-budget=20000", "--dump-dom", probe.as_uri(), profile=tmp_path / "p1"
    )
    found = re.search(r"<pre id=\"measure\">(.*?)</pre>", dom, re.S)
    assert found, "Chromium did not run the measuring script"
    m = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert m["width"] <= 1280 and m["text"] > 2000
    assert 0 <= m["answerTop"] < 900 and 0 <= m["firstAnswerTop"] < 900  # first screen
    index = json.loads((rendered / "figures" / "index.json").read_text())
    assert len(m["imgs"]) == len(index)
    small = {
        i["alt"]: round(i["shown"] / i["natural"], 2)
        for i in m["imgs"]
        if i["natural"] == 0 or i["shown"] < MIN_SCALE * i["natural"]
    }
    assert not small, f"figures shown below {MIN_SCALE:.0%} of natural size: {small}"


def test_screenshot_of_the_first_screen(rendered, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["sh", str(ROOT / "scripts" / "render-report"), str(rendered), str(shot), "900"],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    img = mpimg.imread(shot)
    assert img.shape[:2] == (900, 1280)
    assert img[..., :3].std() > 0.05  # text and colour, not a blank page
