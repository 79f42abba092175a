"""Tests for the shared agent-like pattern library (molting.patterns)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from molting.errors import ParamsError
from molting.patterns import (
    CATEGORIES,
    OPT_IN_CATEGORIES,
    Pattern,
    PatternLibrary,
    branch_clauses,
    check_examples,
    default_library_path,
    load_library,
    required_clauses,
)

LABELED = Path(__file__).resolve().parents[1] / "data" / "labelled" / "older.jsonl"
SHIPPED = load_library()  # the default library (opt-in categories off), loaded once at collection
EVERY = load_library(enabled=OPT_IN_CATEGORIES)  # every shipped pattern, so parametrize can name each one
BY_NAME = {p.name: p for p in EVERY.patterns}
STRAIGHT_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
                                 "\u00a0": " ", "\u202f": " "})

GOOD_EXTRA = """\
- name: marmalade_shop_talk
  category: assistant_boilerplate
  description: A user-added pattern for the tests.
  regex: '(?i)\\bbuy my marmalade\\b'
  must_match: ["Please buy my marmalade!"]
  must_not_match: ["I ate the marmalade."]
"""


def _labeled() -> list[dict]:
    """The hand-written labeled set."""
    return [json.loads(line) for line in LABELED.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(tmp_path: Path, text: str, name: str = "extra.yaml") -> Path:
    """A pattern file in the test's temporary folder."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _brute_first(lib: PatternLibrary, text: str) -> tuple[int, str] | None:
    """The earliest hit found by running every regex, with no pre-check."""
    norm = text.translate(STRAIGHT_QUOTES)
    best = None
    for p in lib.patterns:
        m = next((m for m in p.regex.finditer(norm) if m.end() > m.start()), None)
        if m is not None and (best is None or m.start() < best[0]):
            best = (m.start(), p.name)
    return best


# --- the shipped library --------------------------------------------------------------------------------


def test_library_has_enough_patterns_in_every_category():
    assert len(SHIPPED) >= 24
    assert set(EVERY.by_category()) == set(CATEGORIES)
    assert set(SHIPPED.by_category()) == set(CATEGORIES) - set(OPT_IN_CATEGORIES)
    assert all(len(names) >= 2 for names in EVERY.by_category().values())
    assert len(set(EVERY.names)) == len(EVERY.names)


@pytest.mark.parametrize("name", EVERY.names)
def test_pattern_is_well_formed(name):
    p = BY_NAME[name]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name)
    assert p.category in CATEGORIES
    assert p.description and "\n" not in p.description
    assert len(p.must_match) >= 3, "give at least 3 must_match examples"
    assert len(p.must_not_match) >= 3, "give at least 3 hard negatives"
    assert p.source == str(default_library_path())


@pytest.mark.parametrize("name", EVERY.names)
def test_pattern_matches_its_must_match_examples(name):
    p = BY_NAME[name]
    alone = PatternLibrary([p])  # goes through the pre-check too, so a wrong pre-check shows up here
    missed = [t for t in p.must_match if alone.first(t) is None]
    assert not missed, f"{name} misses {missed}"


@pytest.mark.parametrize("name", EVERY.names)
def test_pattern_leaves_its_hard_negatives_alone(name):
    p = BY_NAME[name]
    alone = PatternLibrary([p])
    wrongly = {t: alone.first(t).matched for t in p.must_not_match if alone.first(t) is not None}
    assert not wrongly, f"{name} matches hard negatives {wrongly}"


def test_check_examples_is_clean_for_the_shipped_library():
    assert check_examples(EVERY) == []


def test_check_examples_describes_failures(tmp_path):
    bad = GOOD_EXTRA.replace('must_match: ["Please buy my marmalade!"]', 'must_match: ["Buy some marmalade"]')
    lib = load_library(extra_files=[_write(tmp_path, bad)])
    problems = check_examples(lib)
    assert len(problems) == 1
    assert "marmalade_shop_talk" in problems[0] and "Buy some marmalade" in problems[0]


