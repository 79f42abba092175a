"""The independent second opinion on agent-likeness: all-MiniLM-L6-v2 fine-tuned (LoRA) as a text classifier.

The pattern library is explainable but only finds what someone wrote a regex for. This detector is
trained on labelled replies (data/labelled/, written independently of the patterns and sharing no text
with their examples), so a paraphrase the library misses can still be flagged. Curation uses it to mark
chats for review (or, where params say so, to drop them); evaluation reports its verdict beside the library's.

Why a fine-tuned classifier and not a logistic regression over frozen sentence embeddings (what this module
was before): on 5-fold cross-validation of the development half, ROC AUC 0.954 against 0.854, and at the
0.7 threshold P 0.872 / R 0.898 against P 0.824 / R 0.641 (RESULTS.md, filter, for the figures of the shipped
adapter; data/detector/dev/detector.json holds its own CV figures, per fold too).
Tried beside it and not kept (same CV folds, the stored out-of-fold probabilities): a TF-IDF word and character
n-gram logistic regression, its logit averaged with this one's at weight 0.5-0.7, raised ROC AUC 0.964 -> 0.970-0.975
but precision at the same recall (0.91) only 0.884 -> 0.89-0.91: a second model to ship for two points.
Nor (2026-12-06, same folds): a logistic regression (C 0.01) on the bundled SmolLM2-135M-Instruct's frozen hidden
states (layers 12, 16 and 20, mean-pooled). Trained on the rows alone and scoring whole texts it reaches ROC AUC
0.981, and averaged with this one (weight 0.8 on it) 0.988, P 0.966 / R 0.902 at 0.7; but whole texts miss one
agent-like sentence in a long in-voice reply (the sample chats: recall 0.07 on mixed replies, 0.80 on wholly
agent-like ones; this detector 0.960 in all). Trained and scored as this one is (clean sentences as extra
negatives, the highest piece) it falls to 0.965, 0.977 averaged with this one (precision at recall 0.91: 0.880
-> 0.913): three points for a 20-layer forward pass of a second model at every call.

One training takes about seven minutes on 2 cores, so the trained LoRA adapters (about 1.4 MB each) ship in
data/detector/<split>/, each with the sha256 of the rows it was trained on; `default_detector` loads the
shipped one when the labelled set still has those rows, else trains one and caches it by that hash.
Retrain the shipped ones after changing data/labelled/: `python -m molting.detector`.

A reply is scored as a whole and sentence by sentence, and its probability is the highest of those: one
agent-like sentence in a long, otherwise in-voice reply is diluted in the whole text. On the development CV's
short labelled replies the whole text alone does a little better (ROC AUC 0.970 vs 0.963; at 0.7 P 0.918 / R
0.881 vs 0.892 / 0.892), but those rows cannot show the long-reply case the sentences are there for.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from molting.errors import DataError, ModelError
from molting.precision import cpu_supports_bf16

if TYPE_CHECKING:
    from molting.embed import VectorCache

__all__ = ["AgentLikeDetector", "Recipe", "cross_validated_proba", "default_detector", "labelled_rows",
           "load_detector", "save_detector", "sentences", "train_detector"]

Score = Callable[[list[str]], np.ndarray]
log = logging.getLogger(__name__)

LABELLED_DIR = Path("data") / "labelled"
SHIPPED_DIR = Path("data") / "detector"
# The files each split trains on. older.jsonl, the first hand-written set (a chatting persona, 365 rows), is not
# held out (the first patterns were measured on it): adding it raised the development CV's ROC AUC 0.954 -> 0.963
# and P/R at 0.7 from 0.872/0.898 to 0.902/0.920 (before dev.jsonl's 210 helper-domain rows, lab-h...).
SPLIT_FILES = {"dev": ("dev.jsonl", "older.jsonl"), "all": ("dev.jsonl", "older.jsonl", "heldout.jsonl")}
SPLITS = tuple(SPLIT_FILES)
META_FILE = "detector.json"
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
# Persona-specific format rules (code fences...) are agent-like only for some personas: a detector meant
# for every persona does not learn them as agent-like.
PERSONA_SPECIFIC = frozenset({"persona_format"})
MIN_SENTENCE_WORDS = 3  # shorter fragments ("Sure.", "Hi!") say nothing on their own
SCORE_CACHE_FORMAT = "molting-detector-scores-v1"   # with PieceClassifier's max_length (256) and softmax
MAX_SENTENCES = 24  # per text; beyond that, a long reply is scored on its first sentences and as a whole
# Kept from the earlier detector (chosen there by 5-fold CV on the development half): it marks chats for a
# person to review, so it favours few false alarms. On the fine-tuned model's CV (development half + older.jsonl,
# 1,816 rows with the lab-k hard negatives): at 0.5 P 0.868 / R 0.917, at 0.7 P 0.884 / R 0.908, at 0.9 P 0.895 / R 0.885.
# With the lab-r rows too (2,074 rows, 2026-12-07): ROC AUC 0.954; at 0.5 P 0.880 / R 0.908, at 0.7 P 0.886 / R 0.899,
# at 0.9 P 0.911 / R 0.875.
DEFAULT_THRESHOLD = 0.7
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Recipe:
    """How the classifier is fine-tuned: LoRA r=8 on all linear layers at 1e-3 gave the same development-CV AUC
    as full fine-tuning at 5e-5 (0.973 vs 0.972, one trial each, before the clean sentences were added)."""

    epochs: int = 5
    # LoRA wants a higher rate than full fine-tuning, but 1e-3 sits at the edge: one of the 5 CV folds collapsed
    # (most clean replies scored the same 0.71; fold ROC AUC 0.871 against 0.961-0.974 for the others), and
    # the same fold trained at 5e-4 reached 0.964 (per-fold AUCs are kept in detector.json to catch this)
    learning_rate: float = 5e-4
    batch_size: int = 16
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    max_length: int = 128  # training rows are short replies; scoring allows longer pieces
    seed: int = 0


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
    """P(agent-like) for replies: the highest of a text classifier's scores over the whole text and its sentences."""

    score: Score  # P(agent-like) per piece of text
    threshold: float = DEFAULT_THRESHOLD
    trained_on: str = ""  # where the training rows came from, for reports
    meta: dict = field(default_factory=dict)  # recipe, rows sha256, cross-validation figures

    def explain(self, texts: list[str]) -> list[tuple[float, str]]:
        """Per text, P(agent-like) and the piece (whole text or one sentence) that scored it."""
        texts = list(texts)
        if not texts:
            return []
        pieces, owner = _pieces(texts)
        piece_p = self.score(pieces)
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


