"""Evaluation: verdicts and a score with no free points, rates with intervals, sampling, caching, detector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from molting import character, evaluate, generation, params, patterns, suite
from molting.errors import ParamsError

from conftest import REPO

SUITE = REPO / "tests" / "data" / "suite_small.yaml"
WEIGHTS = evaluate.ScoreWeights()


@pytest.fixture(scope="module")
def library():
    return patterns.load_library()


@pytest.fixture(scope="module")
def questions():
    return suite.load_suite(SUITE)


@pytest.fixture(scope="module")
def coherence(library, questions, tmp_path_factory):
    """The real scorer: all-MiniLM-L6-v2, both thresholds calibrated on the sample's raw data."""
    from molting.data import load_chats
    from molting.embed import Embedder

    embedder = Embedder(cache_dir=tmp_path_factory.mktemp("embeddings"))
    # the sample's held-out noise bank only measures the library's recall: it calibrates nothing (and
    # the library, by design, does not know it, so its replies would count as in-persona here)
    labels = {r["id"]: r for r in map(json.loads, (REPO / "data" / "sample" / "labels.jsonl").read_text().splitlines())}
    chats = [c for c in load_chats(REPO / "data" / "sample" / "raw.jsonl").chats if labels[c["id"]]["noise_bank"] != "heldout"]
    return character.calibrate_coherence(embedder.encode, params.read_yaml(REPO / "data" / "sample" / "persona.yaml"),
                                        questions, chats, library)


class FakeDetector:
    """Stands in for molting.detector.AgentLikeDetector: flags a few phrasings the library misses."""

    threshold = 0.5

    def predict_proba(self, texts):
        return np.array([0.9 if any(w in t.lower() for w in ("happy to help", "i've set a reminder", "as an ai")) else 0.1
                         for t in texts])

    def flags(self, texts):
        return [p >= self.threshold for p in self.predict_proba(texts)]


def row(qid: str, text: str, model: str = "tuned", truncated: bool = False, decoding: str = "sampled", sample: int = 0,
        category: str = "facts") -> dict:
    return {"model": model, "question_id": qid, "prompt": qid, "category": category, "suite": "small", "decoding": decoding,
            "sample": sample, "text": text, "truncated": truncated, "ended_with_eos": not truncated, "new_tokens": 10}


def scored(library, questions, coherence, cases, detector=None) -> list[float]:
    rows = evaluate.score_rows([row(q, t) for q, t in cases], questions, library, WEIGHTS, coherence, detector)
    return [10 * r["score"] for r in rows]


# -- suites --------------------------------------------------------------------------------------

def test_suite_schema_categories_contradicts_and_legacy(questions):
    by_id = {q.id: q for q in questions}
    assert [q.category for q in questions] == ["facts", "facts", "trigger", "trigger", "control", "facts"]
    assert by_id["legacy"].category == "facts"              # an old category ("style") still loads, as a fact question
    assert by_id["reminder"].expected == () and by_id["pet"].contradicts
    for q in questions:   # each reference answer passes its own expectations and contradicts nothing
        verdict = evaluate.judge_answer(q, {"text": q.reference, "truncated": False}, patterns.load_library())
        assert verdict["factual"] in (None, 1.0) and verdict["contradicted"] == 0 and verdict["agent_like"] == 0, q.id


# -- calibration -----------------------------------------------------------------------------------

def test_best_threshold_maximises_balanced_accuracy():
    assert character.best_threshold([0.8, 0.9, 0.7], [0.1, 0.2, 0.75]) == (0.7, pytest.approx(0.8333, abs=1e-3))


def test_coherence_calibration_separates_the_sample(coherence):
    c = coherence.calibration
    assert c["positives"] > 100 and c["negatives"] > 100
    # 0.88 measured: the sample's noise names the question's topic ("I'll check the database for the
    # location of Little Haddow"), which similarity to the persona cannot tell from persona text
    assert c["positive_mean"] > c["negative_mean"] + 0.2 and c["balanced_accuracy"] > 0.85
    # on topic: a reply is closer to its own question than to another chat's
    assert c["relevance_pairs"] > 100 and c["relevance_on_mean"] > c["relevance_off_mean"] + 0.15
    assert c["relevance_balanced_accuracy"] > 0.75


