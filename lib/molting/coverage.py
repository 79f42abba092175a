"""How often the training data states each fact the suite asks about.

A facts question's expected patterns (`expected`) are searched in the assistant turns of the chats a version
trained on, the same way answers are matched (case-insensitive regex). A question whose facts are all needed
(`expected_mode: all`) is as well covered as its rarest fact; one that takes any of them, as the chats stating
at least one. A model cannot be expected to learn a fact from two chats out of two hundred, so the factual
rate is shown beside the coverage, split at RARE_BELOW chats, and the next-step advice names the rare facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from molting.data import assistant_text
from molting.display import pct

RARE_BELOW = 10   # a fact stated in fewer training chats than this is "rare" (a reporting split, not a tuned value)


def fact_coverage(questions: Iterable, chats: list[dict]) -> dict:
    """Per facts question: training chats stating each expected pattern, and the question's coverage."""
    texts = [assistant_text(chat) for chat in chats]
    per_question = {}
    for q in questions:
        if q.category != "facts" or not q.expected:
            continue
        hits = [[bool(re.search(p, t, re.IGNORECASE)) for t in texts] for p in q.expected]
        per_fact = {p: int(sum(h)) for p, h in zip(q.expected, hits)}
        # a chat states the question's fact the way an answer must: every pattern in it ("all") or one of them ("any")
        stated = int((np.all if q.expected_mode == "all" else np.any)(hits, axis=0).sum()) if texts else 0
        per_question[q.id] = {"stated_in": stated, "per_fact": per_fact}
    return {"chats": len(chats), "rare_below": RARE_BELOW, "questions": per_question}


def rare_and_common(summary: dict, label: str = "tuned") -> dict | None:
    """The model's mean factual rate on the questions whose facts are rare in the training data and on the rest."""
    coverage = summary.get("fact_coverage")
    model = summary.get("models", {}).get(label)
    if not coverage or not coverage["questions"] or not model:
        return None
    groups: dict[str, list[tuple[str, float]]] = {"rare": [], "common": []}
    for qid, entry in coverage["questions"].items():
        rate = model["per_question"].get(qid, {}).get("factual")
        if rate is not None:
            groups["rare" if entry["stated_in"] < coverage["rare_below"] else "common"].append((qid, rate))
    out = {"rare_below": coverage["rare_below"], "chats": coverage["chats"]}
    for name, members in groups.items():
        out[name] = {"questions": len(members), "factual": round(float(np.mean([r for _, r in members])), 4) if members else None,
                     "ids": sorted((qid for qid, _ in members), key=lambda q: coverage["questions"][q]["stated_in"])}
    return out


def rare_line(summary: dict, label: str = "tuned", limit: int = 6) -> str | None:
    """How many facts questions are rare in the training data, which, and the model's factual rate on those and
    on the rest; None when none is rare or there are no coverage figures."""
    split = rare_and_common(summary, label)
    if not split or not split["rare"]["questions"]:
        return None
    stated = summary["fact_coverage"]["questions"]
    named = ", ".join(f"{q} ({stated[q]['stated_in']})" for q in split["rare"]["ids"][:limit])
    more = f" and {split['rare']['questions'] - limit} more" if split["rare"]["questions"] > limit else ""
    return (f"{split['rare']['questions']} of {split['rare']['questions'] + split['common']['questions']} facts questions "
            f"have their facts in fewer than {split['rare_below']} of the {split['chats']} training chats ({named}{more}): "
            f"the {label} model states {pct(split['rare']['factual'])} of those and {pct(split['common']['factual'])} "
            f"of the rest")


def coverage_lines(summary: dict, label: str = "tuned", limit: int = 6) -> list[str]:
    """For the notebook: the rare-facts line, a line saying no fact is rare, or nothing without coverage figures."""
    line = rare_line(summary, label, limit)
    if line:
        return [line]
    coverage = summary.get("fact_coverage")
    if not coverage or not coverage["questions"] or not summary.get("models", {}).get(label):
        return []
    return [f"Every facts question has its facts in at least {coverage['rare_below']} of the {coverage['chats']} training chats."]


# Coverage bands for the phase report (a reporting split, not tuned values): rare, some, many training chats.
BANDS = ((0, RARE_BELOW), (RARE_BELOW, 25), (25, None))


def _band_name(low: int, high: int | None) -> str:
    return f">= {low}" if high is None else f"< {high}" if low == 0 else f"{low}-{high - 1}"


def _fact_figures(run: dict) -> dict[str, tuple[int, float | None, float | None]] | None:
    """Per facts question of one arm (seeds pooled): (training chats stating it, greedy factual, sampled factual);
    None for a run evaluated before coverage was recorded, or for a prompt-only arm (it trained on nothing)."""
    from molting.evaluate import greedy_factual

    stated = (run["eval"].get("fact_coverage") or {}).get("questions")
    tuned = run["eval"]["models"].get("tuned")
    if not stated or not tuned or (run.get("train") or {}).get("trained") is False:
        return None
    greedy = (tuned.get("factual_greedy") or {}).get("per_question")
    if greedy is None:   # an eval.json from before per-question greedy figures: the run's own greedy answers
        greedy = greedy_factual([r for r in run.get("answers", []) if r["model"] == "tuned"])["per_question"]
    sampled = tuned["per_question"]
    return {q: (entry["stated_in"], greedy.get(q), sampled.get(q, {}).get("factual")) for q, entry in stated.items()}


def fact_rows(runs: list[dict]) -> list[dict]:
    """One row per facts question, one column per arm: "training chats stating it · greedy · sampled" factual
    accuracy of the tuned model (every seed's answers), most stated first (by the first arm with figures)."""
    figures = {run["version"]: f for run in runs if (f := _fact_figures(run))}
    if not figures:
        return []
    first = next(iter(figures.values()))
    order = sorted({q for f in figures.values() for q in f}, key=lambda q: (-first.get(q, (0,))[0], q))
    return [{"question": q, **{v: "n/a" if q not in f else f"{f[q][0]} · {pct(f[q][1])} · {pct(f[q][2])}"
                               for v, f in figures.items()}} for q in order]


def band_lines(runs: list[dict]) -> list[str]:
    """Per arm, the mean greedy and sampled factual accuracy of the facts questions grouped by how many training
    chats state their facts: whether a low factual rate comes from facts the data rarely states, or from
    sampling away from facts the model does state at its mode."""
    lines = []
    for run in runs:
        figures = _fact_figures(run)
        if not figures:
            continue
        parts = []
        for low, high in BANDS:
            members = [f for f in figures.values() if f[0] >= low and (high is None or f[0] < high)]
            if members:
                greedy = [g for _, g, _ in members if g is not None]
                sampled = [s for _, _, s in members if s is not None]
                parts.append(f"{_band_name(low, high)} chats: {len(members)} question{'s' * (len(members) > 1)}, greedy "
                             f"{pct(float(np.mean(greedy)) if greedy else None)}, sampled "
                             f"{pct(float(np.mean(sampled)) if sampled else None)}")
        lines.append(f"{run['version']}: " + "; ".join(parts))
    return lines
