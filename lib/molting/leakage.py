"""What leaks from training into what measures it: held-out and test chats that near-duplicate a training chat or
share a reply sentence with one, and eval questions that near-duplicate a training chat's user turns.

01-curate lists every case (`check_leakage`) and curation.json counts the shared sentences per set
(`sentence_leakage_summary`); curation's split keeps chats that share a reply sentence on one side (`reply_sentences`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from molting.data import assistant_text, chat_text, user_text


# A sentence shorter than this ("Right, love.", "Hope that helps!") says too little to count as leaked text.
SENTENCE_MIN_WORDS = 4
SENTENCE_END = re.compile(r"[.!?][)\]\"]?\s+")      # the end mark goes too: keys keep only words
_WORD = re.compile(r"[^\W_]+")


def reply_sentences(chat: dict) -> list[str]:
    """The sentences of a chat's assistant replies (the text training learns), as keys: their words, lowercased,
    without punctuation (so a dropped comma does not make a new sentence); only those of SENTENCE_MIN_WORDS words or more.

    A reply is cut into lines, and lines after . ! or ? (and a closing bracket or quote) followed by a space;
    data/sample/make_sample.py uses the same rule so that its sample splits without leakage.
    """
    from molting.dedup import normalize

    keys = []
    for line in assistant_text(chat).split("\n"):
        for sentence in SENTENCE_END.split(normalize(line)):     # normalising whole lines: 3x fewer calls
            words = _WORD.findall(sentence)
            if len(words) >= SENTENCE_MIN_WORDS:
                keys.append(" ".join(words))
    return keys


def sentence_leakage(train: list[dict], others: dict[str, list[dict]]) -> list[dict]:
    """Reply sentences of other chats (held-out, test) that a training reply also has: one row per sentence and set."""
    train_ids: dict[str, str] = {}
    for chat in train:
        for sentence in reply_sentences(chat):
            train_ids.setdefault(sentence, chat["id"])
    rows = []
    for name, chats in others.items():
        shared: dict[str, str] = {}
        for chat in chats:
            for sentence in reply_sentences(chat):
                if sentence in train_ids:
                    shared.setdefault(sentence, chat["id"])
        rows += [{"set": f"{name} sentences", "text": f"{other_id}: {sentence}", "train_id": train_ids[sentence],
                  "similarity": 1.0} for sentence, other_id in shared.items()]
    return rows


def sentence_leakage_summary(train: list[dict], others: dict[str, list[dict]]) -> dict:
    """Per set: chats, distinct reply sentences, how many a training reply also has, and how many chats hold one."""
    train_sentences = {s for chat in train for s in reply_sentences(chat)}
    summary: dict[str, Any] = {"min_words": SENTENCE_MIN_WORDS}
    for name, chats in others.items():
        per_chat = [set(reply_sentences(chat)) for chat in chats]
        distinct = set().union(*per_chat)
        summary[name] = {"chats": len(chats), "sentences": len(distinct), "shared_with_train": len(distinct & train_sentences),
                         "chats_sharing": sum(1 for sentences in per_chat if sentences & train_sentences)}
    return summary


def load_test_chats(cfg: Any) -> list[dict]:
    """The clean test chats of `data.test_chats` (never trained on), or [] when none are configured."""
    if not cfg.data.test_chats:
        return []
    from molting.data import load_setting

    return load_setting(cfg, "data.test_chats", source="test").chats


def leakage_sets(cur: Any, cfg: Any) -> dict[str, list[dict]]:
    """The chat sets that must share no reply sentence with training: held-out, and the test chats when configured."""
    test = load_test_chats(cfg)
    return {"held-out": cur.heldout, **({"test": test} if test else {})}


def leakage(train_texts: list[str], train: list[dict], others: dict[str, list[str]], threshold: float) -> list[dict]:
    """Items of `others` that (near-)duplicate one of `train_texts` (one per training chat)."""
    from molting import dedup as dd

    found = []
    for name, texts in others.items():
        for match in dd.cross_matches(train_texts, texts, threshold=threshold):
            found.append({"set": name, "text": texts[match.other], "train_id": train[match.train]["id"],
                          "similarity": round(match.similarity, 4)})
    return found


def check_leakage(cur: Any, cfg: Any) -> list[dict]:
    """What leaks from training: held-out (and test) chats that near-duplicate a training chat or share a reply
    sentence with one, and eval-suite questions that near-duplicate a training chat's user turns."""
    from molting.suite import load_suites

    questions = [q.prompt for q in load_suites(list(cfg.eval.suites), Path(cfg.root))]
    sets = leakage_sets(cur, cfg)
    # held-out chats leak when the whole chat repeats, or one of its reply sentences; eval questions when a training prompt does
    return (leakage([chat_text(c) for c in cur.train], cur.train, {name: [chat_text(c) for c in chats] for name, chats in sets.items()},
                    cfg.curate.near_threshold)
            + sentence_leakage(cur.train, sets)
            + leakage([user_text(c) for c in cur.train], cur.train, {"eval questions": questions}, cfg.curate.near_threshold))
