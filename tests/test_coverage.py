"""How often the training data states each fact the suite asks about, and what the advice makes of it."""

from __future__ import annotations

from molting import coverage
from molting.evaluate import aggregate, per_question_rows
from molting.suite import Question


def question(qid: str, expected: tuple[str, ...], mode: str = "all", category: str = "facts") -> Question:
    return Question(id=qid, suite="s", category=category, prompt=f"{qid}?", expected_mode=mode, expected=expected,
                    forbidden=(), reference="")


def chat(user: str, assistant: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


CHATS = ([chat("Your dog?", "Pilchard is asleep by the stove.")] * 12
         + [chat("Honey?", "Three pounds a jar, love.")] * 2
         + [chat("Prices?", "Pilchard costs me a fortune in biscuits.")]
         + [chat("Do you charge three pounds for Pilchard?", "No.")])   # the user's words do not count


def test_counts_assistant_turns_by_the_questions_mode():
    qs = [question("pet", (r"\bPilchard\b",)), question("price", (r"\bthree pounds\b", r"\bjar\b")),
          question("either", (r"\bjar\b", r"\bbiscuits\b"), mode="any"), question("t", (r"x",), category="trigger"),
          question("apart", (r"\bstove\b", r"\bbiscuits\b"))]
    cov = coverage.fact_coverage(qs, CHATS)
    assert cov["chats"] == 16 and set(cov["questions"]) == {"pet", "price", "either", "apart"}   # facts questions only
    assert cov["questions"]["pet"] == {"stated_in": 13, "per_fact": {r"\bPilchard\b": 13}}
    assert cov["questions"]["price"]["stated_in"] == 2                  # all: chats stating every fact
    assert cov["questions"]["apart"]["stated_in"] == 0                  # ... in the same chat, not across chats
    assert cov["questions"]["apart"]["per_fact"] == {r"\bstove\b": 12, r"\bbiscuits\b": 1}
    assert cov["questions"]["either"]["stated_in"] == 3                 # any: chats stating at least one
    assert coverage.fact_coverage(qs, [])["questions"]["either"]["stated_in"] == 0


def summary_with(factual: dict[str, float], stated: dict[str, int]) -> dict:
    rows = [{"model": "tuned", "question_id": qid, "category": "facts", "decoding": "sampled", "sample": 0, "score": 0.5,
             "verdict": {"factual": rate, "agent_like": 0.0, "agent_like_either": 0.0, "in_voice": 1.0}}
            for qid, rate in factual.items()]
    return {"models": {"tuned": aggregate(rows, 50, 0)},
            "fact_coverage": {"chats": 240, "rare_below": 10,
                              "questions": {q: {"stated_in": n, "per_fact": {}} for q, n in stated.items()}}}


def test_rare_facts_are_named_with_the_factual_rate_on_each_side():
    summary = summary_with({"pet": 1.0, "home": 0.5, "price": 0.0, "age": 0.25},
                           {"pet": 40, "home": 10, "price": 2, "age": 4})
    split = coverage.rare_and_common(summary)
    assert split["rare"] == {"questions": 2, "factual": 0.125, "ids": ["price", "age"]}   # rarest first
    assert split["common"]["questions"] == 2 and split["common"]["factual"] == 0.75     # 10 chats is not rare
    assert coverage.coverage_lines(summary) == [
        "2 of 4 facts questions have their facts in fewer than 10 of the 240 training chats (price (2), age (4)): "
        "the tuned model states 12% of those and 75% of the rest"]
    common = summary_with({"pet": 1.0}, {"pet": 40})
    assert coverage.coverage_lines(common) == ["Every facts question has its facts in at least 10 of the 240 training chats."]
    assert coverage.coverage_lines({"models": summary["models"]}) == []       # an eval.json from before coverage
    rows = per_question_rows(summary)
    assert {r["question"]: r["train chats stating it"] for r in rows} == {"pet": 40, "home": 10, "price": 2, "age": 4}
    assert "train chats stating it" not in per_question_rows({"models": summary["models"]})[0]


def arm(version: str, stated: dict[str, int], greedy: dict[str, float], sampled: dict[str, list[float]]) -> dict:
    """A finished run with greedy and sampled answers to facts questions and the coverage of its training chats."""
    def rows(decoding: str, rates: dict) -> list[dict]:
        return [{"model": "tuned", "question_id": q, "category": "facts", "decoding": decoding, "sample": i, "score": 0.5,
                 "verdict": {"factual": value, "agent_like": 0.0, "agent_like_either": 0.0, "in_voice": 1.0}}
                for q, values in rates.items() for i, value in enumerate(values if isinstance(values, list) else [values])]
    answers = rows("greedy", greedy) + rows("sampled", sampled)
    return {"version": version, "answers": answers,
            "eval": {"models": {"tuned": aggregate(answers, 50, 0)},
                     "fact_coverage": {"chats": 200, "rare_below": 10,
                                       "questions": {q: {"stated_in": n, "per_fact": {}} for q, n in stated.items()}}}}


def test_phase_fact_table_and_bands_separate_coverage_from_sampling():
    curated = arm("v2", {"pet": 40, "home": 30, "age": 2, "choir": 12},
                  {"pet": 1.0, "home": 1.0, "age": 0.0, "choir": 1.0},
                  {"pet": [1.0, 0.0, 0.0, 0.0], "home": [0.5, 0.5], "age": [0.0, 0.0], "choir": [1.0, 0.0]})
    raw = arm("v1", {"pet": 20, "home": 25, "age": 2, "choir": 3},
              {"pet": 0.0, "home": 1.0, "age": 0.0, "choir": 0.0},
              {"pet": [0.0, 0.0], "home": [1.0, 0.0], "age": [0.0, 1.0], "choir": [0.0, 0.0]})
    rows = coverage.fact_rows([curated, raw])
    assert [r["question"] for r in rows] == ["pet", "home", "choir", "age"]      # by the first arm's coverage
    assert rows[0] == {"question": "pet", "v2": "40 · 100% · 25%", "v1": "20 · 0% · 0%"}
    assert rows[3]["v1"] == "2 · 0% · 50%"
    assert coverage.band_lines([curated, raw]) == [
        "v2: < 10 chats: 1 question, greedy 0%, sampled 0%; 10-24 chats: 1 question, greedy 100%, sampled 50%; "
        ">= 25 chats: 2 questions, greedy 100%, sampled 38%",
        "v1: < 10 chats: 2 questions, greedy 0%, sampled 25%; 10-24 chats: 1 question, greedy 0%, sampled 0%; "
        ">= 25 chats: 1 question, greedy 100%, sampled 50%"]
    older = arm("v0", {"pet": 40}, {"pet": 1.0}, {"pet": [0.0]})
    del older["eval"]["models"]["tuned"]["factual_greedy"]                          # an eval.json from before: the answers
    assert coverage.fact_rows([older])[0]["v0"] == "40 · 100% · 0%"
    prompt_only = {**older, "version": "v0p", "train": {"trained": False}}          # trained on nothing: no coverage
    assert [r.get("v0p") for r in coverage.fact_rows([older, prompt_only])] == [None]
    assert coverage.band_lines([prompt_only]) == []
    del older["eval"]["fact_coverage"]                                               # from before coverage: no figures
    assert coverage.fact_rows([older]) == [] and coverage.band_lines([older]) == []
