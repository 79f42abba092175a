"""The independent second opinion on agent-likeness: MiniLM sentence embeddings + a logistic regression.

The pattern library is explainable but only finds what someone wrote a regex for. This detector is
trained on labelled replies (data/labelled/, written independently of the patterns and sharing no text
with their examples), so a paraphrase the library misses can still be flagged. Curation uses it to mark
chats for review (it never drops); evaluation reports its verdict beside the library's.

A reply is scored as a whole and sentence by sentence, and its probability is the highest of those: one
agent-like sentence in a long, otherwise in-voice reply is diluted in the whole-text embedding.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from molting.errors import DataError

__all__ = ["AgentLikeDetector", "cross_validated_proba", "default_detector", "labelled_rows", "sentences",
           "train_detector"]

Embed = Callable[[list[str]], np.ndarray]

LABELLED_DIR = Path("data") / "labelled"
FALLBACK_LABELLED = Path("tests") / "data" / "agent_like_labeled.jsonl"  # used until data/labelled exists
SPLITS = ("dev", "all")
# Persona-specific format rules (code fences...) are agent-like only for some personas: a detector meant
# for every persona does not learn them as agent-like.
PERSONA_SPECIFIC = frozenset({"persona_format"})
MIN_SENTENCE_WORDS = 3  # shorter fragments ("Sure.", "Hi!") say nothing on their own
MAX_SENTENCES = 24  # per text; beyond that, a long reply is scored on its first sentences and as a whole
# Chosen by 5-fold cross-validation on the development half only (benchmarks/bench_filter.py prints it):
# at 0.7 the detector flagged about 3 in 4 correctly and found a bit over half of the agent-like replies there.
# It marks chats for a person to review, so it is tuned for few false alarms, not for recall.
DEFAULT_THRESHOLD = 0.7
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines) of at least MIN_SENTENCE_WORDS words, at most MAX_SENTENCES."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p.split()) >= MIN_SENTENCE_WORDS][:MAX_SENTENCES]


def _pieces(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Every text and its sentences, flattened, with the index of the text each piece came from."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        mine = [text, *(s for s in sentences(text) if s != text.strip())]
        pieces.extend(mine)
        owner.extend([i] * len(mine))
    return pieces, np.asarray(owner, dtype=np.int64)


@dataclass
class AgentLikeDetector:
    """P(agent-like) for replies, from a logistic regression over MiniLM embeddings (max over sentences)."""

    model: object  # a fitted sklearn LogisticRegression
    embed: Embed
    threshold: float = DEFAULT_THRESHOLD
    trained_on: str = ""  # where the training rows came from, for reports

    def explain(self, texts: list[str]) -> list[tuple[float, str]]:
        """Per text, P(agent-like) and the piece (whole text or one sentence) that scored it."""
        texts = list(texts)
        if not texts:
            return []
        pieces, owner = _pieces(texts)
        piece_p = self.model.predict_proba(np.asarray(self.embed(pieces)))[:, 1]
        best: list[tuple[float, str]] = [(-1.0, "")] * len(texts)
        for piece, i, p in zip(pieces, owner, piece_p):
            if p > best[i][0]:
                best[i] = (float(p), piece)
        return best

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """P(agent-like) per text: the highest over the whole text and each of its sentences."""
        return np.asarray([p for p, _ in self.explain(texts)], dtype=np.float64)

    def flags(self, texts: list[str]) -> list[bool]:
        """Whether each text is agent-like (predict_proba >= threshold)."""
        return [bool(p >= self.threshold) for p in self.predict_proba(texts)]


def _check_rows(rows: list[dict]) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels of labelled rows, or a DataError naming the bad row."""
    texts, labels = [], []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(row.get("agent_like"), bool):
            raise DataError(f"labelled row {i} needs a string `text` and a true/false `agent_like`",
                            where=f"row {i}", fix='write rows like {"text": "...", "agent_like": true}')
        texts.append(row["text"])
        labels.append(int(row["agent_like"]))
    y = np.asarray(labels)
    if len(set(labels)) < 2:
        raise DataError("the labelled rows need both agent-like and clean examples to train a detector",
                        where="train_detector", fix="add rows with agent_like true and false")
    return texts, y


