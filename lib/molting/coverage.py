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
        stated = min(per_fact.values()) if q.expected_mode == "all" else int(np.any(hits, axis=0).sum()) if texts else 0
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

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.0%}"
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
