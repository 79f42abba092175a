"""Report tables: model text is inert in HTML and Markdown."""

from __future__ import annotations

from molting.report import Table, escape_html, escape_markdown

NASTY = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) a|b **bold**"


def test_html_escaping_leaves_no_live_markup():
    out = escape_html(NASTY)
    assert "<script>" not in out and "<img" not in out and "&lt;script&gt;" in out


def test_markdown_escaping_breaks_links_tables_and_html():
    out = escape_markdown(NASTY)
    assert "<script>" not in out and "<img" not in out
    assert "[x](javascript:" not in out and "\\[x\\]" in out
    assert "a\\|b" in out and "\\*\\*bold\\*\\*" in out
    assert escape_markdown("it's a (fine) day #1") == "it's a (fine) day #1"   # plain text stays readable


def test_table_renders_both_ways():
    table = Table([{"answer": NASTY, "n": 1.23456}], caption="c")
    html, md = table._repr_html_(), table._repr_markdown_()
    assert "<td>&lt;script&gt;" in html and "1.235" in md and md.count("\n|") == 3


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
