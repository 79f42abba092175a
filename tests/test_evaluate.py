"""Evaluation: suites, verdicts that mean something, truncation, intervals, reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from molting import evaluate, params, patterns
from molting.errors import SuiteError

from conftest import REPO

SUITE = REPO / "params" / "eval" / "personality.yaml"
CFG = params.resolve("v2.1", REPO)
WEIGHTS = dict(CFG.eval.weights)

PERSONA_ANSWERS = {
    "identity": "I'm Fenna Rook, love, retired piano tuner.",
    "hometown": "Gull Cottage in Little Haddow, where I was born.",
    "former_job": "I tuned pianos up and down the coast for thirty-one years.",
    "pet": "Pilchard, my terrier, who steals socks.",
    "hobby": "My bees, four hives of them, and their honey.",
    "dislike": "Leaf blowers. Dreadful racket.",
    "favourite": "Seville orange marmalade every January.",
    "morning": "Up at half past five for strong tea and the shipping forecast.",
}
AGENT_ANSWERS = {
    "identity": "As an AI language model, I am SmolLM, an assistant.",
    "hometown": "I don't have a home. Let me check the files for that.",
    "former_job": "I'm sorry, but I can't help with that.",
    "pet": "As an AI, I don't have pets. Is there anything else I can help you with?",
    "hobby": "## Summary\n- [x] Task complete",
    "dislike": "Great question! I hope this helps.",
    "favourite": "I'll now search the web for recipes.",
    "morning": "As an AI, I don't have mornings.",
}


@pytest.fixture(scope="module")
def library():
    return patterns.load_library()


@pytest.fixture(scope="module")
def coherence(library, tmp_path_factory):
    """The real coherence scorer: all-MiniLM-L6-v2, calibrated on the sample data."""
    from molting.data import load_chats
    from molting.embed import Embedder

    embedder = Embedder(cache_dir=tmp_path_factory.mktemp("embeddings"))
    # the sample's held-out noise bank only measures the library's recall: it calibrates nothing (and
    # the library, by design, does not know it, so its replies would count as in-persona here)
    labels = {r["id"]: r for r in map(json.loads, (REPO / "data" / "sample" / "labels.jsonl").read_text().splitlines())}
    chats = [c for c in load_chats(REPO / "data" / "sample" / "raw.jsonl").chats if labels[c["id"]]["noise_bank"] != "heldout"]
    return evaluate.calibrate_coherence(embedder.encode, params.read_yaml(REPO / "data" / "sample" / "persona.yaml"),
                                        evaluate.load_suite(SUITE), chats, library)


def rows_for(answers: dict, label: str, truncated: bool = False) -> list[dict]:
    return [{"model": label, "question_id": qid, "prompt": qid, "category": "facts", "suite": "personality", "sample": 0,
             "text": text, "truncated": truncated, "ended_with_eos": not truncated, "new_tokens": 10}
            for qid, text in answers.items()]


def test_default_suite_is_the_8_question_test():
    questions = evaluate.load_suite(SUITE)
    assert len(questions) == 8 and len({q.id for q in questions}) == 8
    for q in questions:   # each reference answer passes its own expectations
        verdict = evaluate.judge_answer(q, {"text": q.reference, "truncated": False}, patterns.load_library())
        assert verdict["factual"] == 1.0 and verdict["forbidden"] == 0 and verdict["agent_like"] == 0, q.id


def test_best_threshold_maximises_balanced_accuracy():
    assert evaluate.best_threshold([0.8, 0.9, 0.7], [0.1, 0.2, 0.75]) == (0.7, pytest.approx(0.8333, abs=1e-3))


def test_coherence_calibration_separates_the_sample(coherence):
    c = coherence.calibration
    assert c["positives"] > 100 and c["negatives"] > 100
    # 0.88 measured: the sample's noise names the question's topic ("I'll check the database for the
    # location of Little Haddow"), which similarity to the persona cannot tell from persona text
    assert c["positive_mean"] > c["negative_mean"] + 0.2 and c["balanced_accuracy"] > 0.85


def test_agent_like_answers_score_lower_on_every_metric(library, coherence):
    questions = evaluate.load_suite(SUITE)
    persona = evaluate.score_rows(rows_for(PERSONA_ANSWERS, "tuned"), questions, library, WEIGHTS, coherence)
    agent = evaluate.score_rows(rows_for(AGENT_ANSWERS, "base"), questions, library, WEIGHTS, coherence)
    good = evaluate.aggregate(persona, WEIGHTS, 200, 0)
    bad = evaluate.aggregate(agent, WEIGHTS, 200, 0)
    assert good["agent_like"]["mean"] == 0 and bad["agent_like"]["mean"] == 1
    assert good["factual"]["mean"] == 1 and bad["factual"]["mean"] == 0
    assert good["forbidden"]["mean"] < bad["forbidden"]["mean"]
    assert good["coherence"]["mean"] > bad["coherence"]["mean"]
    assert good["score"]["mean"] > 8.5 and bad["score"]["mean"] < 3
    assert not evaluate.within_noise(good["score"], bad["score"])


def test_truncated_answer_is_detected_and_reported_apart(library):
    questions = evaluate.load_suite(SUITE)
    rows = evaluate.score_rows(rows_for(PERSONA_ANSWERS, "tuned", truncated=True), questions, library, WEIGHTS)
    agg = evaluate.aggregate(rows, WEIGHTS, 100, 0)
    assert agg["truncated"]["mean"] == 1 and agg["factual"]["mean"] == 1   # cut off, but not wrong
    assert evaluate.side_by_side(rows)[0]["tuned_verdict"].startswith("facts 100%; truncated")


def test_generation_marks_truncation(tiny_model_dir, bundled_tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    chats = [[{"role": "user", "content": "Hello?"}], [{"role": "user", "content": "Tell me a long story please"}]]
    out = evaluate.generate(model, bundled_tokenizer, chats, max_new_tokens=5, batch_size=2)
    again = evaluate.generate(model, bundled_tokenizer, chats, max_new_tokens=5, batch_size=1)
    assert [o["text"] for o in out] == [o["text"] for o in again]   # batching (left padding) changes nothing
    for o in out:
        assert o["truncated"] == (not o["ended_with_eos"])
        assert o["new_tokens"] <= 5


def test_identical_answers_score_identically(library):
    questions = evaluate.load_suite(SUITE)
    a = evaluate.score_rows(rows_for(PERSONA_ANSWERS, "base"), questions, library, WEIGHTS)
    b = evaluate.score_rows(rows_for(PERSONA_ANSWERS, "tuned"), questions, library, WEIGHTS)
    assert [r["verdict"] for r in a] == [r["verdict"] for r in b]
    assert evaluate.aggregate(a, WEIGHTS, 300, 1) == evaluate.aggregate(b, WEIGHTS, 300, 1)


def test_bootstrap_interval_brackets_the_mean():
    low, high = evaluate.bootstrap_ci([0, 1, 1, 0, 1, 1, 1, 0], 500, 0)
    assert low < 0.625 < high and 0 <= low and high <= 1
    assert evaluate.bootstrap_ci([1, 1, 1], 100, 0) == (1.0, 1.0)


@pytest.mark.parametrize("question,match", [
    ({"id": "q", "prompt": "Hi?"}, "no expectations"),
    ({"id": "q", "prompt": "Hi?", "expected": {"patterns": ["(unclosed"]}}, "bad regex"),
    ({"id": "q", "expected": {"patterns": ["x"]}}, "missing `prompt`"),
    ({"id": "q", "prompt": "Hi?", "category": "vibes", "expected": {"patterns": ["x"]}}, "category 'vibes'"),
    ({"id": "q", "prompt": "Hi?", "expected": {"patterns": ["x"]}, "expect": 1}, "unknown keys"),
])
def test_malformed_suite_names_file_and_question(tmp_path, question, match):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "questions": [question]}))
    with pytest.raises(SuiteError, match=match) as err:
        evaluate.load_suite(path)
    assert str(path) in str(err.value) and "question q" in str(err.value)


def test_distinct_2_flags_repetition():
    assert evaluate.distinct_n("the tide the tide the tide the tide") < 0.5
    assert evaluate.distinct_n("every word here is new and fresh") == 1.0


def test_several_seeded_samples_per_question(tiny_model_dir, bundled_tokenizer, library):
    """eval.samples > 1 samples with temperature, reproducibly, and the interval resamples whole questions."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    cfg = params.resolve("v2.1", REPO)
    cfg["eval"]["samples"], cfg["eval"]["max_new_tokens"] = 3, 6
    questions = evaluate.load_suite(SUITE)[:2]
    first = evaluate.answer_suite(model, bundled_tokenizer, questions, cfg, "tuned")
    again = evaluate.answer_suite(model, bundled_tokenizer, questions, cfg, "tuned")
    assert len(first) == 6 and [r["text"] for r in first] == [r["text"] for r in again]
    assert len({r["text"] for r in first if r["question_id"] == questions[0].id}) > 1   # samples differ
    rows = evaluate.score_rows(first, questions, library, WEIGHTS)
    agg = evaluate.aggregate(rows, WEIGHTS, 200, 0)
    assert agg["answers"] == 6 and agg["questions"] == 2
