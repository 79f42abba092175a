"""Measure the agent-like filter: precision and recall on the labelled set, beside public filter lists, and speed.

Usage: python benchmarks/bench_filter.py [--quick] [--dev-only]

The labelled set (data/labelled/, written independently of the patterns) is split into a development half
(patterns were written from it; its misclassified rows are listed) and a held-out half that nobody reads:
for it only numbers are printed. On both, side by side and measured in this run:
- the pattern library as curation uses it by default (the opt-in persona_format rules off);
- the embedding detector (molting.detector) trained on the development half only;
- public phrase lists that well-known SFT datasets were cleaned with (benchmarks/public_filter_lists.yaml).
`persona_format` rows (code fences, headings, tables: agent-like only for some personas) are left out of the
overall figures and measured on their own with the opt-in rules switched on, with the share of human replies
those rules would flag (why they are opt-in).

Also: the older hand-written set (data/labelled/older.jsonl, a persona who only chats, so every rule
is on), the sample chats (data/sample/raw.jsonl + labels.jsonl), and throughput.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))  # this checkout's code, even where another copy is installed
from molting.patterns import OPT_IN_CATEGORIES, PatternLibrary, load_library  # noqa: E402
import yaml  # noqa: E402

PUBLIC_LISTS = ROOT / "benchmarks" / "public_filter_lists.yaml"
LABELLED_DIR = ROOT / "data" / "labelled"
LABELED = ROOT / "data" / "labelled" / "older.jsonl"
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


def public_flaggers() -> dict[str, Callable[[str], bool]]:
    """Each public list as its script used it: does a text contain one of the phrases (case-folded with `fold`)."""
    flaggers = {}
    for name, spec in yaml.safe_load(PUBLIC_LISTS.read_text(encoding="utf-8")).items():
        fold = spec["fold"]
        phrases = [p.lower() for p in spec["phrases"]] if fold else spec["phrases"]
        flaggers[name] = lambda text, phrases=phrases, fold=fold: any(p in (text.lower() if fold else text) for p in phrases)
    return flaggers


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
    """Scores on the older hand-written set (a persona who only chats: every rule on); returns its texts."""
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


def bench_sample(lib: PatternLibrary, limit: int | None = None) -> list[str]:
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
    banks = [str(labels[c["id"]].get("noise_bank") or "library") for c in chats]
    sample_detector(chats[:limit], truth[:limit], banks[:limit])
    list_errors("false positives (id, rule, matched)", fps)
    list_errors("false negatives of the library bank (id, noise | assistant turns)", fns)
    return turns


def sample_detector(chats: list[dict[str, Any]], truth: list[bool], banks: list[str]) -> None:
    """The dev-trained detector on the sample chats: one noise sentence inside a long in-voice reply."""
    from molting import detector
    from molting.curate import detector_flags

    flagged_ids = set(detector_flags([{**c, "messages": c.get("messages") or []} for c in chats],
                                     detector.default_detector("dev", ROOT)))
    flagged = [c["id"] in flagged_ids for c in chats]
    p, r = precision_recall(truth, flagged)
    per_bank = {b: [f for f, t, bb in zip(flagged, truth, banks) if t and bb == b] for b in sorted(set(banks))}
    print(f"detector (dev-trained) on the sample ({len(chats)} chats): P {p:.3f} R {r:.3f}; recall per noise bank: "
          + ", ".join(f"{b} {sum(v) / len(v):.3f} ({sum(v)}/{len(v)})" for b, v in per_bank.items() if v))


# --- the labelled set: library, detector and public lists side by side ----------------------------------

Flagger = Callable[[list[str]], list[bool]]


def precision_recall(truth: list[bool], flagged: list[bool]) -> tuple[float, float]:
    """Precision and recall (1.0 for an empty denominator: nothing claimed, nothing missed)."""
    tp = sum(t and f for t, f in zip(truth, flagged))
    fp = sum(f and not t for t, f in zip(truth, flagged))
    fn = sum(t and not f for t, f in zip(truth, flagged))
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def library_flagger(lib: PatternLibrary) -> tuple[Flagger, Callable[[str], str | None]]:
    """A flagger for a library, and the category of a text's first hit."""
    def category(text: str) -> str | None:
        hit = lib.first(text)
        return None if hit is None else hit.category
    return (lambda texts: [lib.first(t) is not None for t in texts]), category


