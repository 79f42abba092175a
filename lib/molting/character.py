"""In character and on topic: persona similarity and question relevance of answers, with thresholds
calibrated on the version's raw data.

- in character: the mean of the 3 highest cosines (all-MiniLM-L6-v2) between an answer and the persona
  profile (the persona card's lines and the suite's reference answers) reaches a threshold; the threshold is
  the cut that best separates the raw data's in-persona replies from its agent-like sentences (balanced
  accuracy), unless params `eval.coherence_threshold` fixes it.
- on topic: max(cosine to the question, cosine to its reference answer) reaches a threshold calibrated the
  same way on clean raw replies with their own user turn against the same replies with another chat's.
An empty answer is neither. evaluate.score_rows turns these into the `in_character` and `on_topic` verdicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from molting.params import read_yaml
from molting.suite import Question



def persona_profile(persona: dict, questions: list[Question]) -> list[str]:
    """What "in character" is measured against: persona-card lines and the suite's reference answers."""
    lines = [str(persona.get("summary", ""))]
    for key in ("background", "likes", "dislikes"):
        lines += [str(x) for x in persona.get(key, []) or []]
    lines += [q.reference for q in questions if q.reference]
    return [line for line in lines if line.strip()]


@dataclass
class Coherence:
    """Persona similarity and question relevance of texts, with the thresholds calibrated for each."""

    embed: Any                      # texts -> L2-normalised vectors
    profile: np.ndarray             # (n_profile, dim)
    threshold: float
    calibration: dict
    relevance_threshold: float = 0.2

    def similarities(self, texts: list[str], top: int = 3) -> list[float]:
        """Mean of the `top` highest cosines between each text and the profile (0 for an empty text)."""
        if not texts:
            return []
        sims = np.asarray(self.embed(texts)) @ self.profile.T
        k = min(top, sims.shape[1])
        return [0.0 if not t.strip() else float(s) for t, s in zip(texts, np.sort(sims, axis=1)[:, -k:].mean(axis=1))]

    def relevance(self, texts: list[str], questions: list[Question]) -> list[float]:
        """max(cosine to the question, cosine to its reference answer) per text (0 for an empty text)."""
        if not texts:
            return []
        vectors = np.asarray(self.embed(texts))
        prompts = np.asarray(self.embed([q.prompt for q in questions]))
        references = np.asarray(self.embed([q.reference or q.prompt for q in questions]))
        best = np.maximum((vectors * prompts).sum(axis=1), (vectors * references).sum(axis=1))
        return [0.0 if not t.strip() else float(r) for t, r in zip(texts, best)]


def best_threshold(positives: list[float], negatives: list[float]) -> tuple[float, float]:
    """The cut that maximises balanced accuracy (TPR + TNR) / 2, and that accuracy."""
    pos, neg = np.asarray(positives), np.asarray(negatives)
    best = (0.5, 0.0)
    for cut in np.unique(np.concatenate([pos, neg])):
        accuracy = ((pos >= cut).mean() + (neg < cut).mean()) / 2
        if accuracy > best[1]:
            best = (float(cut), float(accuracy))
    return round(best[0], 4), round(best[1], 4)


def hit_sentence(text: str, hit: Any) -> str:
    """The sentence (or line) of `text` holding an agent-like pattern hit."""
    bounds = [m.end() for m in re.finditer(r"[.!?]\s+|\n", text)]
    start = max([b for b in bounds if b <= hit.start] + [0])
    end = min([b for b in bounds if b > hit.end] + [len(text)])
    return text[start:end].strip() or hit.matched


def _first_user_turn(chat: dict) -> str:
    return next((m["content"] for m in chat["messages"] if m["role"] == "user"), "")


