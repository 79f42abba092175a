"""Report tables: model text is inert and shown literally in HTML and Markdown."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from molting.report import Bullets, ParamsBlock, Table, escape_html, escape_markdown, fenced_code, summary_markdown

from conftest import LITERAL, cell_text, gfm_tables, render_gfm

NASTY = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) a|b **bold**"
BLOCK_STARTS = ["# not a heading", "1. not a list", "> not a quote", "- not a bullet", "+ nor this", "=== nor this"]


def test_html_escaping_leaves_no_live_markup():
    out = escape_html(NASTY)
    assert "<script>" not in out and "<img" not in out and "&lt;script&gt;" in out
    assert escape_html("a\r\nb\rc\nd") == "a<br>b<br>c<br>d"          # one line break each, whatever the ending


@pytest.mark.parametrize("text", [NASTY, LITERAL, "it's a (fine) day #1", "1/8 -> 2/8", "R&D", ""])
def test_markdown_table_cells_read_as_the_text(text):
    table = Table([{"answer": text, "n": 1}])
    md = table._repr_markdown_()
    assert md.count("\n") == 2                                      # one line per row: newlines became <br>
    rendered = render_gfm(md)
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered and "<b>" not in rendered
    assert gfm_tables(md) == [[{"answer": text.replace("\r\n", "\n"), "n": "1"}]]


def test_markdown_escaping_has_no_entities_and_plain_text_stays_readable():
    assert not re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", escape_markdown("1/8 -> 2/8 <a> \"q\" 'q'"))
    assert escape_markdown("1/8 -> 2/8") == "1/8 -> 2/8"
    assert escape_markdown("it's a (fine) day #1") == "it's a (fine) day #1"
    assert escape_markdown("-0.12") == "-0.12"                       # a cell opens no block: no backslash needed
    assert escape_markdown("$3") == "\\$3" and escape_markdown("a|b") == "a\\|b"


def test_bullets_and_summary_keep_block_syntax_literal():
    items = [*BLOCK_STARTS, LITERAL]
    soup = BeautifulSoup(render_gfm(Bullets(items)._repr_markdown_()), "html.parser")
    assert [cell_text(li) for li in soup.find_all("li")] == [i.replace("\r\n", "\n") for i in items]
    assert not soup.find(["h1", "h2", "ol", "blockquote", "hr"])
    summary = summary_markdown(["# v1: a *b* $1", "", "- 1/8 -> 2/8 as_an_ai"])
    soup = BeautifulSoup(render_gfm(summary), "html.parser")
    assert soup.h1.get_text() == "v1: a *b* $1" and soup.li.get_text() == "1/8 -> 2/8 as_an_ai"


def test_params_block_is_verbatim_yaml_in_markdown():
    import yaml

    params = {"description": "x <b> & 'q' -> ``` ```` $3", "eval": {"max_new_tokens": 8}}
    md = ParamsBlock({"params": params})._repr_markdown_()
    assert "&#x27;" not in md and "&lt;" not in md
    code = BeautifulSoup(render_gfm(md), "html.parser").find("code", class_="language-yaml")
    assert yaml.safe_load(code.get_text()) == params
    assert fenced_code("a ```` b").startswith("`````\n")


def test_table_renders_both_ways():
    table = Table([{"answer": NASTY, "n": 1.23456}], caption="c")
    html, md = table._repr_html_(), table._repr_markdown_()
    assert "<td>&lt;script&gt;" in html and "1.235" in md and md.count("\n|") == 3


def test_render_has_no_script_and_one_blank_line_between_blocks(tmp_path):
    """Outputs the report notebooks do not make today (JavaScript, a widget, print, an error) still leave
    no script in the HTML and no run of blank lines in the Markdown."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from molting import runner
    from molting.runs import RunPaths

    table = Table([{"a": LITERAL}])
    outputs = [new_output("display_data", {"application/javascript": "document.title='ran'", "text/plain": "js"}),
               new_output("display_data", {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "text/plain": "w"}),
               new_output("stream", name="stdout", text="printed\n\nafter a blank line\n"),
               new_output("execute_result", {"text/html": table._repr_html_(), "text/markdown": table._repr_markdown_()},
                          execution_count=1),
               new_output("error", ename="ValueError", evalue="bad", traceback=["Traceback", "ValueError: bad"])]
    notebook = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Title\n\ntext"), new_code_cell("x", outputs=outputs)]), notebook)
    out = runner.render_report(RunPaths(tmp_path, "v"), notebook=notebook, target=tmp_path / "report")
    html, md = out["html"].read_text(), out["markdown"].read_text()
    assert "<script" not in html and "document.title" not in html and "left out: the report runs no script" in html
    assert "\n\n\n" not in md
    assert "\n\n    printed\n    \n    after a blank line\n\n" in md and "\n\n    Traceback\n    ValueError: bad\n\n" in md
    assert gfm_tables(md) == [[{"a": LITERAL.replace("\r\n", "\n")}]]


