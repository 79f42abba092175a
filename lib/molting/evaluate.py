"""The personality test: suites, batched generation, per-answer verdicts, aggregate metrics with intervals.

Metrics (per answer, each in [0, 1]; a model's rate is the mean over answers):
- agent_like      1 if any agent-like pattern (the curation library) matches the answer, else 0
- factual         share of the question's expected facts found (mode all: matched/total; mode any: 1 if one matches)
- forbidden       1 if any forbidden regex matches (e.g. "SmolLM", "AI"), else 0
- coherence       1 if the answer's persona similarity >= the coherence threshold, else 0, where
                  persona similarity = mean of the 3 highest cosines (all-MiniLM-L6-v2) between the answer
                  and the persona profile (persona-card lines + the suite's reference answers); the
                  threshold maximises balanced accuracy separating the raw data's in-persona replies
                  (no pattern hit) from its agent-like sentences (the sentence around each reply's
                  first pattern hit), unless params fix it
- truncated       1 if generation hit max_new_tokens without emitting EOS (reported apart from wrong answers)
- distinct_2      distinct word bigrams / all word bigrams (1 = no repetition; low = looping)
Score /10 = 10 * sum_k w_k * s_k / sum_k w_k over the weights in params `eval.weights`, with
s = 1 - agent_like, factual, coherence, 1 - truncated, 1 - forbidden, averaged over answers.
Intervals: 95% percentile bootstrap over questions (and samples), `eval.bootstrap` resamples.
Held-out perplexity: exp(mean loss over assistant tokens of the held-out chats), base vs tuned.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molting.data import with_system_prompt
from molting.errors import SuiteError
from molting.params import read_yaml

CATEGORIES = ("identity", "facts", "opinions", "personality", "style")
METRICS = ("agent_like", "factual", "coherence", "forbidden", "truncated", "distinct_2")


# ---------------------------------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    """One suite question with what a good answer states and must not state."""

    id: str
    suite: str
    category: str
    prompt: str
    expected_mode: str
    expected: tuple[str, ...]
    forbidden: tuple[str, ...]
    reference: str


def _compile(pattern: Any, where: str) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise SuiteError(f"a pattern must be a non-empty string, got {pattern!r}", where=where, fix="write it as a quoted regex")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise SuiteError(f"bad regex {pattern!r}: {exc}", where=where, fix="fix the regex (quote it with single quotes in YAML)") from None


def load_suite(path: str | Path) -> list[Question]:
    """Questions of a suite YAML file; a malformed suite is an error naming the file and the question."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise SuiteError("a suite is a mapping with a non-empty `questions:` list", where=str(path),
                         fix="see params/eval/personality.yaml for the schema")
    name = str(data.get("name") or path.stem)
    questions, seen = [], set()
    for index, raw in enumerate(data["questions"]):
        qid = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path}: question {qid or f'#{index + 1}'}"
        if not isinstance(raw, dict):
            raise SuiteError("a question must be a mapping", where=where, fix="indent its keys under `- id: ...`")
        unknown = set(raw) - {"id", "category", "prompt", "expected", "forbidden", "reference"}
        if unknown:
            raise SuiteError(f"unknown keys {sorted(unknown)}", where=where,
                             fix="allowed: id, category, prompt, expected, forbidden, reference")
        if not qid or not isinstance(qid, str) or qid in seen:
            raise SuiteError("each question needs a unique string `id`", where=where, fix="add `id: some_name`")
        seen.add(qid)
        if not isinstance(raw.get("prompt"), str) or not raw["prompt"].strip():
            raise SuiteError("missing `prompt`", where=where, fix="add the question text as `prompt:`")
        category = raw.get("category", "facts")
        if category not in CATEGORIES:
            raise SuiteError(f"category {category!r} is not one of {list(CATEGORIES)}", where=where, fix="pick one of those")
        expected = raw.get("expected") or {}
        if not isinstance(expected, dict) or not expected.get("patterns"):
            raise SuiteError("the question has no expectations (`expected.patterns`)", where=where,
                             fix="add expected: {mode: any, patterns: ['regex', ...]} with the facts a good answer states")
        mode = expected.get("mode", "all")
        if mode not in ("all", "any"):
            raise SuiteError(f"expected.mode {mode!r} must be all or any", where=where, fix="write mode: all or mode: any")
        patterns = expected["patterns"] if isinstance(expected["patterns"], list) else [expected["patterns"]]
        forbidden = raw.get("forbidden") or []
        for p in [*patterns, *forbidden]:
            _compile(p, where)
        questions.append(Question(qid, name, category, raw["prompt"].strip(), mode, tuple(patterns), tuple(forbidden),
                                  str(raw.get("reference") or "")))
    return questions