@pytest.mark.parametrize("name", EVERY.names)
def test_every_shipped_pattern_has_a_literal_pre_check(name):
    # A pattern with no required literal runs on every text, which makes filtering 100k chats slow.
    assert required_clauses(BY_NAME[name].regex)


# --- hits -----------------------------------------------------------------------------------------------


def test_hits_carry_correct_spans_and_order():
    for row in _labeled():
        text = row["text"]
        hits = SHIPPED.scan(text)
        assert [h.start for h in hits] == sorted(h.start for h in hits)
        for h in hits:
            assert text[h.start:h.end] == h.matched and h.matched
            assert h.category == BY_NAME[h.rule].category
        first = SHIPPED.first(text)
        assert (first is None) == (not hits)
        if first is not None:
            assert (first.start, first.rule) == (hits[0].start, hits[0].rule)


def test_scan_finds_several_rules_with_exact_spans():
    text = "Great question! As an AI language model, I don't have personal opinions. I hope this helps!"
    hits = SHIPPED.scan(text)
    rules = [h.rule for h in hits]
    assert rules[0] == "great_question"
    assert {"as_an_ai", "no_personal_experience", "hope_this_helps"} <= set(rules)
    for h in hits:
        assert text[h.start:h.end] == h.matched


def test_curly_apostrophes_match_and_spans_quote_the_original():
    text = "Oh love, I\u2019m sorry, but I can\u2019t help with that."
    hit = SHIPPED.first(text)
    assert hit is not None and hit.rule == "sorry_cannot"
    assert hit.matched == text[hit.start:hit.end] and "\u2019" in hit.matched


def test_clean_text_has_no_hits():
    text = "Forty-one years I kept that light, and I never once missed a night."
    assert SHIPPED.scan(text) == [] and SHIPPED.first(text) is None


def test_top_level_alternatives_keep_their_own_requirements():
    # The parser moves the shared \b in front of the alternation; each alternative must still be kept apart.
    units = branch_clauses(re.compile(r"(?i)\bgrumpy walrus|\bsleepy otter"))
    assert [sorted(x for c in cs for x in c) for cs in units] == [["grumpy walru"], ["sleepy otter"]]  # cut to 12
    lib = PatternLibrary([Pattern("t", "refusal", "d", re.compile(r"(?i)\bgrumpy walrus|\bsleepy otter"), ("x",), (), "t")])
    assert lib.first("A sleepy otter!").matched == "sleepy otter" and lib.first("a grumpy otter") is None