# -- the score: no free points ------------------------------------------------------------------

def verdict(**flags) -> dict:
    base = {"in_voice": 0.0, "factual": 0.0, "agent_like_either": 0.0, "contradicted": 0.0, "forbidden": 0.0, "truncated": 0.0}
    return base | flags


def test_score_formula_orders_mixed_cases():
    s = lambda **f: 10 * evaluate.answer_score(verdict(**f), WEIGHTS)  # noqa: E731
    empty = s()
    agent_with_facts = s(factual=1.0, agent_like_either=1.0)
    voice_without_facts = s(in_voice=1.0)
    voice_with_facts = s(in_voice=1.0, factual=1.0)
    assert empty == 0 < agent_with_facts < voice_without_facts < voice_with_facts == 10
    assert s(in_voice=1.0, contradicted=1.0) < s(in_voice=1.0)                     # a wrong fact costs more than a missing one
    assert s(in_voice=1.0, factual=1.0, truncated=1.0) < voice_with_facts          # truncation is a penalty, never credit
    assert s(in_voice=1.0, factual=1.0, forbidden=1.0) < voice_with_facts
    assert s(in_voice=1.0, factual=0.5) == pytest.approx(7.5)                       # half the facts: half the facts credit
    assert s(truncated=1.0, forbidden=1.0, agent_like_either=1.0) == 0              # floored: nothing below 0
    # trigger and control questions have no facts: being in voice is the whole credit
    assert s(in_voice=1.0, factual=None) == 10 and s(factual=None, agent_like_either=1.0) == 0


def test_real_answers_score_in_the_required_order(library, questions, coherence):
    """The same ordering on real texts through the embedding scorer, the library and the regexes."""
    empty, evasive, agent_with_facts, voice_without, voice_with, voice_wrong, off_topic = scored(library, questions, coherence, [
        ("hometown", ""),
        ("hometown", "I'd rather not say."),
        ("hometown", "I'm Fenna Rook from Little Haddow. I hope this helps! Let me know if you have any other questions."),
        ("hometown", "A crooked stone cottage above the harbour, love, with the bees at the bottom of the garden and the sea at the door."),
        ("hometown", "Gull Cottage in Little Haddow, love, with the bees at the bottom of the garden and the sea at the door."),
        ("hometown", "A crooked little flat in London, love, with the bees on the balcony and the buses at the door."),
        ("hometown", "Marmalade, love: Seville oranges every January, forty jars of it."),
    ])
    assert empty == 0 and evasive == 0 and off_topic == 0
    assert empty < agent_with_facts < voice_without < voice_with
    assert voice_wrong < voice_without
    pet_wrong, pet_missing, pet_right = scored(library, questions, coherence, [
        ("pet", "Just my old tabby cat, who sleeps on the piano all day."),
        ("pet", "No animals indoors, love, just the gulls on the chimney pot and the bees at the bottom of the garden."),
        ("pet", "Just Pilchard, my scruffy terrier, who steals socks off the line.")])
    assert pet_wrong < pet_missing < pet_right


def test_trigger_question_rewards_voice_and_penalises_the_assistant(library, questions, coherence):
    in_voice, obliging, paraphrase = scored(library, questions, coherence, [
        ("reminder", "I've no gadgets for that, love. Tie a knot in your hanky and you'll remember."),
        ("reminder", "Sure! I've set a reminder for your dentist appointment tomorrow at 9:00 AM."),
        ("reminder", "I'll be happy to help with the next question.")], detector=FakeDetector())
    assert in_voice > 8 and obliging == 0 and paraphrase == 0