def load_suites(paths: list[str], root: Path) -> list[Question]:
    """All questions of the version's suites, in order."""
    questions = []
    for p in paths:
        questions.extend(load_suite(root / p if not Path(p).is_absolute() else Path(p)))
    return questions


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

def generate(model: Any, tokenizer: Any, chats: list[list[dict]], *, max_new_tokens: int, batch_size: int,
             do_sample: bool = False, temperature: float = 0.7, seed: int = 0) -> list[dict]:
    """Answer each chat with the chat template, batched with left padding; marks truncated answers."""
    import torch

    tokenizer.padding_side = "left"  # decoder-only models must continue from the right edge
    eos = tokenizer.eos_token_id
    results = []
    for start in range(0, len(chats), batch_size):
        batch = chats[start:start + batch_size]
        texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in batch]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        torch.manual_seed(seed + start)
        kwargs = {"do_sample": True, "temperature": temperature, "top_p": 1.0} if do_sample else {"do_sample": False}
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=eos, use_cache=True, **kwargs)
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            ended = eos in row
            tokens = row[: row.index(eos)] if ended else row
            results.append({"text": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                            "new_tokens": len(tokens) + (1 if ended else 0), "ended_with_eos": ended,
                            "truncated": (not ended) and len(row) >= max_new_tokens})
    return results


# ---------------------------------------------------------------------------------------------
# Verdicts and aggregates
# ---------------------------------------------------------------------------------------------

def distinct_n(text: str, n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams (1.0 for texts too short to repeat)."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def judge_answer(question: Question, answer: dict, library: Any, similarity: float | None = None,
                 threshold: float | None = None) -> dict:
    """Per-metric verdicts for one answer, each with the reason (coherence needs similarity and threshold)."""
    text = answer["text"]
    hits = library.scan(text)
    found = [p for p in question.expected if re.search(p, text, re.IGNORECASE)]
    factual = (len(found) / len(question.expected)) if question.expected_mode == "all" else float(bool(found))
    bad = [p for p in question.forbidden if re.search(p, text, re.IGNORECASE)]
    return {
        "agent_like": float(bool(hits)),
        "agent_like_rules": sorted({h.rule for h in hits}),
        "factual": round(factual, 4),
        "facts_found": found,
        "facts_missing": [p for p in question.expected if p not in found],
        "forbidden": float(bool(bad)),
        "forbidden_found": bad,
        "truncated": float(answer["truncated"]),
        "distinct_2": round(distinct_n(text), 4),
        "coherence": float(similarity >= threshold) if similarity is not None and threshold is not None else 0.0,
        "persona_similarity": None if similarity is None else round(float(similarity), 4),
    }


def answer_score(verdict: dict, weights: dict) -> float:
    """The per-answer score in [0, 1] under the params' weights."""
    parts = {"not_agent_like": 1 - verdict["agent_like"], "factual": verdict["factual"], "coherence": verdict["coherence"],
             "not_truncated": 1 - verdict["truncated"], "no_forbidden": 1 - verdict["forbidden"]}
    total = sum(weights.values())
    return sum(weights[k] * parts[k] for k in weights) / total