def rows_sha256(rows: list[dict]) -> str:
    """Hash of the (text, label) pairs a detector is trained on, in order: what a shipped adapter was made from."""
    texts, y = _check_rows(rows)
    return hashlib.sha256(json.dumps([[t, int(v)] for t, v in zip(texts, y)]).encode("utf-8")).hexdigest()


def training_examples(rows: list[dict]) -> tuple[list[str], list[int]]:
    """The rows, plus every sentence of a clean reply as an extra negative.

    A sentence of an agent-like reply may be innocent, so it is not used as a positive; the clean sentences
    keep max-over-sentences from firing on short in-voice sentences.
    """
    texts, y = _check_rows(rows)
    negatives = [s for t, label in zip(texts, y) if not label for s in sentences(t) if s != t.strip()]
    return texts + negatives, [int(v) for v in y] + [0] * len(negatives)


# ---------------------------------------------------------------------------------------------
# The classifier: MiniLM + LoRA, trained with transformers' Trainer
# ---------------------------------------------------------------------------------------------

def _base_dir(base_dir: Path | None) -> Path:
    """The MiniLM folder (weights verified against their sha256) or a given model folder (tests)."""
    from molting.embed import default_model_dir, verify_weights

    if base_dir is not None:
        return Path(base_dir)
    folder = default_model_dir()
    verify_weights(folder)
    return folder


