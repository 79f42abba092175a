"""Report tables: model text is inert and shown literally in HTML and Markdown."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from molting.display import Bullets, Table, escape_html, escape_markdown, fenced_code, summary_markdown
from molting.report import ParamsBlock

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


QUESTIONS = [f"q{i}" for i in range(8)]


def answers(model: str, agent_like: int = 0, truncated: int = 0, factual: float = 1.0, rules: tuple = (),
            detector_only: int = 0, samples: int = 2) -> list[dict]:
    """Scored answer rows: the first `agent_like` questions agent-like (library), the first `truncated` cut off."""
    from molting.evaluate import ScoreWeights, answer_score

    rows = []
    for decoding, n in (("greedy", 1), ("sampled", samples)):
        for sample in range(n):
            for i, qid in enumerate(QUESTIONS):
                library = i < agent_like
                detector = library or i < detector_only
                v = {"agent_like": float(library), "agent_like_rules": list(rules) if library else [],
                     "agent_like_detector": float(detector), "detector_probability": 0.9 if detector else 0.1,
                     "agent_like_either": float(library or detector), "factual": factual, "facts_found": [],
                     "facts_missing": [] if factual == 1 else ["x"], "contradicted": 0.0, "contradicted_found": [],
                     "forbidden": 0.0, "forbidden_found": [], "truncated": float(i < truncated), "distinct_2": 1.0,
                     "in_character": 1.0, "persona_similarity": 0.5, "on_topic": 1.0, "relevance": 0.5,
                     "in_voice": float(not (library or detector)), "empty": 0.0}
                rows.append({"model": model, "question_id": qid, "prompt": qid, "category": "facts", "suite": "s",
                             "decoding": decoding, "sample": sample, "text": f"answer {qid}", "truncated": i < truncated,
                             "verdict": v, "score": round(answer_score(v, ScoreWeights()), 4)})
    return rows


def fake_run(tuned: list[dict], held: list[float], removed: dict, curation_enabled: bool = True, version: str = "v9",
             base: list[dict] | None = None, train_loss: tuple = (1.0, 1.0, 1.0)) -> dict:
    from molting.evaluate import ScoreWeights, aggregate, compare, score_formula

    base = base or answers("base", agent_like=6, truncated=8, factual=0.0)
    models = {"base": aggregate(base, 200, 0), "tuned": aggregate(tuned, 200, 0)}
    for label in models:
        models[label]["test_perplexity"] = 30.0 if label == "base" else 12.0
        models[label]["heldout_perplexity"] = 31.0 if label == "base" else 11.0
    return {"version": version, "params": {"eval": {"max_new_tokens": 96}, "curate": {"duplicate_fraction": 0}, "seed": 42},
            "eval": {"models": models, "target_score": 8.5, "weights": ScoreWeights().__dict__,
                     "score_formula": score_formula(ScoreWeights()), "config": {"bootstrap": 200, "seed": 0},
                     "tuned_vs_base": compare(models["base"], models["tuned"], 200, 0)},
            "train": {"heldout_loss": [{"epoch": i + 1, "loss": v, "step": i} for i, v in enumerate(held)],
                      "train_loss": [{"step": i, "loss": v} for i, v in enumerate(train_loss)],
                      "quantization": "none", "quantization_requested": "auto", "epochs_run": 2, "wall_time_s": 60,
                      "device_name": "cpu", "peak_memory_mb": 1000, "bf16": False},
            "curation": {"counts": {"train": 500, "raw": 600, "kept": 520, "heldout": 20}, "removed_by_rule": removed,
                         "curation_enabled": curation_enabled},
            "answers": base + tuned}


def test_next_step_rules_fire_on_their_figures():
    from molting.advice import gap_rows, next_steps

    run = fake_run(answers("tuned", agent_like=2, truncated=4, rules=("as_an_ai", "great_question"), detector_only=3),
                   held=[2.0, 1.8, 1.9, 2.1], removed={"as_an_ai": 20})
    steps = " | ".join(next_steps(run))
    assert "Truncation: 8/16 answers hit max_new_tokens (96)" in steps and "to 144" in steps
    assert "Overfitting: held-out loss rose from 1.800 (evaluation 2) to 2.100" in steps and "held-out evaluation 2" in steps
    assert "as_an_ai (20 removed)" in steps and "removed nothing for great_question" in steps
    assert "6 of 24 tuned answers match the pattern library, most often as_an_ai (6), great_question (6)." in steps
    many = fake_run(answers("tuned", agent_like=2, rules=tuple(f"rule_{i}" for i in range(7))), held=[2.0, 1.9], removed={})
    line = next(s for s in next_steps(many) if s.startswith("Agent-like answers remain"))
    assert "rule_0 (6), rule_1 (6), rule_2 (6), rule_3 (6), rule_4 (6) and 2 more." in line and "rule_5" not in line
    assert "The detector flags 2 answers the pattern library passes" in steps
    lost = {r["metric"]: r["points lost"] for r in gap_rows(run)}
    # 3 of 8 questions agent-like (either detector): 3/8 x 3 points of penalty, 3/8 x 5 points of voice credit missed
    assert lost["penalty: agent-like"] == pytest.approx(1.12, abs=0.01) and lost["credit missed: in voice"] == pytest.approx(1.88, abs=0.01)
    assert lost["penalty: truncated"] == 1.0
    total = sum(v for k, v in lost.items() if k != "gap to target")
    assert total == pytest.approx(10 - run["eval"]["models"]["tuned"]["score"]["mean"], abs=0.02)   # the table adds up
    quiet = fake_run(answers("tuned"), held=[2.0, 1.9, 1.8], removed={})
    assert next_steps(quiet) == ["No rule fired: every metric is within its target."]
    flat = fake_run(answers("tuned", factual=0.5), held=[3.2, 3.1, 3.05], removed={}, train_loss=(3.1, 3.0, 3.0))
    first = next_steps(flat)[0]       # underfitting costs the fact points, so it leads the list
    assert first.startswith("Underfitting: train loss 3.033 still high") and "still falling at the end (3.100 -> 3.050)" in first
    off = fake_run(answers("tuned", agent_like=4, rules=("as_an_ai",)), held=[1.0], removed={}, curation_enabled=False)
    assert "Curation was off" in " ".join(next_steps(off))
    marked = fake_run(answers("tuned"), held=[2.0, 1.9, 1.8], removed={})
    marked["curation"]["review"] = {"marked": 60, "ids": []}          # 60 of 520 kept chats: more than a tenth
    assert "The detector marks 60 of the 520 kept chats" in " ".join(next_steps(marked))
    marked["params"]["curate"]["detector_drops"] = True                # already dropping: nothing to suggest
    assert next_steps(marked) == ["No rule fired: every metric is within its target."]
    marked["params"]["curate"]["detector_drops"] = False
    marked["curation"]["review"]["marked"] = 30                        # under a tenth: a person reads them, no rule
    assert next_steps(marked) == ["No rule fired: every metric is within its target."]


def test_the_facts_advice_names_the_rare_facts():
    from molting.advice import next_steps

    run = fake_run(answers("tuned", factual=0.25), held=[2.0, 1.9, 1.8], removed={})
    plain = " | ".join(next_steps(run))
    assert "Facts: factual accuracy is 25%" in plain and "Check that the training data states them often" in plain
    assert "Or train longer (train.max_steps), while the held-out loss keeps falling." in plain
    rising = fake_run(answers("tuned", factual=0.25), held=[2.0, 1.8, 2.1], removed={})   # held-out loss turned up
    facts = next(s for s in next_steps(rising) if s.startswith("Facts:"))
    assert "Training longer will not add them: the held-out loss already rose" in facts and "train longer" not in facts
    run["eval"]["fact_coverage"] = {"chats": 500, "rare_below": 10,
                                    "questions": {"q0": {"stated_in": 3, "per_fact": {}}, "q1": {"stated_in": 50, "per_fact": {}}}}
    steps = " | ".join(next_steps(run))
    assert ("1 of 2 facts questions have their facts in fewer than 10 of the 500 training chats (q0 (3))" in steps
            and "add in-voice chats that state them" in steps and "a few dozen per fact rather than a handful" in steps)


def test_phase_table_shows_the_greedy_factual_rate_also_for_runs_evaluated_before_it_was_recorded():
    from molting.report import phase_table

    run = fake_run(answers("tuned", factual=0.5), held=[2.0, 1.9], removed={})
    run["params"]["description"] = "d"
    assert run["eval"]["models"]["tuned"]["factual_greedy"] == {"mean": 0.5, "n": 8, "per_question": {q: 0.5 for q in QUESTIONS}}
    assert phase_table([run]).rows[0]["factual (greedy)"] == "50%"
    del run["eval"]["models"]["tuned"]["factual_greedy"]                 # an older eval.json: from answers.jsonl
    for r in run["answers"]:
        if r["model"] == "tuned" and r["decoding"] == "greedy" and r["question_id"] in ("q0", "q1"):
            r["verdict"]["factual"] = 1.0
    assert phase_table([run]).rows[0]["factual (greedy)"] == "62%"        # (2 x 1.0 + 6 x 0.5) / 8
    run["answers"] = []
    assert phase_table([run]).rows[0]["factual (greedy)"] == "n/a"


def test_results_table_fills_the_base_column_and_shows_the_paired_p():
    from molting.report import results_table, summary_lines, training_table

    run = fake_run(answers("tuned", agent_like=1), held=[1.0], removed={})
    run["eval"]["judge"] = {"base": {"mean_score": 3.0}, "tuned": {"mean_score": 7.0}}
    table = results_table(run)
    rows = {r["metric"]: r for r in table.rows}
    assert table.columns == ["metric", "base", "this version", "95% CI", "change vs base (paired)", "p"]
    assert rows["Agent-like (pattern library)"]["base"] == "12/16" and rows["Agent-like (pattern library)"]["this version"] == "2/16"
    assert rows["Truncated"]["base"] == "16/16" and rows["Score /10"]["base"] == "0.8"   # 2 of 8 in voice, no facts, truncated: 5 - 2 = 3 points each
    assert all(r["base"] not in (None, "") for r in table.rows)                     # the base column is never empty
    assert rows["Agent-like (pattern library)"]["p"]                                # a p-value, from the paired test
    assert rows["Perplexity, shared test chats"]["base"] == "30"
    previous = fake_run(answers("tuned", agent_like=1), held=[1.0], removed={}, version="v8")
    against = results_table(run, previous)
    assert "v8 (tuned)" in against.columns and {r["metric"]: r for r in against.rows}["Score /10"]["p"].endswith("(within noise)")
    run["train"].update(device="cpu", epochs_planned=2, stopped_early=False, tokens_per_s=100, peak_memory_kind="RSS",
                        final_train_loss=1.0, best_heldout_loss=1.0, trainable_params=1, total_params=2)
    text = " ".join(summary_lines(run)) + str(training_table(run).rows)
    assert "none quantization" not in text and "no quantization (plain LoRA)" in text


def test_phase_comparison_is_paired_with_p_values():
    from molting.report import phase_comparisons, phase_summary_lines

    first = fake_run(answers("tuned", agent_like=8), held=[1.0], removed={}, version="v1")
    second = fake_run(answers("tuned", agent_like=0), held=[1.0], removed={}, version="v2")
    rows = {r["metric"]: r for r in phase_comparisons([first, second])}
    agent = rows["Agent-like (pattern library)"]
    assert agent["versions"] == "v2 vs v1" and agent["questions"] == 8 and agent["change [95% CI]"].startswith("-1.00")
    assert agent["p (paired permutation)"] == "0.00781"                 # exact: 2 of 2**8 sign flips
    assert agent["McNemar p (greedy)"] == "0.00781"                     # 8 discordant pairs, all one way
    lines = " ".join(phase_summary_lines("p", [first, second]))
    assert "paired on 8 questions" in lines and "change +8.0 [8.0, 8.0], p = 0.00781 (paired on 8 questions)" in lines
    assert lines.count("One training seed per arm") == 1            # said once, by the verdict
    assert "- Verdict: " not in " ".join(phase_summary_lines("p", [first, second], verdict=False))


def test_git_commit_marks_code_changes_but_not_rendered_reports(tmp_path):
    import subprocess

    from molting.report import git_commit

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "reports" / "v1").mkdir(parents=True)
    (tmp_path / "reports" / "v1" / "report.md").write_text("old\n")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "x")
    assert not git_commit(tmp_path).endswith("+changes")
    (tmp_path / "reports" / "v1" / "report.md").write_text("re-rendered\n")   # the run's own output
    assert not git_commit(tmp_path).endswith("+changes")
    (tmp_path / "params.yaml").write_text("a: 2\n")
    assert git_commit(tmp_path).endswith("+changes")