def calibrate_coherence(embed: Any, persona: dict, questions: list[Question], raw_chats: list[dict], library: Any,
                        fixed_threshold: float | None = None, limit: int = 2000) -> Coherence:
    """Profile vectors and two thresholds calibrated on the raw data: in character (in-persona replies vs
    agent-like sentences) and on topic (in-persona replies with their own user turn vs with another chat's)."""
    from molting.data import assistant_text

    profile = np.asarray(embed(persona_profile(persona, questions)))
    coherence = Coherence(embed, profile, 0.5, {})
    chats = raw_chats[:limit]
    replies = [assistant_text(c) for c in chats]
    hits = [library.first(r) for r in replies]
    clean = [i for i, hit in enumerate(hits) if hit is None]
    in_persona = [replies[i] for i in clean]
    # a noisy reply is mostly persona text with one agent-like sentence in it, so the negatives are
    # those sentences themselves: the voice we do not want, without the persona text around it
    agent_like = [hit_sentence(r, hit) for r, hit in zip(replies, hits) if hit is not None]
    positives = coherence.similarities(in_persona)
    negatives = coherence.similarities(agent_like)
    if positives and negatives:
        threshold, accuracy = best_threshold(positives, negatives)
    else:
        threshold, accuracy = 0.5, None
    if fixed_threshold is not None:
        threshold = fixed_threshold
    coherence.threshold = threshold
    # relevance: each clean reply against its own user turn, and against the user turn of a chat
    # several places away (a different question, so a reply that is beside the point)
    relevance_threshold, relevance_accuracy, on_pairs, off_pairs = 0.2, None, [], []
    if len(clean) >= 4:
        users = np.asarray(embed([_first_user_turn(chats[i]) for i in clean]))
        vectors = np.asarray(embed(in_persona))
        on_pairs = (users * vectors).sum(axis=1).tolist()
        off_pairs = (np.roll(users, len(clean) // 2, axis=0) * vectors).sum(axis=1).tolist()
        relevance_threshold, relevance_accuracy = best_threshold(on_pairs, off_pairs)
    coherence.relevance_threshold = relevance_threshold
    coherence.calibration = {
        "threshold": threshold, "source": "params eval.coherence_threshold" if fixed_threshold is not None else "calibrated",
        "balanced_accuracy": accuracy, "positives": len(positives), "negatives": len(negatives),
        "positive_mean": round(float(np.mean(positives)), 4) if positives else None,
        "negative_mean": round(float(np.mean(negatives)), 4) if negatives else None,
        "positive_similarities": [round(x, 4) for x in positives], "negative_similarities": [round(x, 4) for x in negatives],
        "relevance_threshold": relevance_threshold, "relevance_balanced_accuracy": relevance_accuracy,
        "relevance_pairs": len(on_pairs),
        "relevance_on_mean": round(float(np.mean(on_pairs)), 4) if on_pairs else None,
        "relevance_off_mean": round(float(np.mean(off_pairs)), 4) if off_pairs else None,
    }
    return coherence


def make_coherence(cfg: Any, questions: list[Question], library: Any) -> Coherence:
    """The coherence scorer for a version: persona card and raw data from its params, cached embeddings."""
    from molting.data import load_setting
    from molting.embed import Embedder
    from molting.models import cache_dir
    from molting.params import project_path

    persona = read_yaml(project_path(cfg, cfg.data.persona, "data.persona"))
    raw = load_setting(cfg, "data.raw", on_bad_lines="skip").chats
    embedder = Embedder(cache_dir=cache_dir() / "embeddings")
    return calibrate_coherence(embedder.encode, persona, questions, raw, library, cfg.eval.coherence_threshold)


def calibration_rows(coherence: Coherence) -> list[dict]:
    """The two calibrations as a small table for the notebook."""
    c = coherence.calibration
    return [{"verdict": "in character", "threshold": c["threshold"], "from": c["source"],
             "positives": f"{c['positives']} in-persona replies", "negatives": f"{c['negatives']} agent-like sentences",
             "mean (positives)": c["positive_mean"], "mean (negatives)": c["negative_mean"],
             "balanced accuracy": c["balanced_accuracy"]},
            {"verdict": "on topic", "threshold": c.get("relevance_threshold"), "from": "calibrated",
             "positives": f"{c.get('relevance_pairs')} replies with their own question",
             "negatives": f"{c.get('relevance_pairs')} replies with another chat's question",
             "mean (positives)": c.get("relevance_on_mean"), "mean (negatives)": c.get("relevance_off_mean"),
             "balanced accuracy": c.get("relevance_balanced_accuracy")}]