def bootstrap_ci(values: list[float], resamples: int, seed: int, groups: list[str] | None = None) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling whole questions (with their samples) when grouped."""
    values_arr = np.asarray(values, dtype=float)
    if len(values_arr) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, len(values_arr), size=(resamples, len(values_arr)))
        means = values_arr[idx].mean(axis=1)
    else:
        keys = sorted(set(groups))
        members = [np.flatnonzero(np.asarray(groups) == k) for k in keys]
        picks = rng.integers(0, len(keys), size=(resamples, len(keys)))
        means = np.array([np.concatenate([values_arr[members[k]] for k in row]).mean() for row in picks])
    low, high = np.percentile(means, [2.5, 97.5])
    return (round(float(low), 4), round(float(high), 4))


def aggregate(rows: list[dict], weights: dict, resamples: int, seed: int) -> dict:
    """Mean and 95% interval of every metric and of the score /10, for one model's answers."""
    groups = [r["question_id"] for r in rows]
    out: dict[str, Any] = {"answers": len(rows), "questions": len(set(groups))}
    for metric in METRICS:
        values = [r["verdict"][metric] for r in rows]
        out[metric] = {"mean": round(float(np.mean(values)), 4), "ci95": bootstrap_ci(values, resamples, seed, groups),
                       "count": int(sum(1 for v in values if v >= 0.5)) if metric != "distinct_2" else None}
    scores = [10 * r["score"] for r in rows]
    out["score"] = {"mean": round(float(np.mean(scores)), 3), "ci95": bootstrap_ci(scores, resamples, seed, groups)}
    return out


def within_noise(a: dict, b: dict) -> bool:
    """Whether two score aggregates' intervals overlap (the difference may be noise)."""
    (alo, ahi), (blo, bhi) = a["ci95"], b["ci95"]
    return not (ahi < blo or bhi < alo)


# ---------------------------------------------------------------------------------------------
# Personality coherence
# ---------------------------------------------------------------------------------------------

def persona_profile(persona: dict, questions: list[Question]) -> list[str]:
    """What "in character" is measured against: persona-card lines and the suite's reference answers."""
    lines = [str(persona.get("summary", ""))]
    for key in ("background", "likes", "dislikes"):
        lines += [str(x) for x in persona.get(key, []) or []]
    lines += [q.reference for q in questions if q.reference]
    return [line for line in lines if line.strip()]


@dataclass
class Coherence:
    """Persona similarity of texts, and the threshold above which a text counts as in character."""

    embed: Any                      # texts -> L2-normalised vectors
    profile: np.ndarray             # (n_profile, dim)
    threshold: float
    calibration: dict

    def similarities(self, texts: list[str], top: int = 3) -> list[float]:
        """Mean of the `top` highest cosines between each text and the profile."""
        if not texts:
            return []
        sims = np.asarray(self.embed(texts)) @ self.profile.T
        k = min(top, sims.shape[1])
        return np.sort(sims, axis=1)[:, -k:].mean(axis=1).astype(float).tolist()


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


def calibrate_coherence(embed: Any, persona: dict, questions: list[Question], raw_chats: list[dict], library: Any,
                        fixed_threshold: float | None = None, limit: int = 2000) -> Coherence:
    """Profile vectors and a threshold calibrated on the raw data: in-persona replies vs agent-like sentences."""
    from molting.data import assistant_text

    profile = np.asarray(embed(persona_profile(persona, questions)))
    coherence = Coherence(embed, profile, 0.5, {})
    replies = [assistant_text(c) for c in raw_chats[:limit]]
    hits = [library.first(r) for r in replies]
    in_persona = [r for r, hit in zip(replies, hits) if hit is None]
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
    coherence.calibration = {
        "threshold": threshold, "source": "params eval.coherence_threshold" if fixed_threshold is not None else "calibrated",
        "balanced_accuracy": accuracy, "positives": len(positives), "negatives": len(negatives),
        "positive_mean": round(float(np.mean(positives)), 4) if positives else None,
        "negative_mean": round(float(np.mean(negatives)), 4) if negatives else None,
        "positive_similarities": [round(x, 4) for x in positives], "negative_similarities": [round(x, 4) for x in negatives],
    }
    return coherence


