"""The rendered reports as readers get them: report.html in headless Chromium with the network blocked,
and report.md (version and phase) through a GitHub-flavoured Markdown parser. One tiny run serves all."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from molting.evaluate import side_by_side
from molting.runs import RunPaths, read_json, read_jsonl

from conftest import ATTACK, LITERAL, cell_text, gfm_tables

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# every host name resolves to nothing, so no request can leave the machine; the net log records what was asked
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                                              "`make test` installs it where it can")

CSP_META = re.compile(r"<meta[^>]*Content-Security-Policy[^>]*>")
# what a script the report should never have would do: fetch something and leave a mark in the DOM
PROBE = ('<img src="http://molting-probe.invalid/pixel.png" alt="">'
         "<script>document.body.dataset.probe = [...new Set([...document.querySelectorAll("
         "'table.molting td, table.molting th')].map(cell => getComputedStyle(cell).textAlign))].join(',') || 'none'"
         "</script>")
SECTIONS = ("Key results", "Metrics", "Gap analysis", "Next steps", "Curation funnel", "Training",
            "Answers side by side", "Resolved params")


@pytest.fixture
def rendered(finished_tiny) -> Path:
    """The session's finished tiny run (see conftest): answers with markup and Markdown/math lookalikes, its
    re-rendered report and the one-version phase report `phase-t`."""
    return finished_tiny.root


def chromium(page: Path, profile: Path, *args: str) -> tuple[str, list[str]]:
    """The page's DOM after loading, and the URLs the page asked the network for."""
    netlog = profile.with_suffix(".netlog.json")
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={netlog}", *args,
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    return dom, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs of network requests the page started (the browser's own background requests have no origin);
    fails if any connection was opened at all, by the page or the browser."""
    log = json.loads(netlog.read_text())
    types = log["constants"]["logEventTypes"]
    assert not [event for event in log["events"] if event["type"] == types["TCP_CONNECT"]], "a connection was opened"
    return [event["params"]["url"] for event in log["events"]
            if event["type"] == types["URL_REQUEST_START_JOB"] and "url" in event.get("params", {})
            and event["params"].get("initiator") != "not an origin"]


def expected_answers(root: Path) -> dict[str, dict[str, str]]:
    """What the answers tables must show: per question, base and tuned text exactly as in answers.jsonl."""
    rows = side_by_side(read_jsonl(RunPaths(root, "tiny").answers_jsonl))
    return {r["question"]: {"base": r["base_answer"].replace("\r\n", "\n"), "tuned": r["tuned_answer"].replace("\r\n", "\n")}
            for r in rows}


def shown_answers(rows: list[dict[str, str]], base: str, tuned: str) -> dict[str, dict[str, str]]:
    """The same, from the rows of an answers table as shown (its base and tuned columns named)."""
    return {r["question"]: {"base": r[base], "tuned": r[tuned]} for r in rows}


@needs_chromium
def test_report_is_inert_offline_and_shows_model_text_literally(rendered, tmp_path):
    report = rendered / "reports" / "tiny" / "report.html"
    source = report.read_text()
    assert "<script" not in source and "<link" not in source and "@import" not in source
    policy = BeautifulSoup(source, "html.parser").find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert policy["content"].startswith("default-src 'none'; img-src data:;")

    shot = tmp_path / "report.png"
    dom, requests = chromium(report, tmp_path / "p1", "--window-size=412,2400", f"--screenshot={shot}")
    assert requests == []                                                        # nothing fetched, nothing to fetch
    soup = BeautifulSoup(dom, "html.parser")
    assert soup.title.get_text() == "Molting report tiny" and not soup.body.has_attr("data-pwned")
    text = soup.get_text()
    for section in SECTIONS:
        assert section in text, section
    table = next(t for t in soup.find_all("table", class_="molting") if t.find("th", string="tuned_answer"))
    headers = [cell_text(th) for th in table.find_all("th")]
    rows = [dict(zip(headers, map(cell_text, tr.find_all("td")))) for tr in table.tbody.find_all("tr")]
    assert shown_answers(rows, "base_answer", "tuned_answer") == expected_answers(rendered)   # $3 ... $5, \(x\), *stars*
    assert ATTACK in text and LITERAL.replace("\r\n", "\n") in [r["base_answer"] for r in rows]
    assert shot.is_file() and shot.stat().st_size > 10_000                       # a phone-width page was drawn


@needs_chromium
def test_a_script_slipped_into_the_report_stays_inert(rendered, tmp_path):
    """The Content-Security-Policy is the backstop: an injected script neither runs nor fetches. Without it
    the same probe runs and fetches, which shows that both checks can see a script and a request."""
    source = (rendered / "reports" / "tiny" / "report.html").read_text()
    guarded, bare = tmp_path / "guarded.html", tmp_path / "bare.html"
    guarded.write_text(source.replace("</body>", PROBE + "</body>"))
    bare.write_text(CSP_META.sub("", source).replace("</body>", PROBE + "</body>"))

    dom, requests = chromium(guarded, tmp_path / "p1")
    assert requests == [] and not BeautifulSoup(dom, "html.parser").body.has_attr("data-probe")
    dom, requests = chromium(bare, tmp_path / "p2")
    assert requests == ["http://molting-probe.invalid/pixel.png"]
    assert BeautifulSoup(dom, "html.parser").body["data-probe"] == "left"        # every table cell is left-aligned


@pytest.mark.parametrize("name, base, tuned", [("tiny", "base_answer", "tuned_answer"), ("phase-t", "base", "tiny")])
def test_markdown_report_reads_as_github_flavoured_markdown(rendered, name, base, tuned):
    folder = rendered / "reports" / name
    md = (folder / "report.md").read_text()
    assert not re.search(r"(?<!\\)&(#\d+|#x[0-9a-f]+|[a-z]+);", md, re.I)         # no entities (a model's own is \&)
    assert "\n\n\n" not in md and not re.search(r"^[ \t]+$", md, re.M)           # one blank line between blocks
    tables = gfm_tables(md)
    answers = next(t for t in tables if t and tuned in t[0] and base in t[0])   # the phase's facts table has a column per version too
    assert shown_answers(answers, base, tuned) == {q: {k: v.strip() for k, v in row.items()}   # GFM trims cells
                                                   for q, row in expected_answers(rendered).items()}
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(figures) >= 2
    for link in figures:
        assert not re.match(r"[a-z]+:|/", link) and (folder / link).is_file(), link   # relative, beside the report
    if name == "tiny":
        funnel = read_json(RunPaths(rendered, "tiny").curation_json)["funnel"]
        shown = next(t for t in tables if t and "remaining" in t[0])
        assert shown == [{k: str(v) for k, v in step.items()} for step in funnel]
