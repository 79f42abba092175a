"""Tests for molting.detector: the fine-tuned classifier that gives a second opinion beside the pattern library."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from molting import detector, patterns
from molting.errors import DataError, ModelError


AGENT = ["I will run the script and commit the changes.", "Running the deployment script against the server now.",
         "I have pushed the commit to the branch.", "Let me run the migration script on the database.",
         "The script finished and the branch is merged.", "I will open a pull request with the commit."]
CLEAN = ["The gulls were loud over the harbour this morning.", "My sister bakes the best bread in the village.",
         "We walked the dog along the cliff path at dusk.", "The tide came in fast and soaked our picnic.",
         "Grandad still mends his own nets by the fire.", "The lighthouse keeper waved at the ferry."]
ROWS = [{"text": t, "agent_like": True} for t in AGENT] + [{"text": t, "agent_like": False} for t in CLEAN]
TINY_RECIPE = detector.Recipe(epochs=3, batch_size=4)  # for the random BERT: the mechanics, not the learning


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A random 2-layer BERT with the bundled MiniLM tokenizer: the detector's recipe in a second."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from molting.embed import default_model_dir

    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256, num_labels=2)
    folder = tmp_path_factory.mktemp("tiny-bert")
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_detector(tiny_bert):
    return detector.train_detector(ROWS, tiny_bert, TINY_RECIPE)


def mentions_script(pieces: list[str]) -> np.ndarray:
    """A stand-in classifier: a piece about a script scores 0.9, diluted to 0.5 in a text about gulls too, else 0.1."""
    return np.asarray([(0.5 if "gulls" in p else 0.9) if "script" in p else 0.1 for p in pieces])


@pytest.mark.integration
def test_trained_detector_separates_its_classes_and_keeps_the_interface():
    # the real MiniLM: a random BERT cannot learn through LoRA alone (its embeddings stay frozen)
    det = detector.train_detector(ROWS, recipe=detector.Recipe(epochs=10, batch_size=4, learning_rate=1e-3))  # 30 updates
    probs = det.predict_proba(AGENT + CLEAN)
    assert isinstance(probs, np.ndarray) and probs.shape == (12,)
    assert probs[:6].min() > det.threshold > probs[6:].max()
    assert det.flags(["I will run the script on the branch.", "The gulls followed the ferry to the harbour."]) == [True, False]
    assert det.predict_proba([]).shape == (0,)
    assert det.meta["rows_sha256"] == detector.rows_sha256(ROWS) and det.meta["rows"] == 12


def test_training_leaves_the_base_weights_alone(tiny_bert, tiny_detector):
    from safetensors.torch import load_file

    base = load_file(str(tiny_bert / "model.safetensors"))
    trained = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
               for k, v in tiny_detector.score.model.state_dict().items()}
    layer = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch_equal(trained[layer], base[layer])  # frozen under LoRA
    lora = [v for k, v in tiny_detector.score.model.state_dict().items() if "lora_B" in k]
    assert lora and any(float(v.abs().sum()) > 0 for v in lora)  # B starts at zero: it moved


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_one_agent_like_sentence_in_a_long_reply_is_enough():
    det = detector.AgentLikeDetector(score=mentions_script)
    long_reply = " ".join(CLEAN[:5]) + " I will run the script and commit the changes to the branch."
    assert det.explain([long_reply]) == [(0.9, "I will run the script and commit the changes to the branch.")]
    assert det.flags([long_reply, " ".join(CLEAN)]) == [True, False]


def test_threshold_decides_the_flags():
    det = detector.AgentLikeDetector(score=mentions_script, threshold=0.9 + 1e-6)
    assert det.flags(["I will run the script on the branch."]) == [False]
    det.threshold = 0.9
    assert det.flags(["I will run the script on the branch."]) == [True]


def test_training_is_deterministic_for_a_seed(tiny_bert, tiny_detector):
    again = detector.train_detector(ROWS, tiny_bert, TINY_RECIPE)
    assert np.array_equal(again.predict_proba(AGENT + CLEAN), tiny_detector.predict_proba(AGENT + CLEAN))


def test_saved_detector_loads_with_the_same_scores(tiny_bert, tiny_detector, tmp_path, monkeypatch):
    import torch

    tiny_detector.trained_on = "twelve rows"
    detector.save_detector(tiny_detector, tmp_path / "det")
    assert sorted(p.name for p in (tmp_path / "det").iterdir()) == [
        "adapter_config.json", "adapter_model.safetensors", "detector.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["det"]  # no staging folder left behind
    trained = tiny_detector.predict_proba(AGENT + CLEAN)
    monkeypatch.setattr(detector, "cpu_supports_bf16", lambda: False)
    loaded = detector.load_detector(tmp_path / "det", tiny_bert)
    assert np.allclose(loaded.predict_proba(AGENT + CLEAN), trained, atol=1e-5)       # fp32: the same scores
    assert loaded.score.model.dtype == torch.float32
    monkeypatch.setattr(detector, "cpu_supports_bf16", lambda: True)
    in_bf16 = detector.load_detector(tmp_path / "det", tiny_bert)
    assert np.allclose(in_bf16.predict_proba(AGENT + CLEAN), trained, atol=0.02)       # bf16: close
    assert in_bf16.score.model.dtype == torch.bfloat16 and in_bf16.score.identity != loaded.score.identity
    assert loaded.trained_on == "twelve rows" and loaded.threshold == tiny_detector.threshold
    assert loaded.meta["recipe"]["learning_rate"] == TINY_RECIPE.learning_rate


def test_a_loaded_detector_scores_a_text_once_then_reads_its_cache(tiny_bert, tiny_detector, tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTING_CACHE", str(tmp_path / "cache"))
    detector.save_detector(tiny_detector, tmp_path / "det")
    fresh = detector.load_detector(tmp_path / "det", tiny_bert).predict_proba(AGENT + CLEAN)

    def counted(det):
        calls, real = [], det.score._score
        monkeypatch.setattr(det.score, "_score", lambda texts: calls.append(list(texts)) or real(texts))
        return det, calls

    again, calls = counted(detector.load_detector(tmp_path / "det", tiny_bert))
    assert np.array_equal(again.predict_proba(AGENT + CLEAN), fresh) and calls == []   # the same values, bit for bit
    assert again.score._model is None                                # and the model was never loaded
    new = "A new reply about the bees."
    again.predict_proba([new, *CLEAN])
    assert calls == [[new]]                                          # only the text not seen before is scored
    meta = json.loads((tmp_path / "det" / "detector.json").read_text())
    (tmp_path / "det" / "detector.json").write_text(json.dumps(dict(meta, threshold=0.5)))
    other, calls = counted(detector.load_detector(tmp_path / "det", tiny_bert))
    other.predict_proba(CLEAN)
    assert calls and sorted(calls[0]) == sorted(detector._pieces(CLEAN)[0])   # another detector: its own entries
    def full_disk(*_):
        raise OSError("No space left on device")

    monkeypatch.setattr(other.score.cache, "put", full_disk)        # a cache that cannot be written only costs time
    unseen = ["Never seen before, this one."]
    assert np.allclose(other.predict_proba(unseen), tiny_detector.predict_proba(unseen), atol=1e-5)


def test_a_folder_without_detector_json_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="python -m molting.detector"):
        detector.load_detector(tmp_path)


def test_rows_hash_follows_texts_and_labels():
    flipped = [dict(r, agent_like=not r["agent_like"]) if i == 0 else r for i, r in enumerate(ROWS)]
    assert detector.rows_sha256(ROWS) == detector.rows_sha256([dict(r, id="x") for r in ROWS])
    assert detector.rows_sha256(ROWS) != detector.rows_sha256(flipped)


@pytest.mark.parametrize("split", detector.SPLITS)
def test_shipped_detectors_were_trained_on_the_labelled_set_as_it_is(split):
    # data/detector/<split>/ records the hash of its training rows; edit data/labelled/ and this fails until
    # the adapters are retrained (without them every process would train its own, minutes on 2 cores)
    assert detector.shipped_is_current(split), (
        f"data/detector/{split}/ is stale: retrain with `python -m molting.detector --split {split}`")


def test_a_changed_labelled_set_trains_once_and_is_cached(tmp_path, monkeypatch, tiny_bert):
    folder = tmp_path / "data" / "labelled"
    folder.mkdir(parents=True)
    (folder / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    (folder / "older.jsonl").write_text("", encoding="utf-8")
    monkeypatch.setenv("MOLTING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(detector, "_base_dir", lambda base_dir: tiny_bert)
    assert not detector.shipped_is_current("dev", tmp_path)
    first = detector.default_detector("dev", tmp_path)
    cached = list((tmp_path / "cache" / "detector").iterdir())
    assert [p.name for p in cached if not p.name.startswith(".")] == [f"dev-{detector.rows_sha256(ROWS)[:16]}"]
    assert first.trained_on == "data/labelled/dev.jsonl + data/labelled/older.jsonl"
    monkeypatch.setattr(detector, "train_detector", lambda *a, **k: pytest.fail("trained again"))
    detector._default.cache_clear()
    again = detector.default_detector("dev", tmp_path)
    assert np.allclose(again.predict_proba(AGENT), first.predict_proba(AGENT), atol=1e-5)
    detector._default.cache_clear()


@pytest.mark.parametrize("rows,expected", [
    ([{"text": "hi", "agent_like": "yes"}], "row 0"),
    ([{"agent_like": True}], "row 0"),
    ([{"text": "a b c", "agent_like": True}, {"text": "d e f", "agent_like": True}], "both"),
])
def test_bad_rows_are_data_errors(rows, expected):
    with pytest.raises(DataError, match=expected):
        detector.train_detector(rows, Path("unused"))


def test_unknown_split_is_a_data_error():
    with pytest.raises(DataError, match="dev, all"):
        detector.labelled_rows("test")


def test_sentences_skip_fragments():
    assert detector.sentences("Sure. I will run the script now!\nDone.\nThe tide is in again.") == [
        "I will run the script now!", "The tide is in again."]


def _six_word_sentences(text: str) -> set[str]:
    """Normalised sentences of 6+ words (what a copied example would share)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return {" ".join(re.findall(r"[a-z0-9']+", p.lower())) for p in parts if len(p.split()) >= 6}