def labelled_table(title: str, rows: list[dict[str, Any]], flaggers: dict[str, Flagger],
                   first_category: Callable[[str], str | None], opt_in: PatternLibrary) -> dict[str, list[bool]]:
    """Per-category recall (and the library's per-category precision) and overall P/R for each flagger."""
    plain = [r for r in rows if r["category"] not in OPT_IN_CATEGORIES]
    texts = [r["text"] for r in plain]
    truth = [bool(r["agent_like"]) for r in plain]
    flags = {name: fn(texts) for name, fn in flaggers.items()}
    hit_category = [first_category(t) for t in texts]
    names = list(flaggers)
    print(f"\n== {title}: {len(rows)} rows ({sum(truth)} agent-like, {len(truth) - sum(truth)} human; "
          f"{len(rows) - len(plain)} persona_format rows measured apart) ==")
    print("per category: library precision (rows whose first hit is in the category) and recall; others: recall")
    header = f"{'category':22s} {'n':>4s} | {'library P':>9s} {'R':>6s} | " + " | ".join(f"{n[:20]:>20s}" for n in names[1:])
    print(header)
    categories = sorted({r["category"] for r in plain if r["agent_like"]})
    for cat in categories:
        idx = [i for i, r in enumerate(plain) if r["category"] == cat]
        claimed = [i for i, c in enumerate(hit_category) if c == cat]
        lib_p = sum(truth[i] for i in claimed) / len(claimed) if claimed else float("nan")
        recalls = [sum(flags[n][i] for i in idx) / len(idx) for n in names]
        print(f"{cat:22s} {len(idx):4d} | {lib_p:9.3f} {recalls[0]:6.3f} | "
              + " | ".join(f"{'R':>13s} {r:6.3f}" for r in recalls[1:]))
    print("overall (precision, recall; target 0.95 each):")
    for name in names:
        p, r = precision_recall(truth, flags[name])
        verdict = "meets" if p >= TARGET and r >= TARGET else "below"
        print(f"  {name:28s} P {p:.3f}  R {r:.3f}  ({verdict} the target)")
    humans = [i for i, r in enumerate(plain) if not r["agent_like"]]
    domains = Counter(plain[i]["domain"] for i in humans)
    for name in names[:1] + [n for n in names[1:] if not n.startswith(tuple(public_flaggers()))]:
        flagged = Counter(plain[i]["domain"] for i in humans if flags[name][i])
        print(f"human replies the {name} flags, per domain: "
              + ", ".join(f"{d} {flagged[d]}/{n}" for d, n in sorted(domains.items())))
    fmt = [r for r in rows if r["category"] in OPT_IN_CATEGORIES]
    if fmt:
        on = [opt_in.first(r["text"]) is not None for r in fmt]
        humans = [r for r in rows if not r["agent_like"]]
        flagged_humans = [r for r in humans if opt_in.first(r["text"]) is not None]
        coding = [r for r in humans if r["domain"] == "coding_help"]
        flagged_coding = [r for r in coding if opt_in.first(r["text"]) is not None]
        print(f"persona_format with the opt-in rules on: recall {sum(on) / len(on):.3f} ({sum(on)}/{len(on)}); "
              f"they would also flag {len(flagged_humans)}/{len(humans)} human replies "
              f"({len(flagged_coding)}/{len(coding)} in coding_help), which is why they are opt-in")
    return {name: flags[name] for name in names} | {"_truth": truth}


def list_dev_errors(rows: list[dict[str, Any]], flagged: list[bool], lib: PatternLibrary) -> None:
    """The development rows the library gets wrong (held-out rows are never listed)."""
    plain = [r for r in rows if r["category"] not in OPT_IN_CATEGORIES]
    fps = [f"[{lib.first(r['text']).rule}] {r['id']} | {short(r['text'])}"
           for r, f in zip(plain, flagged) if f and not r["agent_like"]]
    fns = [f"[{r['category']}] {r['id']} | {short(r['text'])}" for r, f in zip(plain, flagged) if r["agent_like"] and not f]
    list_errors("development rows wrongly flagged by the library (rule, id | text)", fps)
    list_errors("development agent-like rows the library misses (category, id | text)", fns)


