"""The personality test: answering the suite (molting.generation), per-answer verdicts, rates with intervals, paired comparisons.

The questions come from suites (molting.suite: facts, trigger and control questions, reported apart).
Each question is answered greedily once (shown in
the side-by-side tables) and `eval.samples` times at `eval.temperature` (seeded); rates come from the
sampled answers (from the greedy ones when samples is 0).

Per-answer verdicts (each 0/1 unless said otherwise):
- agent_like            the curation pattern library matches the answer
- agent_like_detector   the independent classifier (molting.detector) flags it (None without a detector)
- agent_like_either     either of the two says agent-like (what the score penalises)
- factual               share of the question's expected facts stated (mode all: found/total; mode any:
                        1 if one is found); None for questions without expected facts
- contradicted          a `contradicts:` regex matches: a wrong fact stated (another pet, another trade)
- forbidden             a `forbidden:` regex matches (e.g. "SmolLM", "AI")
- truncated             generation hit max_new_tokens without emitting EOS
- in_character          persona similarity (mean of the 3 highest cosines, all-MiniLM-L6-v2, between the
                        answer and the persona card lines + the suite's reference answers) reaches the
                        threshold calibrated on the raw data (in-persona replies vs agent-like sentences)
- on_topic              relevance = max(cosine(answer, question), cosine(answer, reference answer)) reaches
                        the threshold calibrated on the raw data (replies with their own user turn vs with
                        another chat's); an empty answer is never on topic
- in_voice              in_character and on_topic and not agent_like_either
- distinct_2            distinct word bigrams / all word bigrams (a number; low = looping)

Score /10 (a summary; the rates above are the primary results). Nothing is free: an empty, evasive or
off-topic answer earns no credit, and truncation and forbidden content only subtract:
    credit  = c_voice * in_voice + c_facts * factual      (questions with expected facts)
    credit  = in_voice                                    (trigger and control questions)
    penalty = p_agent * agent_like_either + p_contradicted * contradicted
              + p_forbidden * forbidden + p_truncated * truncated
    score   = 10 * max(0, credit - penalty), averaged over answers
with c_voice + c_facts = 1 (params `eval.credit`) and the penalties from params `eval.penalty`. With the
defaults (0.5/0.5; 0.3, 0.3, 0.2, 0.2): empty 0 < agent-like with facts 2 < in voice without facts 5 <
in voice with facts 10, and a wrong fact in voice (2) scores below a missing one (5).

Intervals: Wilson 95% for rates, bootstrap over questions for means and the score. Two models are
compared on the same questions by the per-question differences (paired permutation test, paired
bootstrap interval) and, for binary verdicts of the greedy answers, an exact McNemar test.
Perplexity: exp(mean loss over assistant tokens), on the version's held-out split and on the phase's
shared test chats (`eval.test_chats`), base vs tuned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from molting import generation, precision, stats
from molting.data import with_system_prompt
from molting.params import check_resolved
from molting.suite import CATEGORIES, Question

if TYPE_CHECKING:
    from molting.character import Coherence

RATES = ("agent_like", "agent_like_detector", "agent_like_either", "contradicted", "forbidden", "truncated",
         "in_character", "on_topic", "in_voice", "empty")
MEANS = ("factual", "distinct_2")
PRIMARY = ("agent_like", "agent_like_detector", "factual", "contradicted", "in_character", "truncated")
COMPARED = ("score", *PRIMARY, "in_voice", "forbidden")
METRIC_LABELS = {"agent_like": "Agent-like (pattern library)", "agent_like_detector": "Agent-like (detector)",
                 "agent_like_either": "Agent-like (either)", "factual": "Factual accuracy",
                 "contradicted": "Contradicted facts", "in_character": "In character", "truncated": "Truncated",
                 "forbidden": "Forbidden content", "on_topic": "On topic", "in_voice": "In voice (scored)",
                 "empty": "Empty answers", "distinct_2": "Distinct-2 (repetition)", "score": "Score /10"}


# ---------------------------------------------------------------------------------------------
# Answering the suite (generation: molting.generation; bf16: molting.precision)
# ---------------------------------------------------------------------------------------------

def tuned_system_prompt(cfg: Any) -> str | None:
    """The system prompt the tuned model is measured under: the persona card for a prompt-only version
    (`train.enabled: false`), else the one training used (`data.system_prompt`)."""
    from molting import arms

    return arms.tuned_system_prompt(cfg)


def scoring_max_length(tokenizer: Any, cfg: Any, system_prompt: str | None) -> int:
    """Tokens kept when scoring a chat: train.max_length, plus the length of a system prompt training never saw
    (the prompt-only arm's persona card, ~600 tokens), so that the reply is not cut away behind it."""
    if not system_prompt or system_prompt == cfg.data.system_prompt:
        return cfg.train.max_length
    return cfg.train.max_length + len(tokenizer(system_prompt, add_special_tokens=False)["input_ids"])


def answer_suite(model: Any, tokenizer: Any, questions: list[Question], cfg: Any, label: str,
                 merge: bool = True) -> list[dict]:
    """Every question answered greedily once and `eval.samples` times at `eval.temperature` (seeded, batched);
    the tuned model with its adapter merged (`generation.merged_adapter`) unless `merge` is false."""
    merging = generation.merged_adapter(model) if label == "tuned" and merge else contextlib.nullcontext()
    with merging, precision.inference_precision(model, cfg.eval.get("bf16", False)):
        return _answer_suite(model, tokenizer, questions, cfg, label)


def _answer_suite(model: Any, tokenizer: Any, questions: list[Question], cfg: Any, label: str) -> list[dict]:
    e = cfg.eval
    system_prompt = tuned_system_prompt(cfg) if label == "tuned" else cfg.data.system_prompt
    chats = [with_system_prompt([{"role": "user", "content": q.prompt}], system_prompt) for q in questions]
    rows = []

    def add(answers: list[dict], decoding: str, samples: int) -> None:
        for index, answer in enumerate(answers):
            question = questions[index // samples]
            rows.append({"model": label, "question_id": question.id, "suite": question.suite, "category": question.category,
                         "prompt": question.prompt, "decoding": decoding, "sample": index % samples, **answer})

    add(generation.generate(model, tokenizer, chats, max_new_tokens=e.max_new_tokens, batch_size=e.batch_size), "greedy", 1)
    if e.samples > 0:
        # all samples of all questions in one stream of batches: full batches, one seed; a question's samples,
        # side by side, share the forward pass over its prompt (generate)
        repeated = [chat for chat in chats for _ in range(e.samples)]
        add(generation.generate(model, tokenizer, repeated, max_new_tokens=e.max_new_tokens, batch_size=e.batch_size,
                     do_sample=True, temperature=e.temperature, seed=cfg.seed), "sampled", e.samples)
    return rows


# ---------------------------------------------------------------------------------------------
# A cache for what the base model does, shared by every version of a phase
# ---------------------------------------------------------------------------------------------

CACHE_FORMAT = "molting-eval-cache-v1"


def model_fingerprint(source: Any) -> dict:
    """What identifies a model's weights without reading them: config, and each weight file's name, size and mtime."""
    from molting.models import local_folder

    folder = Path(local_folder(source))
    if not folder.is_dir():   # a hub id: its name and revision
        return {"hub": str(folder), "revision": getattr(source, "revision", None)}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".json") and p.is_file())
    return {"folder": str(folder.resolve()),
            "files": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files],
            "config": hashlib.sha256((folder / "config.json").read_bytes()).hexdigest() if (folder / "config.json").is_file() else None}