class PieceClassifier:
    """P(agent-like) per text from a sequence-classification model, batched by length, no gradients.
    With a cache (a saved detector's, keyed by its weights), a text scored once is not scored again: every
    version of a phase re-scores the same base-model answers (~9 s of each evaluation here); a saved detector's
    model is then loaded (`loader`) only when a text is not in the cache."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int = 256, batch_size: int = 64,
                 cache: VectorCache | None = None, identity: str = "", loader: Callable[[], tuple[Any, Any]] | None = None):
        self._model, self.tokenizer, self._loader = model, tokenizer, loader
        self.max_length, self.batch_size = max_length, batch_size
        self.cache, self.identity = cache, identity

    @property
    def model(self) -> Any:
        """The classifier in eval mode (loaded now if it was left to `loader`)."""
        if self._model is None:
            self._model, self.tokenizer = self._loader()
        return self._model.eval()

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.cache is None:
            return self._score(texts)
        unique = list(dict.fromkeys(texts))
        keys = [hashlib.sha256(f"{self.identity}\0{t}".encode("utf-8", "surrogatepass")).digest() for t in unique]
        # float32 holds the softmax's float32 values exactly: a hit gives the same probability
        scores, _ = self.cache.lookup(keys, lambda indices: self._score([unique[j] for j in indices]).reshape(-1, 1))
        slot = {text: j for j, text in enumerate(unique)}
        return np.asarray([scores[slot[t], 0] for t in texts], dtype=np.float64)

    def _score(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch: less padding
        model = self.model if texts else None
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
                out[idx] = torch.softmax(model(**enc).logits.float(), dim=-1)[:, 1].numpy()
        return out


def _classifier_base(base: Path) -> Any:
    """MiniLM with a two-class head, loaded quietly (a new head's "newly initialized" notice is expected)."""
    from transformers import AutoModelForSequenceClassification

    from molting.embed import quiet_loading

    with quiet_loading(errors_only=True):
        return AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=2)