@pytest.mark.parametrize("split", detector.SPLITS)
def test_training_rows_share_no_text_with_the_pattern_examples(split):
    # The detector is a second opinion only if it did not learn from the library's own examples.
    rows, _ = detector.labelled_rows(split)
    library = patterns.load_library(enabled=patterns.OPT_IN_CATEGORIES)
    examples = [t for p in library.patterns for t in (*p.must_match, *p.must_not_match)]
    folded = [" ".join(re.findall(r"[a-z0-9']+", r["text"].lower())) for r in rows]
    texts = {f for f in folded}
    for example in examples:
        norm = " ".join(re.findall(r"[a-z0-9']+", example.lower()))
        assert norm not in texts, f"a labelled row repeats the pattern example {example!r}"
    example_sentences = set().union(*(_six_word_sentences(t) for t in examples))
    shared = [s for r in rows for s in _six_word_sentences(r["text"]) if s in example_sentences]
    assert not shared, f"labelled rows share sentences with pattern examples: {shared[:3]}"


def test_default_training_rows_leave_persona_specific_ones_out():
    rows, source = detector.labelled_rows("all")
    assert rows and source
    assert not any(r.get("category") in detector.PERSONA_SPECIFIC for r in rows)
    assert {r["agent_like"] for r in rows} == {True, False}