def make_coherence(cfg: Any, questions: list[Question], library: Any) -> Coherence:
    """The coherence scorer for a version: persona card and raw data from its params, cached embeddings."""
    from molting.data import load_chats
    from molting.embed import Embedder
    from molting.models import cache_dir
    from molting.params import project_path, read_yaml

    persona = read_yaml(project_path(cfg, cfg.data.persona, "data.persona"))
    raw = load_chats(project_path(cfg, cfg.data.raw, "data.raw"), cfg.data.format, "skip").chats
    embedder = Embedder(cache_dir=cache_dir() / "embeddings")
    return calibrate_coherence(embedder.encode, persona, questions, raw, library, cfg.eval.coherence_threshold)


def calibration_rows(coherence: Coherence) -> list[dict]:
    """The calibration as a small table for the notebook."""
    c = coherence.calibration
    return [{"threshold": c["threshold"], "from": c["source"], "in-persona replies": c["positives"],
             "agent-like sentences": c["negatives"], "mean similarity (in-persona)": c["positive_mean"],
             "mean similarity (agent-like)": c["negative_mean"], "balanced accuracy": c["balanced_accuracy"]}]


# ---------------------------------------------------------------------------------------------
# Perplexity
# ---------------------------------------------------------------------------------------------

def heldout_perplexity(model: Any, tokenizer: Any, chats: list[dict], system_prompt: str | None, max_length: int,
                       batch_size: int = 8) -> float | None:
    """exp(mean cross-entropy over the assistant tokens of the held-out chats)."""
    import torch

    from molting.train import IGNORE, tokenize_chat

    if not chats:
        return None
    rows = [tokenize_chat(tokenizer, with_system_prompt(c["messages"], system_prompt), max_length) for c in chats]
    total_loss, total_tokens = 0.0, 0
    pad = tokenizer.pad_token_id
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.tensor([r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in batch])
        mask = torch.tensor([r["attention_mask"] + [0] * (width - len(r["input_ids"])) for r in batch])
        labels = torch.tensor([r["labels"] + [IGNORE] * (width - len(r["input_ids"])) for r in batch])
        with torch.inference_mode():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.float()
        shift_logits, shift_labels = logits[:, :-1], labels[:, 1:].to(logits.device)
        loss = torch.nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
                                                 ignore_index=IGNORE, reduction="sum")
        total_loss += float(loss)
        total_tokens += int((shift_labels != IGNORE).sum())
    return round(math.exp(total_loss / max(total_tokens, 1)), 4)


# ---------------------------------------------------------------------------------------------
# The whole evaluation of one version
# ---------------------------------------------------------------------------------------------

def answer_suite(model: Any, tokenizer: Any, questions: list[Question], cfg: Any, label: str) -> list[dict]:
    """Every question answered `eval.samples` times by one model (greedy when samples == 1)."""
    e = cfg.eval
    chats = [with_system_prompt([{"role": "user", "content": q.prompt}], cfg.data.system_prompt) for q in questions]
    rows = []
    for sample in range(e.samples):
        answers = generate(model, tokenizer, chats, max_new_tokens=e.max_new_tokens, batch_size=e.batch_size,
                           do_sample=e.samples > 1, temperature=e.temperature, seed=cfg.seed + 1000 * sample)
        for question, answer in zip(questions, answers):
            rows.append({"model": label, "question_id": question.id, "suite": question.suite, "category": question.category,
                         "prompt": question.prompt, "sample": sample, **answer})
    return rows


def score_rows(rows: list[dict], questions: list[Question], library: Any, weights: dict,
               coherence: "Coherence | None" = None) -> list[dict]:
    """Attach verdicts and the per-answer score to generated rows."""
    by_id = {q.id: q for q in questions}
    sims = coherence.similarities([r["text"] for r in rows]) if coherence else [None] * len(rows)
    for row, sim in zip(rows, sims):
        row["verdict"] = judge_answer(by_id[row["question_id"]], row, library, sim,
                                      coherence.threshold if coherence else None)
        row["score"] = round(answer_score(row["verdict"], weights), 4)
    return rows