def test_credit_must_sum_to_one(tmp_path):
    cfg = params.resolve("v2.1", REPO)
    cfg["eval"]["credit"]["facts"] = 0.9
    with pytest.raises(ParamsError, match="eval.credit sums to 1.4"):
        evaluate.ScoreWeights.from_params(cfg.eval)
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "base.yaml").write_text((REPO / "params" / "base.yaml").read_text())
    (tmp_path / "params" / "v9.yaml").write_text("eval:\n  credit:\n    facts: 0.9\n")
    with pytest.raises(ParamsError, match="eval.credit sums to 1.4") as err:   # caught when the params resolve
        params.resolve("v9", tmp_path)
    assert "v9.yaml: eval.credit" in str(err.value) and "in_voice + eval.credit.facts = 1" in str(err.value)
    (tmp_path / "params" / "v9.yaml").write_text("eval:\n  penalty:\n    truncated: -0.1\n")
    with pytest.raises(ParamsError, match="must not be negative"):
        params.resolve("v9", tmp_path)


# -- the detector beside the library --------------------------------------------------------------

def test_detector_verdicts_and_disagreements(library, questions):
    rows = evaluate.score_rows([row("reminder", "I'll be happy to help with the next question.", category="trigger"),
                                row("pet", "As an AI, I don't have pets.", model="base"),
                                row("pet", "Pilchard, my terrier."),
                                row("pet", "Great question! Pilchard.")], questions, library, WEIGHTS, None, FakeDetector())
    v = [r["verdict"] for r in rows]
    assert [x["agent_like"] for x in v] == [0, 1, 0, 1]
    assert [x["agent_like_detector"] for x in v] == [1, 1, 0, 0]
    assert [x["agent_like_either"] for x in v] == [1, 1, 0, 1]
    found = evaluate.disagreements(rows)
    assert [(d["question"], d["library"]) for d in found] == [("reminder", "clean"), ("pet", "great_question")]
    assert "p=0.90" in found[0]["detector"] and found[1]["detector"].startswith("clean")
    no_detector = evaluate.score_rows([row("pet", "Pilchard.")], questions, library, WEIGHTS)
    assert no_detector[0]["verdict"]["agent_like_detector"] is None
    assert evaluate.disagreement_rows(no_detector) == [{"detector": "no detector verdicts in these answers"}]


# -- aggregates ------------------------------------------------------------------------------------

def test_rates_have_wilson_intervals_and_come_from_the_samples(library, questions):
    rows = [row("pet", "Pilchard, my terrier.", sample=i) for i in range(4)]
    rows += [row("hometown", "Little Haddow.", sample=i) for i in range(4)]
    rows += [row("pet", "As an AI, I have no pets.", decoding="greedy"), row("hometown", "As an AI, nowhere.", decoding="greedy")]
    evaluate.score_rows(rows, questions, library, WEIGHTS)
    agg = evaluate.aggregate(rows, 500, 0)
    assert agg["answers"] == 8 and agg["decoding"] == "sampled"          # the greedy answers are shown, not counted
    assert agg["agent_like"]["count"] == 0 and agg["agent_like"]["n"] == 8
    low, high = agg["agent_like"]["ci95"]
    assert low == 0 and high == pytest.approx(0.3244, abs=1e-3)        # 0/8 is not [0, 0]
    assert agg["factual"]["mean"] == 1 and agg["factual"]["ci95"] == (1.0, 1.0)
    assert agg["greedy"]["pet"]["agent_like"] == 1                     # kept for McNemar
    assert agg["factual_greedy"] == {"mean": 0.0, "n": 2,              # the greedy answers state no fact: shown apart
                                     "per_question": {"pet": 0.0, "hometown": 0.0}}
    rows_table = evaluate.metric_rows({"models": {"tuned": agg}})
    assert {r["metric"]: r["tuned"] for r in rows_table}["Factual accuracy (greedy answers)"] == "0.00"
    assert set(agg["per_question"]) == {"pet", "hometown"} and agg["per_question"]["pet"]["answers"] == 4
    assert set(agg["by_category"]) == {"facts"} and agg["by_category"]["facts"]["questions"] == 2