def _lora_classifier(base: Path, recipe: Recipe) -> Any:
    """MiniLM with a fresh two-class head and LoRA on every linear layer."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(recipe.seed)  # the head and the LoRA matrices start from the recipe's seed
    model = _classifier_base(base)
    config = LoraConfig(task_type="SEQ_CLS", r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                        lora_dropout=recipe.lora_dropout, target_modules="all-linear")
    return get_peft_model(model, config)


def train_detector(rows: list[dict], base_dir: Path | None = None, recipe: Recipe = Recipe()) -> AgentLikeDetector:
    """Fine-tune the classifier on rows with `text` and `agent_like` (sentences of clean rows are extra negatives)."""
    import tempfile

    from transformers import AutoTokenizer, DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments

    texts, labels = training_examples(rows)
    base = _base_dir(base_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = _lora_classifier(base, recipe)
    data = [dict(tokenizer(t, truncation=True, max_length=recipe.max_length), labels=label)
            for t, label in zip(texts, labels)]
    with tempfile.TemporaryDirectory(prefix="molting-detector-") as scratch:
        args = TrainingArguments(
            output_dir=scratch, num_train_epochs=recipe.epochs, learning_rate=recipe.learning_rate,
            per_device_train_batch_size=recipe.batch_size, lr_scheduler_type="linear", warmup_steps=0.1,
            weight_decay=0.01, seed=recipe.seed, data_seed=recipe.seed, save_strategy="no", report_to=[],
            logging_strategy="no", disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer))
        trainer.remove_callback(PrinterCallback)  # no metrics dict printed into a notebook cell
        trainer.train()
    meta = {"recipe": asdict(recipe), "rows_sha256": rows_sha256(rows), "rows": len(rows)}
    return _detector(model, tokenizer, meta)


def _detector(model: Any, tokenizer: Any, meta: dict) -> AgentLikeDetector:
    """A detector around a classifier (a freshly trained one keeps its LoRA apart, so it can be saved)."""
    return AgentLikeDetector(score=PieceClassifier(model, tokenizer), threshold=float(meta.get("threshold", DEFAULT_THRESHOLD)),
                             trained_on=str(meta.get("trained_on", "")), meta=meta)


def save_detector(det: AgentLikeDetector, folder: Path) -> None:
    """Write the LoRA adapter, the head and detector.json (recipe, rows hash, threshold) into `folder` atomically."""
    import shutil

    from molting.runs import staging_folder, swap_in_folder

    folder = Path(folder)
    staging = staging_folder(folder)
    try:
        det.score.model.save_pretrained(str(staging))
        (staging / "README.md").unlink(missing_ok=True)  # peft's empty model card
        meta = dict(det.meta, threshold=det.threshold, trained_on=det.trained_on)
        (staging / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        swap_in_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_detector(folder: Path, base_dir: Path | None = None) -> AgentLikeDetector:
    """A detector from a folder written by `save_detector` (LoRA merged for scoring, in bf16 where the CPU has it;
    loaded at its first text that is not in the score cache; ~6 s in a fresh process here)."""
    from molting.embed import VectorCache, file_sha256
    from molting.models import cache_dir

    folder = Path(folder)
    meta_file = folder / META_FILE
    if not meta_file.is_file():
        raise ModelError("not a detector folder (no detector.json)", where=str(folder),
                         fix="train one with `python -m molting.detector`")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    base = _base_dir(base_dir)
    missing = [name for name in ADAPTER_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(f"the detector's {missing[0]} is missing", where=str(folder),
                         fix="retrain it with `python -m molting.detector`")

    bf16 = cpu_supports_bf16()

    def load() -> tuple[Any, Any]:
        import torch
        from peft import PeftModel
        from transformers import AutoTokenizer

        model = PeftModel.from_pretrained(_classifier_base(base), str(folder)).merge_and_unload()
        # scored in bf16 where the CPU has it: 1,215 pieces of 306 replies 5.1 s vs 9.2 s here, probabilities within
        # 0.01 of fp32's and no flag changed at the threshold
        return model.to(torch.bfloat16) if bf16 else model, AutoTokenizer.from_pretrained(str(base))

    # the scores' identity: the base weights, the adapter and its settings, the precision (a retrained detector
    # scores afresh)
    identity = "|".join([SCORE_CACHE_FORMAT, "bf16" if bf16 else "fp32", file_sha256(base / "model.safetensors"),
                         meta_file.read_text(encoding="utf-8"),
                         *(file_sha256(folder / name) for name in ADAPTER_FILES)])
    score = PieceClassifier(None, None, cache=VectorCache(cache_dir() / "detector-scores", 1, unit_norm=False),
                            identity=identity, loader=load)
    return AgentLikeDetector(score=score, threshold=float(meta.get("threshold", DEFAULT_THRESHOLD)),
                             trained_on=str(meta.get("trained_on", "")), meta=meta)


def cross_validation_folds(rows: list[dict], folds: int = 5, seed: int = Recipe.seed) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) row indices of each fold, stratified by label."""
    from sklearn.model_selection import StratifiedKFold

    texts, y = _check_rows(rows)
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y))


def cross_validated_proba(rows: list[dict], splits: list[tuple[np.ndarray, np.ndarray]], base_dir: Path | None = None,
                          recipe: Recipe = Recipe()) -> np.ndarray:
    """P(agent-like) for each row from a detector trained on the other folds of `splits` (`cross_validation_folds`):
    an honest in-set estimate."""
    texts, _ = _check_rows(rows)
    out = np.zeros(len(rows), dtype=np.float64)
    for train_idx, test_idx in splits:
        fold = train_detector([rows[i] for i in train_idx], base_dir, recipe)
        out[test_idx] = fold.predict_proba([texts[i] for i in test_idx])
    return out


# ---------------------------------------------------------------------------------------------
# The labelled rows and the default detector
# ---------------------------------------------------------------------------------------------

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
    files = [root / LABELLED_DIR / name for name in SPLIT_FILES[split]]
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


def _trained_on(folder: Path, rows: list[dict]) -> bool:
    """Whether the detector saved in `folder` was trained on exactly these rows with today's recipe."""
    meta_file = folder / META_FILE
    if not meta_file.is_file():
        return False
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    return meta.get("rows_sha256") == rows_sha256(rows) and meta.get("recipe") == asdict(Recipe())