def test_pre_check_never_changes_a_result():
    texts = [row["text"] for row in _labeled()]
    dev = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dev.jsonl"
    if dev.is_file():  # the development half only: code may read the held-out half, but it stays unused here
        texts += [json.loads(line)["text"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [t for p in EVERY.patterns for t in (*p.must_match, *p.must_not_match)]
    for text in texts:
        hit = EVERY.first(text)
        assert _brute_first(EVERY, text) == (None if hit is None else (hit.start, hit.rule)), text


# --- disabling and user files ---------------------------------------------------------------------------


def test_disabling_a_pattern_removes_it():
    lib = load_library(disabled=["as_an_ai"])
    assert "as_an_ai" not in lib.names and len(lib) == len(SHIPPED) - 1
    assert all(h.rule != "as_an_ai" for h in lib.scan("As an AI, I can't taste jam."))


def test_unknown_disabled_name_suggests_the_closest(tmp_path):
    with pytest.raises(ParamsError) as err:
        load_library(disabled=["as_an_aii"])
    assert "as_an_aii" in str(err.value) and "'as_an_ai'" in str(err.value)


def test_extra_file_adds_a_pattern(tmp_path):
    path = _write(tmp_path, GOOD_EXTRA)
    lib = load_library(extra_files=[path])
    assert lib.names[-1] == "marmalade_shop_talk" and len(lib) == len(SHIPPED) + 1
    assert lib.patterns[-1].source == str(path)
    hit = lib.first("Well then, buy my marmalade, love.")
    assert hit is not None and hit.rule == "marmalade_shop_talk" and hit.category == "assistant_boilerplate"


def test_a_pattern_from_an_extra_file_can_be_disabled(tmp_path):
    lib = load_library(disabled=["marmalade_shop_talk"], extra_files=[_write(tmp_path, GOOD_EXTRA)])
    assert "marmalade_shop_talk" not in lib.names


VOCAB_FILE = """vocabulary:
  sweet: {words}
patterns:
  - name: sweet_talk
    category: assistant_boilerplate
    description: d
    regex: '\\b{{{{{ref}}}}}\\b'
    must_match: [jam]
    must_not_match: []
"""
BAD_FILES = {
    "bad_regex": (GOOD_EXTRA.replace("\\bbuy my marmalade\\b", "(buy my marmalade"), "regex does not compile"),
    "missing_key": (GOOD_EXTRA.replace("  description: A user-added pattern for the tests.\n", ""), "description"),
    "duplicate_of_shipped": (GOOD_EXTRA.replace("marmalade_shop_talk", "as_an_ai"), "duplicate"),
    "duplicate_in_file": (GOOD_EXTRA + GOOD_EXTRA, "duplicate"),
    "not_a_list": ("name: marmalade_shop_talk\ncategory: refusal\n", "must be a YAML list"),
    "empty_file": ("", "must be a YAML list"),
    "unknown_category": (GOOD_EXTRA.replace("category: assistant_boilerplate", "category: boilerplate"),
                         "category = 'boilerplate' is not one of"),
    "unknown_key": (GOOD_EXTRA + "  severity: high\n", "unknown key"),
    "bad_name": (GOOD_EXTRA.replace("marmalade_shop_talk", "Marmalade Talk"), "snake_case"),
    "matches_empty_text": (GOOD_EXTRA.replace("\\bbuy my marmalade\\b", "(?:buy)?"), "empty text"),
    "examples_not_a_list": (GOOD_EXTRA.replace('must_match: ["Please buy my marmalade!"]', "must_match: yes"),
                            "must_match"),
    "invalid_yaml": ("- name: [unclosed\n", "not valid YAML"),
    "tab_indented": ("- name: marmalade_shop_talk\n\tcategory: refusal\n", "indent with spaces: YAML does not allow tabs"),
    "entry_not_a_mapping": ("- just a string\n", "must be a mapping"),
    "vocabulary_group": (VOCAB_FILE.format(words="['(jam)']", ref="sweet"), "vocabulary 'sweet': entry '(jam)' has a capturing group"),
    "vocabulary_empty": (VOCAB_FILE.format(words="[]", ref="sweet"), "`vocabulary.sweet` must not be empty"),
    "vocabulary_unknown": (VOCAB_FILE.format(words="[jam]", ref="sweets"), "did you mean {{sweet}}?"),
    "vocabulary_shadows_shipped": (VOCAB_FILE.format(words="[jam]", ref="sweet").replace("sweet:", "action_verb:"),
                                   "already defined in the shipped library"),
}


def test_an_extra_file_with_its_own_vocabulary(tmp_path):
    lib = load_library(extra_files=[_write(tmp_path, VOCAB_FILE.format(words="[jam, marmalade]", ref="sweet"))])
    assert lib.patterns[-1].regex.pattern == r"\b(?:marmalade|jam)\b"
    assert lib.first("Some marmalade, love?").rule == "sweet_talk" and lib.first("Jammy dodgers") is None


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_extra_file_raises_params_error_naming_the_file(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = _write(tmp_path, text, name=f"{case}.yaml")
    with pytest.raises(ParamsError) as err:
        load_library(extra_files=[path])
    message = str(err.value)
    assert str(path) in message and expected in message
    assert "What to do:" in message


def test_pattern_errors_name_the_pattern(tmp_path):
    path = _write(tmp_path, GOOD_EXTRA.replace("\\bbuy my marmalade\\b", "(buy"))
    with pytest.raises(ParamsError, match=r"pattern marmalade_shop_talk: regex does not compile"):
        load_library(extra_files=[path])


def test_missing_extra_file_is_a_params_error(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_library(extra_files=[tmp_path / "nope.yaml"])


# --- the labeled set ------------------------------------------------------------------------------------


def test_labeled_set_is_big_varied_and_balanced():
    rows = _labeled()
    assert len(rows) >= 320
    assert all(isinstance(r["text"], str) and isinstance(r["agent_like"], bool) and r["kind"] for r in rows)
    assert len({r["text"] for r in rows}) == len(rows)
    positives = [r for r in rows if r["agent_like"]]
    assert 0.4 <= len(positives) / len(rows) <= 0.6
    assert {r["kind"] for r in positives} == set(CATEGORIES) - set(OPT_IN_CATEGORIES)
    assert sum(r["kind"] == "hard_negative" for r in rows) >= 60


def test_precision_and_recall_on_the_labeled_set():
    # This set speaks for a persona who only chats (Fenna Rook), so the persona_format rules are on.
    tp = fp = fn = 0
    for row in _labeled():
        flagged = EVERY.first(row["text"]) is not None
        tp += flagged and row["agent_like"]
        fp += flagged and not row["agent_like"]
        fn += (not flagged) and row["agent_like"]
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95, f"precision {precision:.3f}"
    assert recall >= 0.95, f"recall {recall:.3f}"


# --- the held-out half of the labelled set stays held out ---------------------------------------------------

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "labelled" / "heldout.jsonl"


def _words(text: str) -> str:
    """Lower-case words only (YAML's doubled '' read as one), so quoting and spacing cannot hide a copy."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'").replace("''", "'")))


@pytest.mark.skipif(not HELDOUT.is_file(), reason="no held-out labelled set in this checkout")
@pytest.mark.parametrize("name", ["dev.jsonl", "older.jsonl"])
def test_the_development_rows_share_no_text_with_the_held_out_half(name):
    # Read by code only: rows that patterns or the dev-trained detector learn from must not repeat a held-out reply.
    def texts(path):
        return [_words(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    shared = set(texts(HELDOUT)) & set(texts(HELDOUT.with_name(name)))
    assert not shared, f"{len(shared)} rows of {name} repeat a held-out reply"


@pytest.mark.skipif(not HELDOUT.is_file(), reason="no held-out labelled set in this checkout")
def test_no_heldout_text_or_sentence_appears_in_the_pattern_library():
    # Read by code only: a person writing patterns never looks at this file.
    heldout = [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    library_text = _words(default_library_path().read_text(encoding="utf-8"))
    examples = {_words(t) for p in EVERY.patterns for t in (*p.must_match, *p.must_not_match)}
    leaked = []
    for text in heldout:
        whole = _words(text)
        if whole in examples or (len(whole.split()) >= 6 and whole in library_text):
            leaked.append(text[:40])
        sentences = [_words(s) for s in re.split(r"(?<=[.!?])\s+|\n+", text)]
        leaked += [s[:40] for s in sentences if len(s.split()) >= 6 and s in library_text]
    assert not leaked, f"{len(leaked)} held-out texts or sentences appear in the pattern library"


def test_the_heldout_check_would_catch_a_copy(tmp_path):
    sentence = "The quick brown fox jumps over six lazy dogs today."
    assert _words(sentence) in _words(f"  must_match:\n    - \"Well. {sentence}\"")
    assert _words("I''m sure it''s fine and dandy, truly now.") == _words("I'm sure it's fine and dandy, truly now.")
