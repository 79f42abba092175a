"""Tests for molting.detector: the embedding classifier that gives a second opinion beside the pattern library."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from molting import detector, patterns
from molting.errors import DataError


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for MiniLM: hashed word counts, L2-normalised (fast, no model)."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z']+", text.lower()):
            out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


AGENT = ["I will run the script and commit the changes.", "Running the deployment script against the server now.",
         "I have pushed the commit to the branch.", "Let me run the migration script on the database.",
         "The script finished and the branch is merged.", "I will open a pull request with the commit."]
CLEAN = ["The gulls were loud over the harbour this morning.", "My sister bakes the best bread in the village.",
         "We walked the dog along the cliff path at dusk.", "The tide came in fast and soaked our picnic.",
         "Grandad still mends his own nets by the fire.", "The lighthouse keeper waved at the ferry."]
ROWS = [{"text": t, "agent_like": True} for t in AGENT] + [{"text": t, "agent_like": False} for t in CLEAN]


def test_trained_detector_separates_its_classes_and_keeps_the_interface():
    det = detector.train_detector(ROWS, bag_of_words, seed=0)
    probs = det.predict_proba(["I will run the script on the branch.", "The gulls followed the ferry to the harbour."])
    assert isinstance(probs, np.ndarray) and probs.shape == (2,)
    assert probs[0] > det.threshold > probs[1]
    assert det.flags(["I will run the script on the branch.", "The gulls followed the ferry to the harbour."]) == [True, False]
    assert det.predict_proba([]).shape == (0,)


def test_one_agent_like_sentence_in_a_long_reply_is_enough():
    det = detector.train_detector(ROWS, bag_of_words)
    long_reply = " ".join(CLEAN[:5]) + " I will run the script and commit the changes to the branch."
    whole_only = det.model.predict_proba(bag_of_words([long_reply]))[0, 1]
    assert det.predict_proba([long_reply])[0] > max(whole_only, det.threshold)


def test_threshold_decides_the_flags():
    det = detector.train_detector(ROWS, bag_of_words)
    text = ["I will run the script on the branch."]
    det.threshold = float(det.predict_proba(text)[0]) + 1e-6
    assert det.flags(text) == [False]
    det.threshold -= 2e-6
    assert det.flags(text) == [True]


def test_training_is_deterministic_for_a_seed():
    a = detector.train_detector(ROWS, bag_of_words, seed=3).predict_proba(AGENT + CLEAN)
    b = detector.train_detector(ROWS, bag_of_words, seed=3).predict_proba(AGENT + CLEAN)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("rows,expected", [
    ([{"text": "hi", "agent_like": "yes"}], "row 0"),
    ([{"agent_like": True}], "row 0"),
    ([{"text": "a b c", "agent_like": True}, {"text": "d e f", "agent_like": True}], "both"),
])
def test_bad_rows_are_data_errors(rows, expected):
    with pytest.raises(DataError, match=expected):
        detector.train_detector(rows, bag_of_words)


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
    (folder / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kept, source = detector.labelled_rows("dev", tmp_path)
    assert [r["text"] for r in kept] == ["Fresh words nobody wrote into a pattern file."]
    assert source == "data/labelled/dev.jsonl"
    with pytest.raises(DataError, match="heldout.jsonl"):
        detector.labelled_rows("all", tmp_path)