def shipped_is_current(split: str, root: Path | None = None) -> bool:
    """Whether data/detector/<split>/ was trained on exactly the rows `labelled_rows(split)` gives now."""
    root = Path(root) if root is not None else _source_root()
    return _trained_on(root / SHIPPED_DIR / split, labelled_rows(split, root)[0])


def _train_split(rows: list[dict], source: str) -> AgentLikeDetector:
    """A detector trained on a split's labelled rows, saying where they came from."""
    det = train_detector(rows)
    det.trained_on = source
    return det


@functools.lru_cache(maxsize=4)
def _default(split: str, root: str) -> AgentLikeDetector:
    """One default detector per split and project, per process: the shipped one, else one trained and cached."""
    from filelock import FileLock

    from molting.models import cache_dir

    rows, source = labelled_rows(split, Path(root))  # read and hashed once, for both checks
    if _trained_on(Path(root) / SHIPPED_DIR / split, rows):
        return load_detector(Path(root) / SHIPPED_DIR / split)
    # the labelled set changed since the shipped adapter was trained: train once per content, then reuse
    target = cache_dir() / "detector" / f"{split}-{rows_sha256(rows)[:16]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if not _trained_on(target, rows):
            save_detector(_train_split(rows, source), target)
    return load_detector(target)


def _source_root() -> Path:
    """The Molting checkout this module comes from (the labelled set ships with the code, not with a project)."""
    here = Path(__file__).resolve().parents[2]
    if (here / LABELLED_DIR).is_dir():
        return here
    from molting.params import find_root

    return find_root()


def default_detector(split: str = "all", root: Path | None = None) -> AgentLikeDetector:
    """The detector trained on the shipped labelled set (dev half, or all of it)."""
    return _default(split, str((Path(root) if root is not None else _source_root()).resolve()))


def precision_recall_at(threshold: float, probabilities: np.ndarray, y: np.ndarray) -> dict:
    """Precision and recall of cross-validated probabilities at a threshold (what detector.json records)."""
    flagged = probabilities >= threshold
    tp = int((flagged & (y == 1)).sum())
    return {"threshold": threshold, "precision": round(tp / max(int(flagged.sum()), 1), 4),
            "recall": round(tp / max(int(y.sum()), 1), 4)}


def train_shipped(split: str, root: Path | None = None, cv: bool = False) -> Path:
    """Train data/detector/<split>/ on the labelled rows of that split (with 5-fold CV figures when asked)."""
    root = Path(root) if root is not None else _source_root()
    rows, source = labelled_rows(split, root)
    det = _train_split(rows, source)
    if cv:
        from sklearn.metrics import roc_auc_score

        splits = cross_validation_folds(rows)  # the default recipe's seed, as the detector itself
        proba = cross_validated_proba(rows, splits)
        _, y = _check_rows(rows)
        det.meta["cross_validation"] = {
            "folds": len(splits), "roc_auc": round(float(roc_auc_score(y, proba)), 4),
            # a collapsed fold (one of them far below the others) means the recipe is unstable on this data
            "fold_roc_auc": [round(float(roc_auc_score(y[test], proba[test])), 4) for _, test in splits],
            "at": [precision_recall_at(t, proba, y) for t in (0.5, DEFAULT_THRESHOLD, 0.9)],
            "probabilities": {r.get("id", str(i)): round(float(p), 4) for i, (r, p) in enumerate(zip(rows, proba))}}
    save_detector(det, root / SHIPPED_DIR / split)
    return root / SHIPPED_DIR / split


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Train the shipped detectors (data/detector/<split>/) on data/labelled/.")
    parser.add_argument("--split", choices=SPLITS, action="append", help="which (default: both)")
    parser.add_argument("--no-cv", action="store_true", help="skip the development half's 5-fold CV figures")
    args = parser.parse_args()
    for name in args.split or SPLITS:
        print(train_shipped(name, cv=(name == "dev" and not args.no_cv)))
