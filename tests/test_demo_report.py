"""The one-command demo with its HTML report, checked in a real headless browser when one is
installed (Debian's chromium; .ci/run installs it)."""
import os
import re
import shutil
import struct
import subprocess

import pytest

from pyfast_nlp.cli import main


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


@pytest.mark.end_to_end
def test_quick_demo_writes_only_into_out(report_dir, tmp_path, monkeypatch, capsys):
    names = sorted(os.listdir(report_dir))
    assert names == ["glove_pca.png", "gradient_flow.png", "quote_unit.png", "report.html"]
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "Gradient flow through time" in page and "tanh(2*x3 + 3*tanh(" in page
    # the study notes' GloVe-or-word2vec comparison, in small: a row per model, answers counted
    assert "pair analogies right" in page and "word2vec skip-gram" in page and "word2vec CBOW" in page
    assert re.search(r"<td>\d+/\d+</td>", page)
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    # the demo writes nothing in the working directory
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "o"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["o"]


def test_unwritable_out_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["demo", "--quick", "--out", str(blocker / "sub")]) == 2
    assert "output folder" in capsys.readouterr().err


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.end_to_end
def test_report_renders_in_a_headless_browser(report_dir, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no headless chromium installed (.ci/run installs Debian's chromium)")
    url = (report_dir / "report.html").as_uri()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
              "--virtual-time-budget=5000"]
    # The browser is not ours: keep a sanitizer runtime preloaded for our tests (.ci/run) out of it.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120, env=env)
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'data-images="(\d+)" data-images-ok="(\d+)"', dom.stdout)
    assert m, "the page's load script did not run"
    assert m.group(1) == m.group(2) == "3", f"{m.group(2)} of {m.group(1)} images decoded"
    assert "Uncaught" not in dom.stderr
    shot = tmp_path / "screenshot.png"
    res = subprocess.run(common + [f"--screenshot={shot}", "--window-size=1200,2400", url], capture_output=True, env=env,
                         text=True, timeout=120)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    w, h = _png_size(shot)
    assert (w, h) == (1200, 2400)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
