"""Measure the agent-like pattern library: accuracy on the labeled set (and the sample data), and speed.

Usage: python benchmarks/bench_filter.py [--quick]

An example counts as agent-like when `lib.first(text)` finds a hit. For the sample chats
(data/sample/raw.jsonl + labels.jsonl, when present) a chat is flagged if any assistant turn has a hit,
and it is agent-like when its label's `noise` is not "clean".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
try:
    from molting.patterns import PatternLibrary, load_library
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT / "lib"))
    from molting.patterns import PatternLibrary, load_library

LABELED = ROOT / "tests" / "data" / "agent_like_labeled.jsonl"
SAMPLE_RAW = ROOT / "data" / "sample" / "raw.jsonl"
SAMPLE_LABELS = ROOT / "data" / "sample" / "labels.jsonl"
TARGET = 0.95
SHOW = 25  # most false positives/negatives listed per set


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object in a .jsonl file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def short(text: str, width: int = 110) -> str:
    """One line of at most `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def mark(value: float) -> str:
    """The value against the target."""
    return f"{value:.3f} ({'ok' if value >= TARGET else 'BELOW'} target {TARGET})"


def report_scores(title: str, truth: list[bool], flagged: list[bool]) -> None:
    """Precision, recall, F1 and the confusion counts."""
    tp = sum(t and f for t, f in zip(truth, flagged))
    fp = sum(f and not t for t, f in zip(truth, flagged))
    fn = sum(t and not f for t, f in zip(truth, flagged))
    tn = len(truth) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"\n== {title}: {len(truth)} examples ==")
    print(f"precision {mark(precision)}")
    print(f"recall    {mark(recall)}")
    print(f"F1        {f1:.3f}")
    print(f"confusion: TP {tp}  FP {fp}  FN {fn}  TN {tn}")


def report_kinds(kinds: list[str], truth: list[bool], flagged: list[bool]) -> None:
    """Recall per kind of agent-like example, and the flag rate of each clean kind."""
    total, hit = Counter(), Counter()
    for kind, t, f in zip(kinds, truth, flagged):
        total[(t, kind)] += 1
        hit[(t, kind)] += f
    print("recall per category:")
    for (t, kind), n in sorted(total.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        if t:
            print(f"  {kind:24s} {hit[(t, kind)] / n:6.3f}  ({hit[(t, kind)]}/{n})")
    print("flagged among clean examples (lower is better):")
    for (t, kind), n in sorted(total.items()):
        if not t:
            print(f"  {kind:24s} {hit[(t, kind)] / n:6.3f}  ({hit[(t, kind)]}/{n})")


def list_errors(title: str, errors: list[str]) -> None:
    """The first few errors of one kind."""
    print(f"{title}: {len(errors)}")
    for line in errors[:SHOW]:
        print(f"  {line}")
    if len(errors) > SHOW:
        print(f"  ... and {len(errors) - SHOW} more")


def bench_labeled(lib: PatternLibrary) -> list[str]:
    """Scores on the hand-labeled set; returns its texts for the speed test."""
    rows = read_jsonl(LABELED)
    hits = [lib.first(r["text"]) for r in rows]
    truth = [bool(r["agent_like"]) for r in rows]
    flagged = [h is not None for h in hits]
    report_scores(f"labeled set ({LABELED.relative_to(ROOT)})", truth, flagged)
    report_kinds([r["kind"] for r in rows], truth, flagged)
    list_errors("false positives (rule, matched | text)",
                [f"[{h.rule}] {h.matched!r} | {short(r['text'])}"
                 for r, h in zip(rows, hits) if h is not None and not r["agent_like"]])
    list_errors("false negatives (kind | text)",
                [f"[{r['kind']}] {short(r['text'])}" for r, h in zip(rows, hits) if h is None and r["agent_like"]])
    return [r["text"] for r in rows]


def assistant_turns(chat: dict[str, Any]) -> list[str]:
    """The assistant turns of a chat in messages or ShareGPT form."""
    turns = chat.get("messages") or chat.get("conversations") or []
    out = []
    for turn in turns:
        role = turn.get("role", turn.get("from"))
        text = turn.get("content", turn.get("value"))
        if role in ("assistant", "gpt", "model") and isinstance(text, str):
            out.append(text)
    return out


def bench_sample(lib: PatternLibrary) -> list[str]:
    """Scores on the generated sample chats, if present; returns their assistant turns."""
    if not (SAMPLE_RAW.exists() and SAMPLE_LABELS.exists()):
        print(f"\n(no sample data at {SAMPLE_RAW.relative_to(ROOT)} + {SAMPLE_LABELS.name}: skipped)")
        return []
    labels = {r["id"]: r for r in read_jsonl(SAMPLE_LABELS)}
    chats = [c for c in read_jsonl(SAMPLE_RAW) if c.get("id") in labels]
    kinds, truth, flagged, fps, fns, turns = [], [], [], [], [], []
    by_bank: dict[str, list[bool]] = {}
    for chat in chats:
        noise = str(labels[chat["id"]].get("noise", "clean"))
        bank = labels[chat["id"]].get("noise_bank") or "library"
        mine = assistant_turns(chat)
        turns.extend(mine)
        hit = next((h for h in (lib.first(t) for t in mine) if h is not None), None)
        kinds.append(noise)
        truth.append(noise != "clean")
        flagged.append(hit is not None)
        if hit is not None and noise == "clean":
            fps.append(f"{chat['id']} [{hit.rule}] {hit.matched!r}")
        if noise != "clean":
            by_bank.setdefault(bank, []).append(hit is not None)
        # the held-out bank's misses are counted, never printed: pattern writers must not see that text
        if hit is None and noise != "clean" and bank != "heldout":
            fns.append(f"{chat['id']} [{noise}] {short(' / '.join(mine))}")
    report_scores(f"sample chats ({SAMPLE_RAW.relative_to(ROOT)}, any assistant turn)", truth, flagged)
    for bank, hits in sorted(by_bank.items()):
        print(f"recall on the sample's {bank} noise bank: {sum(hits) / len(hits):.3f} ({sum(hits)}/{len(hits)})")
    report_kinds(kinds, truth, flagged)
    list_errors("false positives (id, rule, matched)", fps)
    list_errors("false negatives of the library bank (id, noise | assistant turns)", fns)
    return turns


def throughput(lib: PatternLibrary, title: str, texts: list[str], n: int) -> None:
    """Texts per second for `first` (the filter) and `scan` (every hit), over n texts built by repetition."""
    if not texts:
        return
    batch = list(_repeat(texts, n))
    mean_chars = sum(map(len, batch)) / len(batch)
    print(f"\n== throughput: {n} {title} (mean {mean_chars:.0f} chars), one process ==")
    for name, fn in (("first (filter)", lib.first), ("scan (all hits)", lib.scan)):
        start = time.perf_counter()
        flagged = sum(bool(fn(t)) for t in batch)
        seconds = time.perf_counter() - start
        print(f"  {name:16s} {n / seconds:10,.0f} texts/s  ({seconds:.2f} s, {flagged} flagged)")


def _repeat(texts: list[str], n: int) -> Iterable[str]:
    """n texts cycling through the given ones."""
    for i in range(n):
        yield texts[i % len(texts)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time 5k texts instead of 100k")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    lib = load_library()
    print(f"library: {len(lib)} patterns, loaded in {time.perf_counter() - start:.2f} s")
    for category, names in lib.by_category().items():
        print(f"  {category:24s} {len(names):2d}  {', '.join(names)}")
    labeled_texts = bench_labeled(lib)
    sample_turns = bench_sample(lib)
    n = 5_000 if args.quick else 100_000
    throughput(lib, "labeled replies", labeled_texts, n)
    throughput(lib, "sample assistant turns", sample_turns, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