def train_detector(rows: list[dict], embed: Embed, seed: int = 0) -> AgentLikeDetector:
    """Fit the detector on rows with `text` and `agent_like` (sentences of clean rows are extra negatives)."""
    from sklearn.linear_model import LogisticRegression

    texts, y = _check_rows(rows)
    # Every sentence of a clean reply is clean, so it is a safe extra negative; a sentence of an agent-like
    # reply may be innocent, so it is not used as a positive. This keeps max-over-sentences from firing on
    # short in-voice sentences.
    negative_sentences = [s for t, label in zip(texts, y) if not label for s in sentences(t) if s != t.strip()]
    x_texts = texts + negative_sentences
    x_labels = np.concatenate([y, np.zeros(len(negative_sentences), dtype=y.dtype)])
    features = np.asarray(embed(x_texts))
    # class_weight: positives are a minority once clean sentences are added. C=4 and the sentence negatives were
    # chosen by 5-fold cross-validation on the development half only (C 1/4/16, with and without them).
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(features, x_labels)
    return AgentLikeDetector(model=model, embed=embed, threshold=DEFAULT_THRESHOLD)


def cross_validated_proba(rows: list[dict], embed: Embed, folds: int = 5, seed: int = 0) -> np.ndarray:
    """P(agent-like) for each row from a detector trained on the other folds (an honest in-set estimate)."""
    from sklearn.model_selection import StratifiedKFold

    texts, y = _check_rows(rows)
    out = np.zeros(len(rows), dtype=np.float64)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        fold = train_detector([rows[i] for i in train_idx], embed, seed=seed)
        out[test_idx] = fold.predict_proba([texts[i] for i in test_idx])
    return out


def _read_jsonl(path: Path) -> list[dict]:
    """Rows of a labelled JSONL file; a malformed line is a DataError naming the file and line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", where=f"{path}:{number}",
                            fix="one JSON object per line") from None
    return rows


def labelled_rows(split: str = "all", root: Path | None = None) -> tuple[list[dict], str]:
    """The labelled rows a default detector trains on ("dev" or "all"), without persona-specific ones, and their source."""
    if split not in SPLITS:
        raise DataError(f"unknown labelled split {split!r}", where="default_detector(split=...)",
                        fix=f"use one of {', '.join(SPLITS)}")
    root = Path(root) if root is not None else _source_root()
    folder = root / LABELLED_DIR
    if (folder / "dev.jsonl").is_file():
        files = [folder / "dev.jsonl"] + ([folder / "heldout.jsonl"] if split == "all" else [])
    else:
        files = [root / FALLBACK_LABELLED]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise DataError("the labelled set the detector trains on is missing", where=str(missing[0]),
                        fix="run from a Molting checkout (the labelled set ships in data/labelled/)")
    rows = [r for f in files for r in _read_jsonl(f)]
    rows = [r for r in rows if r.get("category") not in PERSONA_SPECIFIC]
    return _independent_of_patterns(rows), " + ".join(str(f.relative_to(root)) for f in files)


def _words(text: str) -> str:
    """Lower-case words only, so punctuation and spacing do not hide a copy."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'")))


def _long_sentences(text: str) -> set[str]:
    """The text's sentences of 6+ words, as words only."""
    return {_words(p) for p in _SENTENCE_END.split(text) if len(p.split()) >= 6}


def _independent_of_patterns(rows: list[dict]) -> list[dict]:
    """Rows that share no text with the pattern library's examples: a second opinion must not learn the first's."""
    from molting.patterns import OPT_IN_CATEGORIES, load_library

    examples = [t for p in load_library(enabled=OPT_IN_CATEGORIES).patterns for t in (*p.must_match, *p.must_not_match)]
    whole = {_words(t) for t in examples}
    long = set().union(*map(_long_sentences, examples))
    return [r for r in rows if _words(r["text"]) not in whole and not (_long_sentences(r["text"]) & long)]


@functools.lru_cache(maxsize=4)
def _default(split: str, root: str) -> AgentLikeDetector:
    """One trained default detector per split and project, per process."""
    from molting.embed import Embedder
    from molting.models import cache_dir

    rows, source = labelled_rows(split, Path(root))
    detector = train_detector(rows, Embedder(cache_dir=cache_dir() / "embeddings").encode)
    detector.trained_on = source
    return detector


def _source_root() -> Path:
    """The Molting checkout this module comes from (the labelled set ships with the code, not with a project)."""
    here = Path(__file__).resolve().parents[2]
    if (here / LABELLED_DIR).is_dir() or (here / FALLBACK_LABELLED).is_file():
        return here
    from molting.params import find_root

    return find_root()


def default_detector(split: str = "all", root: Path | None = None) -> AgentLikeDetector:
    """The detector trained on the shipped labelled set (dev half, or all of it); embeddings are cached on disk."""
    return _default(split, str((Path(root) if root is not None else _source_root()).resolve()))