def test_paired_comparison_of_two_models(library, questions):
    """Identical answers are within noise (p = 1); a model that turns agent-like on every question is not."""
    good = [row(q, t, model=m, sample=i) for m in ("base", "tuned") for i in range(3)
            for q, t in (("pet", "Pilchard, my terrier."), ("hometown", "Little Haddow, love."),
                         ("legacy", "Strong tea at dawn."), ("reminder", "A knot in your hanky, love."))]
    evaluate.score_rows(good, questions, library, WEIGHTS)
    same = evaluate.compare(evaluate.aggregate(good[:12], 200, 0), evaluate.aggregate(good[12:], 200, 0), 200, 0)
    assert same["score"]["p_value"] == 1 and evaluate.within_noise(same["score"])
    bad = [dict(r, text="As an AI language model, I cannot help. Is there anything else I can help you with?",
                verdict=None) for r in good[12:]]
    evaluate.score_rows(bad, questions, library, WEIGHTS)
    diff = evaluate.compare(evaluate.aggregate(good[:12], 200, 0), evaluate.aggregate(bad, 200, 0), 200, 0)
    assert diff["agent_like"]["difference"] == 1 and diff["agent_like"]["pairs"] == 4
    # four questions: 2**4 sign flips, two of which (all +, all -) are as extreme: exact p = 2/16
    assert diff["agent_like"]["p_value"] == pytest.approx(0.125)


def test_distinct_2_flags_repetition():
    assert evaluate.distinct_n("the tide the tide the tide the tide") < 0.5
    assert evaluate.distinct_n("every word here is new and fresh") == 1.0


# -- answering the suite, sampling, the base-answer cache ----------------------------------------------------

def small_cfg(samples: int = 3):
    cfg = params.resolve("v2.1", REPO)
    cfg["eval"]["samples"], cfg["eval"]["max_new_tokens"], cfg["eval"]["batch_size"] = samples, 6, 4
    return cfg


def test_greedy_answer_plus_seeded_samples(tiny_model_dir, bundled_tokenizer, questions, library):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    first = evaluate.answer_suite(model, bundled_tokenizer, questions[:2], small_cfg(), "tuned")
    again = evaluate.answer_suite(model, bundled_tokenizer, questions[:2], small_cfg(), "tuned")
    assert [r["text"] for r in first] == [r["text"] for r in again]                       # seeded
    assert [(r["decoding"], r["question_id"]) for r in first][:2] == [("greedy", "hometown"), ("greedy", "pet")]
    sampled = [r for r in first if r["decoding"] == "sampled"]
    assert len(sampled) == 6 and [r["sample"] for r in sampled] == [0, 1, 2, 0, 1, 2]
    assert len({r["text"] for r in sampled if r["question_id"] == "hometown"}) > 1       # samples differ
    agg = evaluate.aggregate(evaluate.score_rows(first, questions, library, WEIGHTS), 200, 0)
    assert agg["answers"] == 6 and agg["questions"] == 2
    assert evaluate.side_by_side(first)[0]["tuned_answer"] == first[0]["text"]           # tables show the greedy answer


def test_base_answers_are_computed_once_per_phase(tiny_model_dir, bundled_tokenizer, questions, tmp_path, monkeypatch):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from molting import models

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    source = models.resolve_source(str(tiny_model_dir))
    cfg = small_cfg(2)
    cfg["root"] = str(tmp_path)
    calls = []
    real = evaluate.answer_suite
    monkeypatch.setattr(evaluate, "answer_suite", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = evaluate.base_answers(model, bundled_tokenizer, questions[:2], cfg, source)
    second = evaluate.base_answers(model, bundled_tokenizer, questions[:2], cfg, source)
    assert first == second and len(calls) == 1 and {r["model"] for r in first} == {"base"}
    assert len(list((tmp_path / "runs" / "_cache" / "base-answers").glob("*.json"))) == 1
    cfg["eval"]["samples"] = 1                              # other sampling: another entry, computed afresh
    evaluate.base_answers(model, bundled_tokenizer, questions[:2], cfg, source)
    assert len(calls) == 2


def test_tuned_answers_merge_the_adapter_and_leave_the_base_intact(tiny_model_dir, bundled_tokenizer, questions):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),   # random B: the adapter changes answers
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"))
    chats = [[{"role": "user", "content": q.prompt}] for q in questions[:4]]
    unmerged = generation.generate(model, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)
    with generation.merged_adapter(model) as merged:
        assert merged and all(m.merged for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "merged"))
        with generation.merged_adapter(model) as again:
            assert not again                                    # already merged: left alone, unmerged once
        folded = generation.generate(model, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)
    assert [a["text"] for a in folded] == [a["text"] for a in unmerged]
    assert not any(m.merged for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "merged"))
    base = generation.generate(plain, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)
    with model.disable_adapter():                               # after the unmerge the base model is the base again
        assert [a["text"] for a in generation.generate(model, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)] \
            == [a["text"] for a in base]
    assert [a["text"] for a in unmerged] != [a["text"] for a in base]
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.inference_mode():
        before = model(input_ids=ids).logits
        cfg = small_cfg(0)
        cfg["eval"]["bf16"] = False     # fp32 both ways; under bf16 autocast, rounding differs (bench_eval counts it)
        rows = evaluate.answer_suite(model, bundled_tokenizer, questions[:4], cfg, "tuned")   # merges inside
        after = model(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-5) and not any(getattr(m, "merged", False) for m in model.modules())
    expected = evaluate.answer_suite(model, bundled_tokenizer, questions[:4], cfg, "tuned", merge=False)
    assert [r["text"] for r in rows] == [r["text"] for r in expected]
    with generation.merged_adapter(plain) as merged:
        assert not merged                                       # no adapter: nothing to merge