def bench_labelled(lib: PatternLibrary, opt_in: PatternLibrary, dev_only: bool, limit: int | None = None) -> None:
    """The labelled set: development half (errors listed) and held-out half (numbers only)."""
    if not (LABELLED_DIR / "dev.jsonl").is_file():
        print(f"\n(no labelled set at {LABELLED_DIR.relative_to(ROOT)}: skipped)")
        return
    from molting import detector

    dev = read_jsonl(LABELLED_DIR / "dev.jsonl")
    start = time.perf_counter()
    det = detector.default_detector("dev", ROOT)  # trained on the development half only
    print(f"\ndetector: MiniLM fine-tuned (LoRA) as a classifier, trained on {det.trained_on} "
          f"(threshold {det.threshold}); loaded in {time.perf_counter() - start:.1f} s")
    lib_flags, lib_category = library_flagger(lib)
    public = {name: (lambda texts, fn=fn: [fn(t) for t in texts]) for name, fn in public_flaggers().items()}
    # On the development half the detector's figures come from 5-fold cross-validation (it was trained there),
    # recorded when the shipped adapter was trained (`python -m molting.detector`: seven trainings, ~50 min on 2 cores).
    cv = det.meta.get("cross_validation", {})
    cv_proba = {row_id: p for row_id, p in cv.get("probabilities", {}).items()}
    by_text = {r["text"]: cv_proba.get(r["id"]) for r in read_jsonl(LABELLED_DIR / "dev.jsonl")}
    dev_flaggers: dict[str, Flagger] = {"pattern library": lib_flags}
    if cv_proba:
        folds = cv.get("fold_roc_auc")  # a fold far below the others: the recipe collapsed there
        spread = f" (folds {min(folds):.3f}-{max(folds):.3f})" if folds else ""
        print(f"detector 5-fold CV on the development half: ROC AUC {cv['roc_auc']}{spread}; "
              + "; ".join(f"at {a['threshold']}: P {a['precision']:.3f} R {a['recall']:.3f}" for a in cv["at"]))
        dev_flaggers["detector (5-fold CV)"] = lambda texts: [(by_text.get(t) or 0.0) >= det.threshold for t in texts]
    flags = labelled_table(f"development half ({(LABELLED_DIR / 'dev.jsonl').relative_to(ROOT)}; "
                           "patterns were written from it)", dev, dev_flaggers | public, lib_category, opt_in)
    list_dev_errors(dev, flags["pattern library"], lib)
    if dev_only:
        print("\n(--dev-only: the held-out half was not measured)")
        return
    heldout = read_jsonl(LABELLED_DIR / "heldout.jsonl")
    if limit is not None:
        heldout = heldout[:limit]

    scored: dict[str, bool] = {}

    def detector_flags(texts: list[str]) -> list[bool]:
        """The detector's verdicts, each text scored once (the combined flagger below asks again)."""
        missing = list(dict.fromkeys(t for t in texts if t not in scored))
        scored.update(zip(missing, det.flags(missing)))
        return [scored[t] for t in texts]

    def either(texts: list[str]) -> list[bool]:
        """What curation drops with `curate.detector_drops` on: the library's verdict or the detector's."""
        return [a or b for a, b in zip(lib_flags(texts), detector_flags(texts))]

    flaggers: dict[str, Flagger] = {"pattern library": lib_flags, "detector (dev-trained)": detector_flags,
                                    "library or detector": either}
    subset = f"; --quick: its first {limit} rows only" if limit else ""
    labelled_table(f"HELD-OUT half ({(LABELLED_DIR / 'heldout.jsonl').relative_to(ROOT)}; never read while "
                   f"writing patterns; numbers only{subset})", heldout, flaggers | public, lib_category, opt_in)


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


QUICK_ROWS = 60  # a smoke run (--quick) needs every path, not the figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time 5k texts instead of 100k; the detector scores only the "
                        f"first {QUICK_ROWS} held-out rows and sample chats (~35 s on 2 cores with its score cache empty)")
    parser.add_argument("--dev-only", action="store_true", help="measure the development half only (for writing patterns)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    lib = load_library()
    every = load_library(enabled=OPT_IN_CATEGORIES)
    print(f"library: {len(every)} patterns ({len(lib)} on by default), loaded in {time.perf_counter() - start:.2f} s")
    for category, names in every.by_category().items():
        print(f"  {category:24s} {len(names):2d}  {', '.join(names)}{'  (opt-in)' if category in OPT_IN_CATEGORIES else ''}")
    limit = QUICK_ROWS if args.quick else None
    bench_labelled(lib, every, args.dev_only, limit)
    labeled_texts = bench_labeled(every)
    sample_turns = bench_sample(every, limit)
    n = 5_000 if args.quick else 100_000
    throughput(lib, "labeled replies", labeled_texts, n)
    throughput(lib, "sample assistant turns", sample_turns, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
