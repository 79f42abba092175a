"""Curation: agent-like filter, length filters, ranking, dedup, selection, duplication, split.

Every step records what it removed and why, so the funnel (raw -> kept) can be audited row by row.
The order matters: chats are ranked before dedup, so each duplicate cluster keeps its best member.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Union

from pydantic import Field, StrictInt, StrictStr

from molting.data import assistant_text, chat_text
from molting.errors import DataError
from molting.leakage import SENTENCE_END, leakage_sets, reply_sentences, sentence_leakage_summary
from molting.validation import Strict, validate


@dataclass
class Curation:
    """The outcome of curation: kept chats, removed chats with reasons, and the funnel."""

    kept: list[dict]
    removed: list[dict] = field(default_factory=list)     # {id, step, rule, category, span, matched, chat}
    funnel: list[dict] = field(default_factory=list)      # {step, remaining, removed}
    clusters: list[dict] = field(default_factory=list)    # duplicate clusters: {kind, kept, removed, similarity}
    train: list[dict] = field(default_factory=list)
    heldout: list[dict] = field(default_factory=list)
    leakage: list[dict] = field(default_factory=list)
    cuts: list[dict] = field(default_factory=list)        # strip mode: one row per cut sentence {id, turn, rule, category, sentence}
    random_subset: dict | None = None                     # random-subset arm: {size, source, counted_funnel}
    review: list[dict] = field(default_factory=list)      # kept chats the detector marks: {id, p_agent_like, turn, ...}

    def removed_by_rule(self) -> dict[str, int]:
        """How many chats each rule removed, most first."""
        counts: dict[str, int] = {}
        for row in self.removed:
            counts[row["rule"]] = counts.get(row["rule"], 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def cut_by_rule(self) -> dict[str, int]:
        """How many sentences each rule cut in strip mode, most first."""
        counts: dict[str, int] = {}
        for row in self.cuts:
            counts[row["rule"]] = counts.get(row["rule"], 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _step(self, name: str, remaining: list[dict], removed_now: int) -> None:
        self.funnel.append({"step": name, "remaining": len(remaining), "removed": removed_now})


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------

FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|mine|myself)\b", re.I)
OPINION = re.compile(r"\b(love|loves|hate|can't stand|adore|prefer|favourite|favorite|think|reckon|believe|"
                     r"wish|enjoy|dislike|fond|honestly|best|worst)\b", re.I)


def persona_terms(persona: dict) -> list[str]:
    """Distinctive words of the persona card (capitalised names and long words), for the richness score."""
    text = " ".join([str(persona.get("name", "")), *map(str, persona.get("background", [])),
                     *map(str, persona.get("likes", [])), *map(str, persona.get("dislikes", []))])
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{5,}|[A-Z][a-z]{2,}", text)}
    return sorted(words - {"the", "and", "with", "from", "about", "their", "there"})


def quality_score(chat: dict, terms: list[str], near_miss: Callable[[str], int] | None = None) -> float:
    """Personality richness in [0, 1]: documented, deterministic, higher is better.

    0.30 * first-person rate (share of sentences with I/me/my, capped at 1)
    0.25 * opinion words (count / 2, capped at 1)
    0.25 * persona facts (distinct persona-card terms / 3, capped at 1)
    0.20 * length fit (1 between 20 and 90 words, falling linearly to 0 at 5 and 200 words)
    minus 0.2 per near-miss of an agent-like pattern (a softer match that did not remove the chat)
    """
    text = assistant_text(chat)
    sentences = [s for s in re.split(r"[.!?]+\s", text) if s.strip()] or [text]
    first_person = min(1.0, sum(bool(FIRST_PERSON.search(s)) for s in sentences) / len(sentences))
    opinions = min(1.0, len(OPINION.findall(text)) / 2)
    lowered = text.lower()
    facts = min(1.0, sum(1 for t in terms if t in lowered) / 3)
    words = len(text.split())
    if 20 <= words <= 90:
        fit = 1.0
    elif words < 20:
        fit = max(0.0, (words - 5) / 15)
    else:
        fit = max(0.0, 1 - (words - 90) / 110)
    score = 0.30 * first_person + 0.25 * opinions + 0.25 * facts + 0.20 * fit
    if near_miss is not None:
        score -= 0.2 * near_miss(text)
    return round(max(0.0, score), 4)


# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------

def _remove(cur: Curation, chat: dict, step: str, rule: str, **extra: Any) -> None:
    cur.removed.append({"id": chat["id"], "step": step, "rule": rule, **extra, "chat": chat})


def pattern_states(cfg: Any | None) -> list[tuple[Any, bool]]:
    """Every agent-like pattern with whether a version's params switch it on (curate.patterns_disabled,
    patterns_enabled, patterns_extra; None: the defaults)."""
    from molting import patterns
    from molting.params import project_path

    if cfg is None:
        return patterns.pattern_states(patterns.load_patterns())
    c = cfg.curate
    extra = [project_path(cfg, f, "curate.patterns_extra") for f in c.patterns_extra]
    return patterns.pattern_states(patterns.load_patterns(extra), c.patterns_disabled, c.get("patterns_enabled", []))


def library_for(cfg: Any) -> Any:
    """The pattern library a version curates with (and its evaluation judges answers with)."""
    from molting.patterns import PatternLibrary

    return PatternLibrary(p for p, on in pattern_states(cfg) if on)


def first_hit(chat: dict, library: Any) -> tuple[int, Any] | None:
    """The chat's first assistant turn with an agent-like hit, and that turn's earliest hit (None: no hit)."""
    for turn, message in enumerate(chat["messages"]):
        if message["role"] == "assistant":
            hit = library.first(message["content"])
            if hit:
                return turn, hit
    return None


def filter_agent_like(chats: list[dict], library: Any, cur: Curation,
                      hits: list[tuple[int, Any] | None] | None = None) -> list[dict]:
    """Drop chats with any agent-like hit in an assistant turn, recording the first rule and its span (`hits`: each
    chat's `first_hit`, where already found, e.g. by `scan_chats`)."""
    kept = []
    for chat, found in zip(chats, hits if hits is not None else (first_hit(chat, library) for chat in chats)):
        if found is None:
            kept.append(chat)
            continue
        turn, hit = found
        _remove(cur, chat, "agent_like", hit.rule, category=hit.category, turn=turn,
                span=[hit.start, hit.end], matched=hit.matched)
    opt_in = sorted({p.category for p in getattr(library, "patterns", []) if not p.on_by_default})
    cur._step("agent-like filter" + (f" (opt-in on: {', '.join(opt_in)})" if opt_in else ""), kept, len(chats) - len(kept))
    return kept


# From this many chats up, `scan_chats` runs in worker processes, one per CPU core (MOLTING_WORKERS sets how many;
# 1: none). The richness score and the pattern scan are independent per chat and ~80% of curating 100k chats; on
# 2 cores the scan took 30.2 s in one process and 14-17 s in two (2026-12-07, about 18:00). The workers are
# joblib's (loky), as scikit-learn's are: a pool of the standard library's forkserver or spawn kind was as fast but
# runs the caller's script again in every worker where it lacks an `if __name__ == "__main__":` guard, and fork is
# unsafe once torch or tokenizers have started threads. `datasets.map(num_proc=2)` took 16.5 s and needs the hits
# flattened into Arrow columns. Below the threshold, starting workers costs more than it saves.
PARALLEL_MIN_CHATS = 20_000
WORKERS_ENV = "MOLTING_WORKERS"


def scan_workers(count: int) -> int:
    """Worker processes for scanning `count` chats: 1 (this process) below PARALLEL_MIN_CHATS."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise DataError(f"{raw!r} is not a number of worker processes", where=WORKERS_ENV,
                            fix="set it to a whole number >= 1 (1: scan in this process), or unset it (one per CPU core)")
        workers = int(raw)
    else:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # at least PARALLEL_MIN_CHATS / 4 chats per worker: on a many-core machine a worker's start is not worth less
    return 1 if count < PARALLEL_MIN_CHATS else max(1, min(workers, count * 4 // PARALLEL_MIN_CHATS))


class Scan(NamedTuple):
    """What `scan_chats` finds in one chat."""

    quality: float                      # quality_score of the chat as loaded
    hit: tuple[int, Any] | None         # mode "filter": first_hit
    stripped: tuple[list[dict], list[dict], Any] | None   # mode "strip": strip_chat


def _scan_part(part: list[dict], library: Any, terms: list[str], mode: str, min_words: int) -> list[Scan]:
    return [Scan(quality_score(chat, terms),
                 first_hit(chat, library) if library is not None and mode == "filter" else None,
                 strip_chat(chat, library, min_words) if library is not None and mode == "strip" else None)
            for chat in part]


def scan_chats(chats: list[dict], library: Any, terms: list[str], mode: str = "filter", min_words: int = 0,
               workers: int | None = None) -> list[Scan]:
    """Per chat, in order: its richness score (`quality_score`) and, where a library is given, its `first_hit`
    (mode "filter") or its `strip_chat` (mode "strip", `min_words` as there); in `workers` processes (default
    `scan_workers`) for a large input. The result is the same either way."""
    workers = scan_workers(len(chats)) if workers is None else workers
    if workers <= 1 or len(chats) < 2:
        return _scan_part(chats, library, terms, mode, min_words)
    from concurrent.futures.process import BrokenProcessPool

    from joblib import Parallel, delayed

    # only what the scan reads travels to the workers, in one contiguous part each (the library, ~2 MB pickled, goes
    # with every part)
    light = [{"id": chat["id"], "messages": chat["messages"]} for chat in chats]
    size = -(-len(light) // workers)
    parts = [light[i:i + size] for i in range(0, len(light), size)]
    try:
        done = Parallel(n_jobs=workers, backend="loky")(delayed(_scan_part)(part, library, terms, mode, min_words)
                                                         for part in parts)
    except (OSError, BrokenProcessPool) as exc:   # no processes allowed here, or a worker killed (memory)
        warnings.warn(f"curation could not scan in {workers} worker processes ({exc!r}); scanning in this one "
                      f"instead (set {WORKERS_ENV}=1 to skip the attempt)", RuntimeWarning, stacklevel=2)
        return _scan_part(chats, library, terms, mode, min_words)
    return [row for part in done for row in part]


def detector_flags(chats: list[dict], detector: Any) -> dict[str, tuple[float, int, str, str]]:
    """Chats the detector flags: id -> (p, turn, the piece that scored it, the reply) of its likeliest assistant turn."""
    turns = [(chat["id"], i, m["content"]) for chat in chats for i, m in enumerate(chat["messages"]) if m["role"] == "assistant"]
    best: dict[str, tuple[float, int, str, str]] = {}
    for (chat_id, turn, text), (p, piece) in zip(turns, detector.explain([text for _, _, text in turns])):
        if p >= detector.threshold and p > best.get(chat_id, (-1.0,))[0]:
            best[chat_id] = (p, turn, piece, text)
    return best


def filter_detector(chats: list[dict], detector: Any, cur: Curation) -> list[dict]:
    """Drop chats in which the detector scores any assistant turn at or above its threshold (`curate.detector_drops`)."""
    flagged = detector_flags(chats, detector)
    kept = []
    for chat in chats:
        if chat["id"] in flagged:
            p, turn, piece, _ = flagged[chat["id"]]
            _remove(cur, chat, "agent_like", "detector", category="detector", turn=turn, matched=_short(piece),
                    detail=f"p_agent_like {p:.3f}")
        else:
            kept.append(chat)
    cur._step(f"detector (p >= {detector.threshold:g})", kept, len(chats) - len(kept))
    return kept


_LIST_NUMBER = re.compile(r"\(?(\d{1,3}|[A-Za-z])[.)]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a reply, cut as `reply_sentences` cuts (at line breaks, and after . ! or ?
    and a closing bracket or quote followed by a space), without the whitespace around it."""
    spans = []
    line_start = 0
    for line in text.split("\n"):
        starts = [0, *(m.end() for m in SENTENCE_END.finditer(line))]
        ends = [m.start() + len(m.group().rstrip()) for m in SENTENCE_END.finditer(line)] + [len(line)]
        pending = None                    # a list number ("1.") is no sentence: it starts the next one
        for start, end in zip(starts, ends):
            piece = line[start:end]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                span = (pending if pending is not None else line_start + start + lead, line_start + start + len(piece.rstrip()))
                pending = span[0] if _LIST_NUMBER.fullmatch(piece.strip()) else None
                if pending is None:
                    spans.append(span)
        if pending is not None:
            spans.append((pending, line_start + len(line.rstrip())))
        line_start += len(line) + 1
    return spans


def strip_reply(text: str, hits: list[Any]) -> tuple[str, list[tuple[str, Any]]]:
    """The reply without the sentences a pattern hit overlaps, and the cut sentences with the first hit on each.

    Lines without a cut stay as they were; a line that loses sentences keeps its indentation and the rest of
    its sentences; a line that loses all of them goes, and so do the blank lines that would pile up.
    """
    spans = sentence_spans(text)
    cut: list[tuple[str, Any]] = []
    cut_spans = set()
    for span in spans:
        hit = next((h for h in hits if h.start < span[1] and span[0] < h.end), None)
        if hit is not None:
            cut.append((text[span[0]:span[1]], hit))
            cut_spans.add(span)
    if not cut:
        return text, []
    lines = []
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        mine = [s for s in spans if line_start <= s[0] < line_end]
        if not any(s in cut_spans for s in mine):
            lines.append(line)
        else:
            kept = [text[s[0]:s[1]] for s in mine if s not in cut_spans]
            if kept:
                lines.append(line[: len(line) - len(line.lstrip())] + " ".join(kept))
        line_start = line_end + 1
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", "\n".join(lines)).strip(), cut


def strip_chat(chat: dict, library: Any, min_words: int) -> tuple[list[dict], list[dict], tuple[int, int, Any] | None]:
    """The chat's messages with the agent-like sentences cut out of its replies, the cuts, and (turn, words left,
    first hit) for the first reply left shorter than `min_words` (None: every reply keeps enough)."""
    messages, cuts, too_short = [], [], None
    for turn, message in enumerate(chat["messages"]):
        if message["role"] != "assistant":
            messages.append(message)
            continue
        text, cut = strip_reply(message["content"], library.scan(message["content"]))
        cuts += [{"id": chat["id"], "turn": turn, "rule": hit.rule, "category": hit.category, "matched": hit.matched,
                  "sentence": sentence} for sentence, hit in cut]
        if cut and len(text.split()) < min_words and too_short is None:
            too_short = (turn, len(text.split()), cut[0][1])
        messages.append({**message, "content": text})
    return messages, cuts, too_short


def strip_agent_like(chats: list[dict], library: Any, min_words: int, cur: Curation,
                     stripped: list[tuple[list[dict], list[dict], Any]] | None = None) -> list[dict]:
    """Cut the agent-like sentences (pattern hits) out of assistant turns and keep the rest of each chat;
    drop a chat only when one of its replies is left shorter than `min_words` (e.g. a wholly agent-like reply).
    `stripped`: each chat's `strip_chat`, where already made (e.g. by `scan_chats`)."""
    kept = []
    results = stripped if stripped is not None else (strip_chat(chat, library, min_words) for chat in chats)
    for chat, (messages, cuts, too_short) in zip(chats, results):
        if too_short is not None:
            turn, words, hit = too_short
            _remove(cur, chat, "agent_like_strip", hit.rule, category=hit.category, turn=turn,
                    cut=[row["sentence"] for row in cuts], detail=f"reply left with {words} words < {min_words} after the cut")
        elif cuts:
            kept.append({**chat, "messages": messages})
            cur.cuts += cuts
        else:
            kept.append(chat)
    edited = len({row["id"] for row in cur.cuts})
    opt_in = sorted({p.category for p in getattr(library, "patterns", []) if not p.on_by_default})
    cur._step(f"agent-like strip ({len(cur.cuts)} sentences cut from {edited} chats kept; a reply left too short drops its chat)"
              + (f" (opt-in on: {', '.join(opt_in)})" if opt_in else ""), kept, len(chats) - len(kept))
    return kept


def filter_length(chats: list[dict], min_words: int, max_tokens: int, count_tokens: Callable[[dict], int] | None,
                  cur: Curation) -> list[dict]:
    """Drop chats whose replies are too short to carry a voice, or too long to train whole."""
    kept = []
    for chat in chats:
        words = min(len(m["content"].split()) for m in chat["messages"] if m["role"] == "assistant")
        if words < min_words:
            _remove(cur, chat, "length", "too_short", detail=f"{words} words < {min_words}")
            continue
        if count_tokens is not None:
            tokens = count_tokens(chat)
            if tokens > max_tokens:
                _remove(cur, chat, "length", "too_long", detail=f"{tokens} tokens > {max_tokens}")
                continue
        kept.append(chat)
    cur._step("length filter", kept, len(chats) - len(kept))
    return kept


def dedup(chats: list[dict], cur: Curation, *, exact: bool, near: bool, near_threshold: float,
          semantic: bool, semantic_threshold: float, embed: Callable[[list[str]], Any] | None = None) -> list[dict]:
    """Exact, near (MinHash) and semantic duplicates; each cluster keeps its first (best-ranked) chat."""
    from molting import dedup as dd

    steps = []
    if exact:
        steps.append(("exact dedup", "exact_duplicate", lambda texts: dd.exact_clusters(texts)))
    if near:
        steps.append(("near dedup", "near_duplicate", lambda texts: dd.near_clusters(texts, threshold=near_threshold)))
    if semantic:
        if embed is None:
            raise DataError("semantic dedup needs an embedder", where="curate.semantic_dedup",
                            fix="pass embed= (curate.make_embedder(cfg)) or set curate.semantic_dedup: false")
        steps.append(("semantic dedup", "semantic_duplicate",
                      lambda texts: dd.semantic_clusters(embed(texts), threshold=semantic_threshold)))
    for step, rule, find in steps:
        texts = [chat_text(c) for c in chats]
        drop: set[int] = set()
        for cluster in find(texts):
            members = [m for m in cluster.members if m != cluster.representative]
            cur.clusters.append({"kind": rule, "kept": chats[cluster.representative]["id"],
                                 "removed": [chats[m]["id"] for m in members],
                                 "similarity": round(float(cluster.similarity), 4)})
            for m in members:
                _remove(cur, chats[m], step.split()[0] + "_dedup", rule, duplicate_of=chats[cluster.representative]["id"])
                drop.add(m)
        chats = [c for i, c in enumerate(chats) if i not in drop]
        cur._step(step, chats, len(drop))
    return chats


def apply_keep_drop(chats: list[dict], all_chats: list[dict], keep_drop: dict | None, cur: Curation) -> tuple[list[dict], set[str]]:
    """Manual overrides: `drop` ids go, `keep` ids come back whatever removed them; returns (chats, forced ids)."""
    if not keep_drop:
        return chats, set()
    drop = set(map(str, keep_drop.get("drop", []) or []))
    keep = set(map(str, keep_drop.get("keep", []) or []))
    by_id = {c["id"]: c for c in all_chats}
    unknown = sorted((drop | keep) - set(by_id))
    if unknown:
        raise DataError(f"keep/drop list names ids that are not in the data: {', '.join(unknown[:5])}",
                        where="curate.keep_drop_file", fix="check the ids against the raw data's `id` field")
    before = len(chats)
    present = {c["id"] for c in chats}
    for chat in chats:
        if chat["id"] in drop:
            _remove(cur, chat, "manual", "manual_drop")
    chats = [c for c in chats if c["id"] not in drop]
    restored = [by_id[i] for i in sorted(keep - present - drop)]
    restored_ids = {c["id"] for c in restored}
    cur.removed = [r for r in cur.removed if r["id"] not in restored_ids]  # a forced keep is no longer "removed"
    chats = chats + restored
    cur._step("manual keep/drop", chats, before - len(chats))
    return chats, keep


def split(chats: list[dict], heldout_fraction: float, heldout_min: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic train/held-out split (held-out at least heldout_min, at most half) that keeps chats
    sharing a reply sentence on the same side.

    Chats are shuffled by seed and held-out takes whole groups of chats linked by shared sentences
    (`reply_sentences`) while they fit, so a held-out reply repeats no training sentence. When the
    groups cannot fill it (one group holds nearly everything), the rest is taken chat by chat and
    `leakage.check_leakage` lists what is shared. With no shared sentences this is a plain seeded shuffle.
    """
    order = sorted(chats, key=lambda c: c["id"])
    random.Random(seed).shuffle(order)
    n_heldout = min(len(order) // 2, max(heldout_min, round(heldout_fraction * len(order))))
    groups = sentence_groups(order)
    members: dict[int, list[str]] = {}
    for chat, group in zip(order, groups):
        members.setdefault(group, []).append(chat["id"])
    heldout_ids: set[str] = set()
    decided: set[int] = set()
    for group in groups:
        if len(heldout_ids) >= n_heldout:
            break
        if group not in decided:
            decided.add(group)
            if len(heldout_ids) + len(members[group]) <= n_heldout:
                heldout_ids.update(members[group])
    for chat in order:                     # groups too large to fit: fill chat by chat (leakage is then reported)
        if len(heldout_ids) >= n_heldout:
            break
        heldout_ids.add(chat["id"])
    return [c for c in chats if c["id"] not in heldout_ids], [c for c in chats if c["id"] in heldout_ids]


def sentence_groups(chats: list[dict]) -> list[int]:
    """A group number per chat: chats that share a reply sentence, directly or through others, share a group."""
    parent = list(range(len(chats)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, chat in enumerate(chats):
        for sentence in reply_sentences(chat):
            j = first.setdefault(sentence, i)
            parent[root(i)] = root(j)
    return [root(i) for i in range(len(chats))]


def subset(chats: list[dict], fraction: float, seed: int) -> list[dict]:
    """A seeded share of the chats; smaller fractions are subsets of larger ones (nested learning curves)."""
    order = sorted(chats, key=lambda c: c["id"])
    random.Random(seed + 1).shuffle(order)
    keep = {c["id"] for c in order[: max(1, round(fraction * len(order)))]}
    return [c for c in chats if c["id"] in keep]


def duplicate_best(train: list[dict], fraction: float) -> list[dict]:
    """Repeat the best-ranked `fraction` of the training chats once (tagged), the lab's controlled duplication."""
    if fraction <= 0:
        return train
    ranked = sorted(train, key=lambda c: (-c.get("quality", 0), c["id"]))
    extra = [{**c, "id": f"{c['id']}#dup", "source": f"{c['source']}+duplicate"} for c in ranked[: round(fraction * len(train))]]
    return train + extra


def check_not_empty(chats: list[dict], cur: Curation, raw_count: int) -> None:
    """Stop with the rule that removed the most when nothing is left."""
    if chats:
        return
    top = next(iter(cur.removed_by_rule().items()), ("none", 0))
    raise DataError(f"curation removed all {raw_count} chats; the rule that removed the most was `{top[0]}` ({top[1]} chats)",
                    where="curate", fix=f"check the data, or disable that rule (curate.patterns_disabled: [{top[0]}]) "
                                        "or relax the thresholds in the version's params")


def curate(chats: list[dict], cfg: Any, *, library: Any, persona: dict,
           count_tokens: Callable[[dict], int] | None = None, keep_drop: dict | None = None,
           embed: Callable[[list[str]], Any] | None = None, synthetic: list[dict] | None = None,
           detector: Any = None) -> Curation:
    """Run every enabled curation step over loaded (and synthetic) chats and split the result.

    Synthetic chats go through the same filters and dedup as the raw ones (so a synthetic chat that
    repeats a raw one is dropped), and only ever land in the training split: the held-out split
    measures the real voice. With `curate.detector_drops` the detector (the shipped default unless one is
    given) drops what it flags after the patterns.
    """
    c = cfg.curate
    cur = Curation(kept=[])
    synthetic = synthetic or []
    chats = [*chats, *synthetic]
    label = f"loaded ({len(chats) - len(synthetic)} raw + {len(synthetic)} synthetic)" if synthetic else "loaded"
    cur.funnel.append({"step": label, "remaining": len(chats), "removed": 0})
    terms = persona_terms(persona)
    scans = scan_chats(chats, library if c.enabled else None, terms, c.mode, c.min_assistant_words)
    for chat, scan in zip(chats, scans):
        chat["quality"] = scan.quality
    if c.enabled:
        if c.mode == "strip":
            kept = strip_agent_like(chats, library, c.min_assistant_words, cur, [scan.stripped for scan in scans])
            for chat in kept:                     # a shorter reply ranks differently in dedup and top_k
                chat["quality"] = quality_score(chat, terms)
        else:
            kept = filter_agent_like(chats, library, cur, hits=[scan.hit for scan in scans])
        if c.detector_drops:
            kept = filter_detector(kept, detector or _default_detector(), cur)
        kept = filter_length(kept, c.min_assistant_words, c.max_tokens, count_tokens, cur)
        kept = sorted(kept, key=lambda ch: (-ch["quality"], ch["id"]))
        kept = dedup(kept, cur, exact=c.exact_dedup, near=c.near_dedup, near_threshold=c.near_threshold,
                     semantic=c.semantic_dedup, semantic_threshold=c.semantic_threshold, embed=embed)
        kept, forced = apply_keep_drop(kept, chats, keep_drop, cur)
        if c.top_k is not None and len(kept) > c.top_k:
            ranked = sorted(kept, key=lambda ch: (ch["id"] not in forced, -ch["quality"], ch["id"]))
            for chat in ranked[c.top_k:]:
                _remove(cur, chat, "top_k", "below_top_k", detail=f"quality {chat['quality']}")
            kept = ranked[: c.top_k]
            cur._step(f"top {c.top_k}", kept, len(ranked) - c.top_k)
    else:
        kept = list(chats)
        cur.funnel.append({"step": "curation off (data as loaded)", "remaining": len(kept), "removed": 0})
    check_not_empty(kept, cur, len(chats))
    if c.random_subset is not None:
        kept = take_random_subset(chats, kept, c, cfg.seed, cur)
    kept = sorted(kept, key=lambda ch: ch["id"])
    cur.kept = kept
    real = [ch for ch in kept if ch.get("source", "raw") == "raw"]
    train, heldout = split(real, c.heldout_fraction, c.heldout_min, cfg.seed)
    train = sorted([*train, *(ch for ch in kept if ch.get("source", "raw") != "raw")], key=lambda ch: ch["id"])
    if c.train_fraction < 1:
        train = subset(train, c.train_fraction, cfg.seed)
        cur.funnel.append({"step": f"train fraction {c.train_fraction:g}", "remaining": len(train) + len(heldout),
                           "removed": len(kept) - len(train) - len(heldout)})
    cur.train = duplicate_best(train, c.duplicate_fraction)
    cur.heldout = heldout
    if len(cur.train) != len(train):
        cur.funnel.append({"step": f"duplicate best {c.duplicate_fraction:.0%}", "remaining": len(cur.train) + len(heldout),
                           "removed": -(len(cur.train) - len(train))})
    return cur


def take_random_subset(chats: list[dict], curated: list[dict], c: Any, seed: int, cur: Curation) -> list[dict]:
    """The random-subset arm: a seeded random sample of the chats as loaded (no filtering, no dedup), as many as
    curation kept (`curated_size`, counted by the steps just run) or as given, so "cleaner" and "smaller" part ways.

    The counting run's funnel is kept in `cur.random_subset`; the funnel and removed rows show only the cut.
    """
    if c.random_subset == "curated_size" and not c.enabled:
        raise DataError("curate.random_subset: curated_size counts what the curation steps keep, but curate.enabled is false",
                        where="curate.random_subset", fix="set curate.enabled: true (the steps then only count), or give the size as a number")
    size = len(curated) if c.random_subset == "curated_size" else int(c.random_subset)
    if size > len(chats):
        raise DataError(f"curate.random_subset asks for {size} chats but only {len(chats)} were loaded", where="curate.random_subset",
                        fix=f"give at most {len(chats)}, or `curated_size`")
    chosen = {chat["id"] for chat in random.Random(seed).sample(sorted(chats, key=lambda ch: ch["id"]), size)}
    source = "the size curation keeps" if c.random_subset == "curated_size" else "as given"
    cur.random_subset = {"size": size, "of": len(chats), "source": c.random_subset, "seed": seed, "counted_funnel": cur.funnel}
    cur.funnel = [cur.funnel[0], {"step": f"random subset, no filtering ({size} chats: {source})", "remaining": size,
                                  "removed": len(chats) - size}]
    cur.removed, cur.clusters, cur.cuts = [], [], []
    for chat in chats:
        if chat["id"] not in chosen:
            _remove(cur, chat, "random_subset", "not_sampled", detail=f"seed {seed}")
    return [chat for chat in chats if chat["id"] in chosen]


def _default_detector() -> Any:
    """The shipped detector, trained on the whole labelled set."""
    from molting.detector import default_detector

    return default_detector("all")


def mark_for_review(cur: Curation, cfg: Any, detector: Any = None) -> list[dict]:
    """Kept chats the detector finds agent-like: a second opinion for a person, who decides with
    curate.keep_drop_file. Stored on `cur.review`, most likely first."""
    if not (cfg.curate.enabled and cfg.curate.review_detector) or cfg.curate.random_subset is not None:
        # the random-subset arm is unfiltered by design: nothing there is for a person to review
        cur.review = []
        return cur.review
    review = [{"id": chat_id, "p_agent_like": round(p, 3), "turn": turn, "sentence": _short(piece), "reply": _short(text, 240)}
              for chat_id, (p, turn, piece, text) in detector_flags(cur.kept, detector or _default_detector()).items()]
    cur.review = sorted(review, key=lambda r: (-r["p_agent_like"], r["id"]))
    return cur.review


def review_table_rows(review: list[dict]) -> list[dict]:
    """Review candidates as notebook rows (or one row saying there are none)."""
    return review or [{"id": "-", "p_agent_like": "-", "sentence": "the detector marks no kept chat", "reply": ""}]


def load_synthetic(cfg: Any) -> list[dict]:
    """Synthetic chats from `curate.synthetic_file`, tagged source=synthetic (ids prefixed syn-)."""
    if not cfg.curate.synthetic_file:
        return []
    from molting.data import load_setting

    loaded = load_setting(cfg, "curate.synthetic_file", source="synthetic")
    return [{**chat, "id": f"syn-{chat['id']}"} for chat in loaded.chats]


def cluster_rows(cur: Curation, chats: list[dict]) -> list[dict]:
    """Duplicate clusters with the kept representative's reply and one removed reply, for the notebook."""
    by_id = {c["id"]: c for c in chats}
    rows = []
    for cluster in cur.clusters:
        kept, first = by_id.get(cluster["kept"]), by_id.get(cluster["removed"][0]) if cluster["removed"] else None
        rows.append({"kind": cluster["kind"], "kept": cluster["kept"], "removed": ", ".join(cluster["removed"]),
                     "similarity": cluster["similarity"],
                     "kept reply": _short(assistant_text(kept)) if kept else "",
                     "removed reply": _short(assistant_text(first)) if first else ""})
    return rows


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def reply_lengths(chats: list[dict]) -> list[int]:
    """Words per chat across its assistant replies (for the before/after length plot)."""
    return [len(assistant_text(c).split()) for c in chats]


def digest(rows: list[dict]) -> str:
    """sha256 of rows as canonical JSON lines (for the byte-identical check)."""
    h = hashlib.sha256()
    for row in rows:
        h.update((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode())
    return h.hexdigest()


def public_row(chat: dict) -> dict:
    """A chat as written to train/held-out JSONL."""
    return {"id": chat["id"], "messages": chat["messages"], "source": chat.get("source", "raw"),
            **({"origin": chat["origin"]} if "origin" in chat else {}), "quality": chat.get("quality")}


def removed_row(row: dict) -> dict:
    """A removed chat as written to removed.jsonl."""
    return {k: v for k, v in row.items() if k != "chat"} | {"messages": row["chat"]["messages"]}


def cut_row(row: dict, kept_ids: set[str]) -> dict:
    """A sentence cut in strip mode, as written to removed.jsonl (`chat_kept`: its chat stayed, shorter, to the end)."""
    return {"id": row["id"], "step": "agent_like_strip", "rule": row["rule"], "category": row["category"], "turn": row["turn"],
            "matched": row["matched"], "cut": row["sentence"], "chat_kept": row["id"] in kept_ids}


class _KeepDrop(Strict):
    keep: list[Union[StrictStr, StrictInt]] = Field([], description="ids kept whatever the rules say, e.g. keep: [s0001]")
    drop: list[Union[StrictStr, StrictInt]] = Field([], description="ids dropped whatever the rules say")


def load_keep_drop(path: str | None, root: Path) -> dict | None:
    """The manual keep/drop YAML file ({keep: [...], drop: [...]}) or None."""
    if not path:
        return None
    from molting.params import read_yaml

    return validate(_KeepDrop, read_yaml(root / path), str(root / path), DataError).model_dump()


def save(cur: Curation, paths: Any, loaded: Any, cfg: Any) -> dict:
    """Write train/held-out (JSONL + datasets folder), removed rows and curation.json, holding the version's lock
    (runs.writing) while it writes; return the summary."""
    import datasets

    from molting.runs import write_json, write_jsonl, writing

    train_rows = [public_row(c) for c in cur.train]
    kept_ids = {c["id"] for c in cur.kept}
    heldout_rows = [public_row(c) for c in cur.heldout]
    summary = {
        **raw_files(loaded, Path(cfg.root)),
        "formats": loaded.detected_formats,
        "skipped_lines": loaded.skipped,
        "curation_enabled": cfg.curate.enabled,
        "funnel": cur.funnel,
        "removed_by_rule": cur.removed_by_rule(),
        "mode": cfg.curate.mode,
        "cut_by_rule": cur.cut_by_rule(),
        "sentences_cut": len(cur.cuts),
        "random_subset": cur.random_subset,
        "clusters": cur.clusters,
        "leakage": cur.leakage,
        "sentence_leakage": sentence_leakage_summary(cur.train, leakage_sets(cur, cfg)),
        "review": {"detector": "molting.detector (MiniLM fine-tuned as a classifier)", "marked": len(cur.review),
                   "ids": [r["id"] for r in cur.review]},
        "counts": {"raw": len(loaded.chats) + len(loaded.skipped), "loaded": len(loaded.chats), "kept": len(cur.kept),
                   "train": len(cur.train), "heldout": len(cur.heldout)},
        "sources": source_mix(cur.train),
        "sha256": {"train": digest(train_rows), "heldout": digest(heldout_rows)},
    }
    with writing(paths):
        write_jsonl(paths.train_jsonl, train_rows)
        write_jsonl(paths.heldout_jsonl, heldout_rows)
        write_jsonl(paths.removed_jsonl, [removed_row(r) for r in cur.removed]
                    + [cut_row(r, kept_ids) for r in cur.cuts])
        write_jsonl(paths.review_jsonl, cur.review)
        datasets.DatasetDict({
            "train": datasets.Dataset.from_list([{"id": r["id"], "messages": r["messages"], "source": r["source"]} for r in train_rows]),
            "heldout": datasets.Dataset.from_list([{"id": r["id"], "messages": r["messages"], "source": r["source"]} for r in heldout_rows]),
        }).save_to_disk(str(paths.dataset_dir))
        write_json(paths.curation_json, summary)
    return summary


def _relative(path: Path, root: Path) -> str:
    """A path relative to the project when it lies inside it (so outputs do not depend on where the project is)."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def raw_files(loaded: Any, root: Path) -> dict:
    """The raw file (raw_file, relative to the project where inside it) and its sha256; lists of both where data.raw
    names several files."""
    from molting.runs import file_sha256

    files = [Path(p) for p in loaded.paths]
    names = [_relative(f, root) for f in files]
    hashes = [file_sha256(f) if f.is_file() else None for f in files]   # a `datasets` folder has no one hash
    return {"raw_file": names[0], "raw_sha256": hashes[0]} if len(files) == 1 else {"raw_file": names, "raw_sha256": hashes}


def source_mix(chats: list[dict]) -> dict[str, int]:
    """How many chats come from each source (raw, synthetic, +duplicate), and from which file where data.raw names
    several ("raw: logs.jsonl")."""
    return _count([c.get("source", "raw") + (f": {c['origin']}" if "origin" in c else "") for c in chats])


def _count(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def make_embedder(cfg: Any) -> Callable[[list[str]], Any] | None:
    """The sentence embedder (cached by content hash) when semantic dedup is on, else None."""
    if not (cfg.curate.enabled and cfg.curate.semantic_dedup):
        return None
    from molting.embed import Embedder
    from molting.models import cache_dir

    return Embedder(cache_dir=cache_dir() / "embeddings").encode


def cut_table_rows(cur: Curation, mode: str) -> list[dict]:
    """Strip mode: sentences cut per rule with one example, for the notebook (one row saying so in filter mode)."""
    if mode != "strip":
        return [{"rule": "-", "sentences cut": 0, "example": "curate.mode is filter: a chat with a hit is dropped whole (above)"}]
    examples: dict[str, str] = {}
    for row in cur.cuts:
        examples.setdefault(row["rule"], _short(row["sentence"]))
    return [{"rule": rule, "sentences cut": n, "example": examples[rule]} for rule, n in cur.cut_by_rule().items()] or [
        {"rule": "-", "sentences cut": 0, "example": "no kept reply had an agent-like sentence"}]


def examples_by_rule(cur: Curation, per_rule: int = 2) -> list[dict]:
    """A few removed replies per rule, with the matched span, for the notebook."""
    shown: dict[str, int] = {}
    rows = []
    for row in cur.removed:
        if shown.get(row["rule"], 0) >= per_rule:
            continue
        shown[row["rule"]] = shown.get(row["rule"], 0) + 1
        reply = assistant_text(row["chat"])
        rows.append({"rule": row["rule"], "matched": row.get("matched") or row.get("duplicate_of") or row.get("detail", ""),
                     "reply": reply if len(reply) <= 240 else reply[:237] + "..."})
    return rows