def summarize(rows: list[dict], cfg: Any, perplexity: dict, calibration: dict | None = None,
              judge: dict | None = None) -> dict:
    """eval.json: per-model aggregates with intervals, perplexities, the noise verdict and the config."""
    e = cfg.eval
    weights = dict(e.weights)
    models = {}
    for label in ("base", "tuned"):
        subset = [r for r in rows if r["model"] == label]
        if subset:
            models[label] = aggregate(subset, weights, e.bootstrap, cfg.seed)
            models[label]["heldout_perplexity"] = perplexity.get(label)
    summary = {"models": models, "weights": weights, "target_score": e.target_score,
               "config": {"max_new_tokens": e.max_new_tokens, "samples": e.samples, "batch_size": e.batch_size,
                          "temperature": e.temperature if e.samples > 1 else None, "suites": list(e.suites),
                          "seed": cfg.seed, "bootstrap": e.bootstrap}}
    summary["coherence_calibration"] = calibration
    summary["judge"] = judge
    if "base" in models and "tuned" in models:
        summary["tuned_vs_base_within_noise"] = within_noise(models["base"]["score"], models["tuned"]["score"])
    return summary


def attach_judge(rows: list[dict], judged: list[dict]) -> None:
    """Put each LLM-judge score on its answer row (shown beside the automatic verdicts)."""
    by_key = {(j["model"], j["question_id"], j["sample"]): j for j in judged}
    for row in rows:
        found = by_key.get((row["model"], row["question_id"], row["sample"]))
        if found:
            row["judge"] = {"score": found["judge_score"], "reason": found["judge_reason"]}


def side_by_side(rows: list[dict]) -> list[dict]:
    """One row per question (first sample): base answer, tuned answer and their verdicts."""
    table: dict[str, dict] = {}
    for row in rows:
        if row["sample"] != 0:
            continue
        entry = table.setdefault(row["question_id"], {"question": row["prompt"], "category": row["category"]})
        v = row["verdict"]
        flags = [name for name, on in (("agent-like", v["agent_like"]), ("forbidden", v["forbidden"]),
                                       ("truncated", v["truncated"]), ("out of character", not v["coherence"])) if on]
        entry[f"{row['model']}_answer"] = row["text"]
        judged = f"; judge {row['judge']['score']}/10" if row.get("judge") and row["judge"]["score"] is not None else ""
        entry[f"{row['model']}_verdict"] = f"facts {v['factual']:.0%}" + (f"; {', '.join(flags)}" if flags else "") + judged
    return list(table.values())


def load_tuned(src: Any, adapter_dir: Path, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """The base model with the trained adapter attached (base answers come from disable_adapter())."""
    from peft import PeftModel

    from molting.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(src, trust_remote_code)
    base = load_model(src, trust_remote_code=trust_remote_code)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    return model, tokenizer


def save(rows: list[dict], summary: dict, paths: Any) -> None:
    """answers.jsonl and eval.json."""
    from molting.runs import write_json, write_jsonl

    write_jsonl(paths.answers_jsonl, rows)
    write_json(paths.eval_json, summary)


def metric_rows(summary: dict) -> list[dict]:
    """One row per metric and model: mean and 95% interval (for the notebook table)."""
    rows = []
    for metric in (*METRICS, "score"):
        row = {"metric": metric}
        for label, agg in summary["models"].items():
            row[label] = agg[metric]["mean"]
            row[f"{label} 95% CI"] = f"[{agg[metric]['ci95'][0]:.2f}, {agg[metric]['ci95'][1]:.2f}]"
        rows.append(row)
    rows.append({"metric": "heldout_perplexity", **{label: agg.get("heldout_perplexity") for label, agg in summary["models"].items()}})
    return rows
