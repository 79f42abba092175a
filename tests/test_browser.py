"""The rendered report in a real browser (headless Chromium): key sections visible, no injected script ran."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from molting import runner
from molting.runs import RunPaths, read_jsonl, write_jsonl

from conftest import make_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                                          "`make test` installs it where it can")

ATTACK = ("<script>document.title='PWNED'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
          " [click](javascript:document.title='PWNED')")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_in_headless_chromium(tmp_path, tiny_model_dir):
    root = make_project(tmp_path / "project", tiny_model_dir)
    runner.run_version("tiny", root, progress=False, log=lambda _: None)
    paths = RunPaths(root, "tiny")
    answers = read_jsonl(paths.answers_jsonl)
    answers[-1]["text"] = ATTACK
    write_jsonl(paths.answers_jsonl, answers)
    runner.run_version("tiny", root, only="04-report", force=True, progress=False, log=lambda _: None)
    report = root / "reports" / "tiny" / "report.html"

    dom = chromium("--virtual-time-budget=5000", "--dump-dom", report.as_uri(), profile=tmp_path / "p1").stdout
    assert "PWNED" not in re.sub(r"&lt;script&gt;.*?&lt;/script&gt;|javascript:document.title=.PWNED.", "", dom)
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]          # onerror never fired
    assert "<title>PWNED</title>" not in dom
    text = re.sub(r"<[^>]+>", " ", dom)
    for section in ("Key results", "Metrics", "Gap analysis", "Next steps", "Curation funnel", "Training",
                    "Answers side by side", "Resolved params"):
        assert section in text, section
    assert "&lt;script&gt;document.title" in dom                                 # the attack is shown, as text

    shot = tmp_path / "report.png"
    chromium("--window-size=412,2400", f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "p2")
    assert shot.is_file() and shot.stat().st_size > 10_000                       # a phone-width page was drawn