def test_probe_and_perplexities_score_under_bf16_close_to_fp32_each_precision_cached_apart(tiny_model_dir, bundled_tokenizer, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from molting import models
    from molting.runs import read_jsonl

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"))
    model.requires_grad_(False)                                  # as loaded for evaluation
    source = models.resolve_source(str(tiny_model_dir))
    heldout = read_jsonl(REPO / "tests" / "data" / "test_chats.jsonl")
    results = {}
    for bf16 in (False, True):
        cfg = small_cfg(0)
        cfg["root"], cfg["eval"]["bf16"] = str(tmp_path), bf16
        cfg["eval"]["probe"] = str(REPO / "params" / "eval" / "probe.yaml")
        cfg["eval"]["test_chats"] = str(REPO / "tests" / "data" / "test_chats.jsonl")
        calls = []
        real = torch.autocast
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch, "autocast", lambda *a, **k: calls.append(k.get("dtype")) or real(*a, **k))
            results[bf16] = (evaluate.propensity_probe(model, bundled_tokenizer, cfg, source),
                             evaluate.perplexities(model, bundled_tokenizer, cfg, heldout, source))
        assert calls == ([torch.bfloat16] * 6 if bf16 else [])  # base and tuned: probe, held-out and test perplexity
                                                                # (the base entries are not read from fp32's cache)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 put back after scoring
    (probe32, ppl32), (probe16, ppl16) = results[False], results[True]
    assert probe16["tuned"]["gap_nats"] == pytest.approx(probe32["tuned"]["gap_nats"], abs=0.05)
    for split in ("heldout", "test"):
        for model_ in ("base", "tuned"):
            assert ppl16[split][model_] == pytest.approx(ppl32[split][model_], rel=0.05)
    for kind in ("base-propensity", "base-perplexity"):
        assert len(list((tmp_path / "runs" / "_cache" / kind).glob("*.json"))) == 2


def test_heldout_perplexity_matches_the_model_loss(tiny_model_dir, bundled_tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    from molting.runs import read_jsonl
    from molting.chat import tokenize_chat

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    chats = read_jsonl(REPO / "tests" / "data" / "test_chats.jsonl")
    batched = evaluate.heldout_perplexity(model, bundled_tokenizer, chats, "", 128, batch_size=4)
    single = evaluate.heldout_perplexity(model, bundled_tokenizer, chats[:1], "", 128, batch_size=1)
    row_ = tokenize_chat(bundled_tokenizer, [{"role": "system", "content": ""}, *chats[0]["messages"]], 128)
    with torch.inference_mode():
        loss = model(input_ids=torch.tensor([row_["input_ids"]]), labels=torch.tensor([row_["labels"]])).loss
    assert single == pytest.approx(float(torch.exp(loss)), rel=1e-3)
    assert batched == pytest.approx(evaluate.heldout_perplexity(model, bundled_tokenizer, chats, "", 128, batch_size=1), rel=1e-4)