def content_key(parts: dict) -> str:
    """sha256 of everything an output depends on (JSON, sorted keys)."""
    import torch
    import transformers

    payload = {"format": CACHE_FORMAT, "torch": torch.__version__, "transformers": transformers.__version__, **parts}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def base_key(kind: str, model: Any, tokenizer: Any, cfg: Any, source: Any, **parts: Any) -> str:
    """The content key of a base-model figure cached per phase: what every one depends on (the model's weights, chat
    template, system prompt and precision) and what this one does (`parts`)."""
    return content_key({"kind": kind, "model": model_fingerprint(source), "template": tokenizer.chat_template,
                        "system_prompt": cfg.data.system_prompt,
                        "precision": "bf16 parameters" if precision.uses_bf16(model, cfg.eval.get("bf16", False)) else "fp32",
                        **parts})


def cache_folder(cfg: Any) -> Path:
    """runs/_cache/ under the project (no version can be named `_cache`)."""
    return Path(cfg.root) / "runs" / "_cache"


def cached(path: Path, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """The JSON stored at `path`, else compute, store atomically and return it; and whether it was a hit."""
    from molting.runs import write_json

    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8")), True
        except (json.JSONDecodeError, UnicodeDecodeError):
            path.unlink(missing_ok=True)   # a damaged entry is recomputed, never trusted
    value = compute()
    write_json(path, value)
    return value, False


def base_answers(model: Any, tokenizer: Any, questions: list[Question], cfg: Any, source: Any) -> list[dict]:
    """The base model's answers (adapter disabled), reused across the versions of a phase with the same
    model, suite, sampling, seed and batch size (runs/_cache/base-answers/<content hash>.json)."""
    e = cfg.eval
    key = base_key("base-answers", model, tokenizer, cfg, source,
                   questions=[(q.id, q.suite, q.category, q.prompt) for q in questions],
                   samples=e.samples, temperature=e.temperature, max_new_tokens=e.max_new_tokens,
                   batch_size=e.batch_size, seed=cfg.seed, decoder="decode: ended rows leave, inverse-cdf draws")

    def compute() -> list[dict]:
        with model.disable_adapter():
            return answer_suite(model, tokenizer, questions, cfg, "base")

    rows, hit = cached(cache_folder(cfg) / "base-answers" / f"{key}.json", compute)
    print(f"base answers: {'reused from' if hit else 'computed, cached in'} runs/_cache/base-answers/{key}.json")
    return rows


# ---------------------------------------------------------------------------------------------
# Verdicts and the score
# ---------------------------------------------------------------------------------------------

def distinct_n(text: str, n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams (1.0 for texts too short to repeat)."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


@dataclass(frozen=True)
class Signals:
    """What the embedding models say about one answer (None where no scorer was given)."""

    persona_similarity: float | None = None
    in_character: bool = False
    relevance: float | None = None
    on_topic: bool = False
    detector_probability: float | None = None
    detector_flag: bool | None = None


def judge_answer(question: Question, answer: dict, library: Any, signals: Signals | None = None) -> dict:
    """Per-metric verdicts for one answer, each with its reason (patterns found, similarities)."""
    signals = signals or Signals()
    text = answer["text"]
    empty = not text.strip()
    hits = library.scan(text)
    found = [p for p in question.expected if re.search(p, text, re.IGNORECASE)]
    if not question.expected:
        factual = None
    else:
        factual = (len(found) / len(question.expected)) if question.expected_mode == "all" else float(bool(found))
    wrong = [p for p in question.contradicts if re.search(p, text, re.IGNORECASE)]
    bad = [p for p in question.forbidden if re.search(p, text, re.IGNORECASE)]
    detector = None if signals.detector_flag is None else float(bool(signals.detector_flag) and not empty)
    either = float(bool(hits) or bool(detector))
    on_topic = float(signals.on_topic and not empty)
    in_character = float(signals.in_character and not empty)
    return {
        "agent_like": float(bool(hits)),
        "agent_like_rules": sorted({h.rule for h in hits}),
        "agent_like_detector": detector,
        "detector_probability": None if signals.detector_probability is None else round(float(signals.detector_probability), 4),
        "agent_like_either": either,
        "factual": None if factual is None else round(factual, 4),
        "facts_found": found,
        "facts_missing": [p for p in question.expected if p not in found],
        "contradicted": float(bool(wrong)),
        "contradicted_found": wrong,
        "forbidden": float(bool(bad)),
        "forbidden_found": bad,
        "truncated": float(answer["truncated"]),
        "distinct_2": round(distinct_n(text), 4),
        "in_character": in_character,
        "persona_similarity": None if signals.persona_similarity is None else round(float(signals.persona_similarity), 4),
        "on_topic": on_topic,
        "relevance": None if signals.relevance is None else round(float(signals.relevance), 4),
        "in_voice": float(in_character and on_topic and not either),
        "empty": float(empty),
    }


@dataclass(frozen=True)
class ScoreWeights:
    """Credits (summing to 1) and penalties of the score, from params `eval.credit` and `eval.penalty`."""

    in_voice: float = 0.5
    facts: float = 0.5
    agent_like: float = 0.3
    contradicted: float = 0.3
    forbidden: float = 0.2
    truncated: float = 0.2

    @classmethod
    def from_params(cls, eval_cfg: Any) -> "ScoreWeights":
        """The weights of params `eval` (the schema keeps them non-negative; the credits must sum to 1)."""
        credit, penalty = dict(eval_cfg["credit"]), dict(eval_cfg["penalty"])
        check_resolved({"eval": {"credit": credit}}, "params")
        return cls(**credit, **penalty)

    def penalties(self) -> dict[str, float]:
        """Penalty per flag."""
        return {"agent_like_either": self.agent_like, "contradicted": self.contradicted, "forbidden": self.forbidden,
                "truncated": self.truncated}


def score_parts(verdict: dict, weights: ScoreWeights) -> dict[str, float]:
    """The credit each part earned and the penalty each flag cost, for one answer (in [0, 1] units)."""
    if verdict["factual"] is None:
        parts = {"in_voice": verdict["in_voice"], "facts": 0.0}
    else:
        parts = {"in_voice": weights.in_voice * verdict["in_voice"], "facts": weights.facts * verdict["factual"]}
    for flag, cost in weights.penalties().items():
        parts[flag] = -cost * verdict[flag]
    return parts


def answer_score(verdict: dict, weights: ScoreWeights) -> float:
    """The per-answer score in [0, 1]: credit minus penalties, floored at 0 (formula in the module docstring)."""
    return max(0.0, sum(score_parts(verdict, weights).values()))


def score_rows(rows: list[dict], questions: list[Question], library: Any, weights: ScoreWeights,
               coherence: "Coherence | None" = None, detector: Any = None) -> list[dict]:
    """Attach verdicts and the per-answer score to generated rows (embeddings and detector batched)."""
    by_id = {q.id: q for q in questions}
    texts = [r["text"] for r in rows]
    sims = coherence.similarities(texts) if coherence else [None] * len(rows)
    relevance = (coherence.relevance(texts, [by_id[r["question_id"]] for r in rows]) if coherence else [None] * len(rows))
    probabilities = np.asarray(detector.predict_proba(texts), dtype=float) if detector is not None and texts else [None] * len(rows)
    for row, sim, rel, prob in zip(rows, sims, relevance, probabilities):
        signals = Signals(
            persona_similarity=sim, in_character=sim is not None and sim >= coherence.threshold,
            relevance=rel, on_topic=rel is not None and rel >= coherence.relevance_threshold,
            detector_probability=prob, detector_flag=None if prob is None else bool(prob >= detector.threshold))
        row["verdict"] = judge_answer(by_id[row["question_id"]], row, library, signals)
        row["score"] = round(answer_score(row["verdict"], weights), 4)
    return rows


# ---------------------------------------------------------------------------------------------
# Aggregates and paired comparisons
# ---------------------------------------------------------------------------------------------

def rate_rows(rows: list[dict]) -> list[dict]:
    """The answers rates are computed from: the sampled ones, or the greedy ones when there are none."""
    sampled = [r for r in rows if r.get("decoding", "sampled") == "sampled"]
    return sampled or [r for r in rows if r.get("decoding") == "greedy"]


def _metric_summary(rows: list[dict], metric: str, resamples: int, seed: int) -> dict:
    values = [(r["verdict"][metric], r["question_id"]) for r in rows if r["verdict"].get(metric) is not None]
    if not values:
        return {"mean": None, "n": 0, "count": None, "ci95": None}
    numbers = [v for v, _ in values]
    mean = round(float(np.mean(numbers)), 4)
    if metric in RATES:
        count = int(sum(numbers))
        return {"mean": mean, "n": len(numbers), "count": count, "ci95": stats.wilson_interval(count, len(numbers)),
                "interval": "Wilson"}
    return {"mean": mean, "n": len(numbers), "count": None, "interval": "bootstrap over questions",
            "ci95": stats.bootstrap_ci(numbers, resamples, seed, [g for _, g in values])}


def per_question(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    """Each question's mean of every metric and of the score /10 over its answers."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["question_id"], []).append(row)
    out = {}
    for qid, group in grouped.items():
        entry: dict[str, float | None] = {"answers": len(group), "category": group[0]["category"]}
        for metric in (*RATES, *MEANS):
            values = [r["verdict"][metric] for r in group if r["verdict"].get(metric) is not None]
            entry[metric] = round(float(np.mean(values)), 4) if values else None
        entry["score"] = round(10 * float(np.mean([r["score"] for r in group])), 4)
        out[qid] = entry
    return out


def aggregate(rows: list[dict], resamples: int, seed: int) -> dict:
    """One model's rates and means with 95% intervals, the score /10, per category and per question."""
    used = rate_rows(rows)
    groups = [r["question_id"] for r in used]
    out: dict[str, Any] = {"answers": len(used), "questions": len(set(groups)),
                           "decoding": used[0].get("decoding", "sampled") if used else None}
    for metric in (*RATES, *MEANS):
        out[metric] = _metric_summary(used, metric, resamples, seed)
    scores = [10 * r["score"] for r in used]
    out["score"] = {"mean": round(float(np.mean(scores)), 3) if scores else None,
                    "ci95": stats.bootstrap_ci(scores, resamples, seed, groups), "interval": "bootstrap over questions"}
    out["by_category"] = {}
    for category in CATEGORIES:
        subset = [r for r in used if r["category"] == category]
        if subset:
            out["by_category"][category] = {"answers": len(subset), "questions": len({r["question_id"] for r in subset}),
                                            **{m: _metric_summary(subset, m, resamples, seed) for m in (*PRIMARY, "in_voice")},
                                            "score": {"mean": round(10 * float(np.mean([r["score"] for r in subset])), 3)}}
    out["per_question"] = per_question(used)
    greedy = [r for r in rows if r.get("decoding") == "greedy"]
    out["greedy"] = {r["question_id"]: {m: r["verdict"].get(m) for m in RATES} for r in greedy}
    out["factual_greedy"] = greedy_factual(greedy)
    return out


def greedy_factual(rows: list[dict]) -> dict:
    """Factual accuracy of the greedy answers among `rows` (every seed's when pooled): what the model states at its
    mode, shown beside the sampled figure (the primary one, which the verdict and the target use)."""
    stated: dict[str, list[float]] = {}
    for r in rows:
        if r.get("decoding") == "greedy" and r["verdict"].get("factual") is not None:
            stated.setdefault(r["question_id"], []).append(r["verdict"]["factual"])
    values = [v for vs in stated.values() for v in vs]
    return {"mean": round(float(np.mean(values)), 4) if values else None, "n": len(values),
            "per_question": {q: round(float(np.mean(vs)), 4) for q, vs in stated.items()}}


def compare(a: dict, b: dict, resamples: int, seed: int) -> dict[str, dict]:
    """b vs a on the questions both answered: per metric, the paired permutation test on per-question means
    (with a paired bootstrap interval) and, for binary verdicts, exact McNemar on the greedy answers."""
    out = {}
    qa, qb = a.get("per_question", {}), b.get("per_question", {})
    for metric in COMPARED:
        result = stats.paired_difference({q: v.get(metric) for q, v in qa.items()}, {q: v.get(metric) for q, v in qb.items()},
                                         resamples, seed)
        if metric in RATES and a.get("greedy") and b.get("greedy"):
            result["mcnemar_greedy"] = stats.mcnemar_exact({q: v.get(metric) for q, v in a["greedy"].items()},
                                                           {q: v.get(metric) for q, v in b["greedy"].items()})
        out[metric] = result
    return out


def within_noise(comparison: dict | None) -> bool:
    """Whether a paired comparison's difference may be noise (p >= 0.05)."""
    return stats.within_noise(comparison)


# ---------------------------------------------------------------------------------------------
# The independent detector
# ---------------------------------------------------------------------------------------------

def make_detector() -> Any:
    """The embedding classifier trained on the labelled set (molting.detector), the second opinion beside the library."""
    from molting.detector import default_detector

    return default_detector()


def detector_info(detector: Any) -> dict | None:
    """What the report says about the detector."""
    if detector is None:
        return None
    return {"name": type(detector).__name__, "threshold": round(float(detector.threshold), 4),
            "trained_on": getattr(detector, "trained_on", None)}


def disagreements(rows: list[dict], limit: int | None = None) -> list[dict]:
    """Answers where the pattern library and the detector disagree (model, question, both verdicts, the text)."""
    out = []
    for row in rows:
        v = row["verdict"]
        if v.get("agent_like_detector") is None or v["agent_like"] == v["agent_like_detector"]:
            continue
        out.append({"model": row["model"], "question": row["question_id"], "decoding": row.get("decoding", "sampled"),
                    "library": ", ".join(v["agent_like_rules"]) or "clean",
                    "detector": f"{'agent-like' if v['agent_like_detector'] else 'clean'} (p={v['detector_probability']:.2f})",
                    "answer": row["text"]})
    return out[:limit] if limit else out


def disagreement_rows(rows: list[dict], limit: int = 40) -> list[dict]:
    """The disagreements as a table, or one line saying there are none (or no detector)."""
    if all(r["verdict"].get("agent_like_detector") is None for r in rows):
        return [{"detector": "no detector verdicts in these answers"}]
    found = disagreements(rows)
    shown = found[:limit]
    if len(found) > limit:
        shown.append({"model": "", "question": f"... and {len(found) - limit} more (answers.jsonl)"})
    return shown or [{"disagreements": f"none: the library and the detector agree on all {len(rows)} answers"}]


# ---------------------------------------------------------------------------------------------
# Perplexity and the propensity probe
# ---------------------------------------------------------------------------------------------

def heldout_perplexity(model: Any, tokenizer: Any, chats: list[dict], system_prompt: str | None, max_length: int,
                       batch_size: int = 16) -> float | None:
    """exp(mean cross-entropy over the assistant tokens of the chats)."""
    from molting import probe

    if not chats:
        return None
    scored = probe.reply_logliks(model, tokenizer, [with_system_prompt(c["messages"], system_prompt) for c in chats],
                                 max_length, batch_size)
    return probe.perplexity(scored)


def shared_test_chats(cfg: Any) -> list[dict]:
    """The phase's shared test chats (`eval.test_chats`), never trained on; [] when not configured."""
    from molting.data import load_chats
    from molting.params import project_path

    if not cfg.eval.test_chats:
        return []
    return load_chats(project_path(cfg, cfg.eval.test_chats, "eval.test_chats"), "auto", "error", source="test").chats


def perplexities(model: Any, tokenizer: Any, cfg: Any, heldout: list[dict], source: Any) -> dict:
    """Base and tuned perplexity on the version's held-out split and on the phase's shared test chats
    (the base model's test-set figure is cached: it is the same for every version of the phase)."""
    system_prompt, max_length = cfg.data.system_prompt, cfg.train.max_length
    tuned_prompt = tuned_system_prompt(cfg)
    test = shared_test_chats(cfg)
    setting = cfg.eval.get("bf16", False)

    def measure(chats: list[dict], base: bool) -> float | None:
        if not base:
            with generation.merged_adapter(model), precision.inference_precision(model, setting):
                return heldout_perplexity(model, tokenizer, chats, tuned_prompt, scoring_max_length(tokenizer, cfg, tuned_prompt))
        with model.disable_adapter(), precision.inference_precision(model, setting):
            return heldout_perplexity(model, tokenizer, chats, system_prompt, max_length)

    key = base_key("base-test-perplexity", model, tokenizer, cfg, source,
                   chats=[c["messages"] for c in test], max_length=max_length)
    base_test = cached(cache_folder(cfg) / "base-perplexity" / f"{key}.json", lambda: measure(test, True))[0] if test else None
    return {
        "heldout": {"base": measure(heldout, True), "tuned": measure(heldout, False), "chats": len(heldout),
                    "set": "this version's held-out split (differs between versions)"},
        "test": {"base": base_test, "tuned": measure(test, False) if test else None, "chats": len(test),
                 "set": cfg.eval.test_chats or "none (eval.test_chats is null)"},
    }


def perplexity_rows(ppl: dict) -> list[dict]:
    """Perplexities as a table."""
    return [{"set": name, "chats": v["chats"], "base": v["base"], "tuned": v["tuned"], "what": v["set"]}
            for name, v in ppl.items()]


def propensity_probe(model: Any, tokenizer: Any, cfg: Any, source: Any) -> dict | None:
    """The probe for base (cached per phase) and tuned: gaps with intervals, and the paired tuned-vs-base test."""
    from molting import probe
    from molting.params import project_path

    if not cfg.eval.probe:
        return None
    items = probe.load_probe(project_path(cfg, cfg.eval.probe, "eval.probe"))
    args = (items, cfg.data.system_prompt, cfg.train.max_length)
    setting = cfg.eval.get("bf16", False)
    key = base_key("base-propensity", model, tokenizer, cfg, source,
                   items=[(i.id, i.prompt, i.agent_like, i.in_voice) for i in items], max_length=cfg.train.max_length)

    def base() -> dict:
        with model.disable_adapter(), precision.inference_precision(model, setting):
            return probe.propensity(model, tokenizer, *args)

    base_result = cached(cache_folder(cfg) / "base-propensity" / f"{key}.json", base)[0]
    tuned_prompt = tuned_system_prompt(cfg)
    with generation.merged_adapter(model), precision.inference_precision(model, setting):
        tuned_result = probe.propensity(model, tokenizer, items, tuned_prompt, scoring_max_length(tokenizer, cfg, tuned_prompt))
    e = cfg.eval
    return {"base": probe.summarize(base_result, e.bootstrap, cfg.seed),
            "tuned": probe.summarize(tuned_result, e.bootstrap, cfg.seed),
            "tuned_vs_base": stats.paired_difference(base_result["per_item"], tuned_result["per_item"], e.bootstrap, cfg.seed)}


def propensity_rows(result: dict | None) -> list[dict]:
    """The probe's figures as a table."""
    if not result:
        return [{"propensity probe": "off (eval.probe is null)"}]
    rows = [{"model": label, "gap (nats/token)": r["gap_nats"], "95% CI": _interval(r["ci95"]),
             "mean log p agent-like": r["agent_like_mean_ll"], "mean log p in-voice": r["in_voice_mean_ll"], "items": r["items"]}
            for label, r in ((k, result[k]) for k in ("base", "tuned"))]
    rows.append({"model": "tuned - base", "gap (nats/token)": result["tuned_vs_base"]["difference"],
                 "95% CI": _interval(result["tuned_vs_base"]["ci95"]),
                 "mean log p agent-like": f"{stats.p_clause(result['tuned_vs_base']['p_value'])} (paired)", "items": result["tuned_vs_base"]["pairs"]})
    return rows


# ---------------------------------------------------------------------------------------------
# The whole evaluation of one version
# ---------------------------------------------------------------------------------------------

SCORE_FORMULA = ("score = 10 x max(0, credit - penalty), averaged over answers; credit = {in_voice} x in voice + {facts} x "
                 "facts stated (questions without expected facts: in voice alone); penalty = {agent_like} x agent-like "
                 "(library or detector) + {contradicted} x contradicted fact + {forbidden} x forbidden + {truncated} x truncated. "
                 "In voice = in character, on topic and not agent-like, so an empty, evasive or off-topic answer earns nothing.")


def score_formula(weights: ScoreWeights) -> str:
    """The score's formula with this run's weights, for the report."""
    return SCORE_FORMULA.format(**weights.__dict__)


def summarize(rows: list[dict], cfg: Any, perplexity: dict, calibration: dict | None = None,
              judge: dict | None = None, propensity: dict | None = None, detector: dict | None = None,
              fact_coverage: dict | None = None) -> dict:
    """eval.json: per-model rates and score with intervals, per category and question, the paired
    tuned-vs-base comparison, perplexities, the propensity probe, how often the training data states each
    fact (coverage.fact_coverage), and the config."""
    e = cfg.eval
    weights = ScoreWeights.from_params(e)
    models = {}
    for label in ("base", "tuned"):
        subset = [r for r in rows if r["model"] == label]
        if subset:
            models[label] = aggregate(subset, e.bootstrap, cfg.seed)
            for name, values in (perplexity or {}).items():
                models[label][f"{name}_perplexity"] = values.get(label)
            if propensity:
                models[label]["propensity"] = propensity[label]
    summary: dict[str, Any] = {
        "models": models, "weights": weights.__dict__, "score_formula": score_formula(weights), "target_score": e.target_score,
        "config": {"max_new_tokens": e.max_new_tokens, "samples": e.samples, "batch_size": e.batch_size,
                   "temperature": e.temperature if e.samples > 0 else None, "suites": list(e.suites), "seed": cfg.seed,
                   "bootstrap": e.bootstrap, "probe": e.probe, "test_chats": e.test_chats, "bf16": e.get("bf16")},
        "perplexity": perplexity, "coherence_calibration": calibration, "judge": judge, "detector": detector,
        "propensity_comparison": propensity["tuned_vs_base"] if propensity else None, "fact_coverage": fact_coverage,
        "tuned_model": tuned_model_info(cfg),
    }
    if "base" in models and "tuned" in models:
        summary["tuned_vs_base"] = compare(models["base"], models["tuned"], e.bootstrap, cfg.seed)
        summary["tuned_vs_base_within_noise"] = within_noise(summary["tuned_vs_base"]["score"])
    if detector is not None:
        summary["detector"]["disagreements"] = len(disagreements(rows))
    return summary


def tuned_model_info(cfg: Any) -> dict:
    """What "tuned" is in this version: the trained adapter, or (prompt-only) the base model under the persona card."""
    from molting import arms

    if arms.is_prompt_only(cfg):
        return {"kind": arms.PROMPT_ONLY, "label": arms.PROMPT_ONLY, "adapter": None, "system_prompt": tuned_system_prompt(cfg),
                "what": "no training: the base model with the persona card as its system prompt"}
    return {"kind": "adapter", "label": "tuned", "adapter": "adapter/", "system_prompt": cfg.data.system_prompt,
            "what": "the base model with this version's LoRA adapter"}


def greedy_rows(rows: list[dict]) -> list[dict]:
    """The greedy answers (one per question and model): what the side-by-side tables and the LLM judge see."""
    return [r for r in rows if r.get("decoding") == "greedy"]


def attach_judge(rows: list[dict], judged: list[dict]) -> None:
    """Put each LLM-judge score on its greedy answer row (shown beside the automatic verdicts)."""
    by_key = {(j["model"], j["question_id"]): j for j in judged}
    for row in greedy_rows(rows):
        found = by_key.get((row["model"], row["question_id"]))
        if found:
            row["judge"] = {"score": found["judge_score"], "reason": found["judge_reason"]}


def _verdict_text(v: dict) -> str:
    flags = [name for name, on in (("agent-like", v["agent_like"]), ("detector: agent-like", v.get("agent_like_detector")),
                                   ("contradicted", v.get("contradicted")), ("forbidden", v["forbidden"]),
                                   ("truncated", v["truncated"]), ("off topic", not v.get("on_topic", 1)),
                                   ("out of character", not v.get("in_character", v.get("coherence", 0)))) if on]
    facts = "no facts asked" if v["factual"] is None else f"facts {v['factual']:.0%}"
    return facts + (f"; {', '.join(flags)}" if flags else "")


def side_by_side(rows: list[dict]) -> list[dict]:
    """One row per question: each model's greedy answer, its verdicts, and its sampled rates."""
    greedy = [r for r in rows if r.get("decoding") == "greedy"] or [r for r in rows if r["sample"] == 0]
    sampled = [r for r in rows if r.get("decoding") == "sampled"]
    table: dict[str, dict] = {}
    for row in greedy:
        entry = table.setdefault(row["question_id"], {"question": row["prompt"], "category": row["category"]})
        judged = f"; judge {row['judge']['score']}/10" if row.get("judge") and row["judge"]["score"] is not None else ""
        entry[f"{row['model']}_answer"] = row["text"]
        entry[f"{row['model']}_verdict"] = _verdict_text(row["verdict"]) + judged
        mine = [r for r in sampled if r["model"] == row["model"] and r["question_id"] == row["question_id"]]
        if mine:
            agent = sum(r["verdict"]["agent_like_either"] for r in mine)
            facts = [r["verdict"]["factual"] for r in mine if r["verdict"]["factual"] is not None]
            entry[f"{row['model']}_verdict"] += (f" | {len(mine)} samples: agent-like {agent:.0f}/{len(mine)}"
                                                 + (f", facts {np.mean(facts):.0%}" if facts else "")
                                                 + f", score {10 * np.mean([r['score'] for r in mine]):.1f}")
    return list(table.values())


def load_tuned(src: Any, adapter_dir: Path, trust_remote_code: bool = False, prompt_only: bool = False,
               chat_template: str | None = None) -> tuple[Any, Any]:
    """The base model with the trained adapter attached (base answers come from disable_adapter()); for a
    prompt-only version the base model alone, whose disable_adapter() changes nothing (no adapter: only the
    system prompt makes "tuned" differ from "base"). `chat_template`: the params' (models.chat_template)."""
    from peft import PeftModel

    from molting.models import load_model, load_tokenizer
    from molting.runs import missing_output

    if not prompt_only and not (Path(adapter_dir) / "adapter_config.json").is_file():   # peft's error names no stage
        raise missing_output(Path(adapter_dir) / "adapter_config.json")
    tokenizer = load_tokenizer(src, trust_remote_code, chat_template)
    base = load_model(src, trust_remote_code=trust_remote_code)
    if prompt_only:
        base.requires_grad_(False)   # frozen, as under an adapter
        base.disable_adapter = contextlib.nullcontext
        base.eval()
        return base, tokenizer
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    return model, tokenizer


def save(rows: list[dict], summary: dict, paths: Any) -> None:
    """answers.jsonl and eval.json (holding the version's lock: runs.writing)."""
    from molting.runs import write_json, write_jsonl, writing

    with writing(paths):
        write_jsonl(paths.answers_jsonl, rows)
        write_json(paths.eval_json, summary)


def _interval(ci: Any) -> str:
    return "" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _rate_text(agg: dict) -> str:
    if agg.get("mean") is None:
        return "n/a"
    if agg.get("count") is not None:
        return f"{agg['count']}/{agg['n']} ({agg['mean']:.2f})"
    return f"{agg['mean']:.2f}"


def metric_rows(summary: dict) -> list[dict]:
    """Primary rates and the score, base and tuned, with intervals and the paired test of the change."""
    rows = []
    comparison = summary.get("tuned_vs_base", {})
    for metric in (*PRIMARY, "in_voice", "forbidden", "on_topic", "empty", "distinct_2", "score"):
        row: dict[str, Any] = {"metric": METRIC_LABELS[metric]}
        for label, agg in summary["models"].items():
            row[label] = _rate_text(agg[metric]) if metric != "score" else agg["score"]["mean"]
            row[f"{label} 95% CI"] = _interval(agg[metric]["ci95"])
        paired = comparison.get(metric)
        if paired:
            scale = 1.0
            row["tuned - base (paired)"] = stats.describe(paired, 2, scale)
            if paired.get("mcnemar_greedy"):
                row["McNemar p (greedy)"] = stats.format_p(paired["mcnemar_greedy"]["p_value"])
        rows.append(row)
        if metric == "factual" and all("factual_greedy" in agg for agg in summary["models"].values()):
            rows.append({"metric": "Factual accuracy (greedy answers)",
                         **{label: _rate_text(agg["factual_greedy"]) for label, agg in summary["models"].items()}})
    return rows


def category_rows(summary: dict) -> list[dict]:
    """Primary rates per question category (facts, trigger, control), base and tuned."""
    rows = []
    for label, agg in summary["models"].items():
        for category, values in agg.get("by_category", {}).items():
            row = {"model": label, "category": category, "questions": values["questions"], "answers": values["answers"]}
            for metric in (*PRIMARY, "in_voice"):
                row[METRIC_LABELS[metric]] = _rate_text(values[metric])
            row["score /10"] = values["score"]["mean"]
            rows.append(row)
    return rows


def per_question_rows(summary: dict) -> list[dict]:
    """Per-question rates over the sampled answers, base and tuned side by side, and for facts questions the
    training chats that state the facts (eval.json's fact_coverage, when recorded)."""
    models = summary["models"]
    questions = list(next(iter(models.values()))["per_question"]) if models else []
    coverage = (summary.get("fact_coverage") or {}).get("questions")
    rows = []
    for qid in questions:
        row: dict[str, Any] = {"question": qid, "category": next(iter(models.values()))["per_question"][qid]["category"]}
        if coverage is not None:
            row["train chats stating it"] = coverage[qid]["stated_in"] if qid in coverage else ""
        for label, agg in models.items():
            q = agg["per_question"].get(qid, {})
            row[f"{label} agent-like"] = q.get("agent_like_either")
            row[f"{label} facts"] = q.get("factual")
            row[f"{label} in voice"] = q.get("in_voice")
            row[f"{label} score"] = q.get("score")
        rows.append(row)
    return rows