def _agg(**means):
    base = {"agent_like": 0.0, "factual": 1.0, "coherence": 1.0, "forbidden": 0.0, "truncated": 0.0, "distinct_2": 1.0}
    base.update(means)
    out = {m: {"mean": v, "ci95": [v, v], "count": round(v * 8)} for m, v in base.items()}
    out.update(answers=8, questions=8, score={"mean": 9.0, "ci95": [8.5, 9.5]}, heldout_perplexity=10.0)
    return out


def fake_run(tuned: dict, held: list[float], rules: list[str], removed: dict, curation_enabled: bool = True) -> dict:
    answers = [{"model": "tuned", "sample": 0, "question_id": "q", "prompt": "q", "category": "facts", "text": "t",
                "verdict": {"agent_like_rules": rules, "facts_missing": [], "agent_like": 1.0 if rules else 0.0,
                            "forbidden": 0, "truncated": 0, "coherence": 1, "factual": 1}}]
    return {"version": "v9", "params": {"eval": {"max_new_tokens": 96}, "curate": {"duplicate_fraction": 0}},
            "eval": {"models": {"base": _agg(), "tuned": tuned}, "target_score": 8.5,
                     "weights": {"not_agent_like": 0.3, "factual": 0.3, "coherence": 0.15, "not_truncated": 0.1, "no_forbidden": 0.15}},
            "train": {"heldout_loss": [{"epoch": i + 1, "loss": v, "step": i} for i, v in enumerate(held)]},
            "curation": {"counts": {"train": 500}, "removed_by_rule": removed, "curation_enabled": curation_enabled},
            "answers": answers}


def test_next_step_rules_fire_on_their_figures():
    from molting.report import gap_rows, next_steps

    run = fake_run(_agg(truncated=0.5, agent_like=0.25), held=[2.0, 1.8, 1.9, 2.1], rules=["as_an_ai", "great_question"],
                   removed={"as_an_ai": 20})
    steps = " | ".join(next_steps(run))
    assert "Truncation: 4/8 answers hit max_new_tokens (96)" in steps and "to 144" in steps
    assert "Overfitting: held-out loss rose after epoch 2" in steps and "train.epochs: 2" in steps
    assert "as_an_ai (20 removed)" in steps and "removed nothing for great_question" in steps
    assert next_steps(run)[0].startswith("Agent-like")          # the costliest metric comes first
    lost = {r["metric"]: r["points lost"] for r in gap_rows(run)}
    assert lost["not_agent_like"] == 0.75 and lost["not_truncated"] == 0.5
    quiet = fake_run(_agg(), held=[2.0, 1.9, 1.8], rules=[], removed={})
    assert next_steps(quiet) == ["No rule fired: every metric is within its target."]
    off = fake_run(_agg(agent_like=0.5), held=[1.0], rules=["as_an_ai"], removed={}, curation_enabled=False)
    assert "Curation was off" in next_steps(off)[0]