@pytest.mark.integration
def test_default_detector_flags_paraphrases_the_regexes_never_saw():
    det = detector.default_detector("dev")
    agent = ["I'd be glad to lend a hand with whatever you ask next.",
             "I will search the web for the latest opening hours.",
             "Give me a moment while I pull the latest changes from the repository."]
    clean = ["Give me a moment while I put the kettle on, love.", "The harbour was grey and still this morning.",
             "I was up at dawn feeding the hens."]
    probs = det.predict_proba(agent + clean)
    assert min(probs[:3]) > max(probs[3:])
    assert det.flags(agent[:2]) == [True, True] and det.flags(clean) == [False, False, False]


def test_rows_that_copy_a_pattern_example_are_left_out(tmp_path):
    example = patterns.load_library().patterns[0].must_match[0]
    folder = tmp_path / "data" / "labelled"
    folder.mkdir(parents=True)
    rows = [{"text": example, "agent_like": True, "category": "ai_self_reference", "domain": "trivia"},
            {"text": f"Well now. {example} Anyway.", "agent_like": True, "category": "ai_self_reference", "domain": "trivia"},
            {"text": "Fresh words nobody wrote into a pattern file.", "agent_like": False, "category": None, "domain": "trivia"},
            {"text": "print('hi')", "agent_like": True, "category": "persona_format", "domain": "coding help"}]
    (folder / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    (folder / "older.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[2:]), encoding="utf-8")
    kept, source = detector.labelled_rows("dev", tmp_path)
    assert [r["text"] for r in kept] == ["Fresh words nobody wrote into a pattern file."]
    assert source == "data/labelled/dev.jsonl + data/labelled/older.jsonl"
    with pytest.raises(DataError, match="heldout.jsonl"):
        detector.labelled_rows("all", tmp_path)


def test_precision_recall_at_a_threshold():
    got = detector.precision_recall_at(0.6, np.array([0.9, 0.6, 0.2, 0.7, 0.1]), np.array([1, 0, 1, 1, 0]))
    assert got == {"threshold": 0.6, "precision": 0.6667, "recall": 0.6667}  # flags rows 0, 1, 3; row 2 missed


def test_cross_validation_folds_partition_the_rows_with_both_labels_in_each():
    rows = ROWS * 2  # 12 agent-like, 12 clean
    folds = detector.cross_validation_folds(rows, folds=4)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(len(rows)))  # every row is scored once, by a model that never saw it
    for train, test in folds:
        assert not set(train) & set(test)
        assert {rows[i]["agent_like"] for i in test} == {True, False}
    assert [t.tolist() for _, t in detector.cross_validation_folds(rows, folds=4)] == [t.tolist() for _, t in folds]


def test_cross_validated_proba_scores_every_row_once_from_the_given_folds(tiny_bert):
    rows = ROWS * 2
    proba = detector.cross_validated_proba(rows, detector.cross_validation_folds(rows, folds=2), tiny_bert, TINY_RECIPE)
    assert proba.shape == (len(rows),) and ((proba > 0) & (proba < 1)).all()
