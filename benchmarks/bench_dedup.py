"""Benchmark the curation dedup: exact, near (MinHash + LSH) and semantic (MiniLM embeddings).

Synthetic chat replies with planted duplicates: "exact" copies differ only in case, spacing or
end punctuation; "near" copies have one or two words replaced, deleted or appended, and are split
by their true character-5-gram Jaccard into near_hi (>= 0.8, what near dedup must catch) and
near_lo (< 0.8, below the lexical threshold by construction). Reports time, recall of the planted
pairs (both ends in one cluster), strays (clustered items in no planted pair), and peak RSS
(whole process, cumulative: later rows include the embedding model).

    python benchmarks/bench_dedup.py           # 10k (+100k lexical, +10k semantic)
    python benchmarks/bench_dedup.py --quick   # 1k lexical, 1k semantic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from molting.dedup import Cluster, exact_clusters, near_clusters, normalize, semantic_clusters, shingles

FUNCTION_WORDS = (
    "i you it the a an and but so to of in on for with that this my your is was really just "
    "honestly well oh yes no maybe not very quite rather"
).split()
CLOSERS = ["Cheers!", "Hope that helps.", "Anyway.", "Just saying.", "Ha."]


def vocabulary(rng: random.Random) -> list[str]:
    """Real English words from the bundled tokenizer's vocab, else made-up syllable words."""
    try:
        from molting.embed import default_model_dir

        lines = (default_model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
        words = sorted({w for w in lines if w.isascii() and w.isalpha() and w.islower() and len(w) >= 3})
        if len(words) > 2000:
            return words
    except Exception:  # noqa: BLE001 - the fallback is fine for lexical timings
        pass
    syllables = "ka lo mi ren to sa vi dor el an ith ur pe qua zu ne or fi ga ly".split()
    return sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(8000)})


def make_reply(rng: random.Random, words: list[str]) -> str:
    """One to four sentences of 6-16 words, about 40% function words."""
    sentences = []
    for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
        n = rng.randint(6, 16)
        picked = [rng.choice(FUNCTION_WORDS) if rng.random() < 0.4 else rng.choice(words) for _ in range(n)]
        sentences.append(" ".join(picked).capitalize() + rng.choice(".!?."))
    return " ".join(sentences)


def exact_variant(rng: random.Random, text: str) -> str:
    """Same text after normalization: case, spacing or end punctuation changed."""
    choice = rng.randrange(3)
    if choice == 0:
        return text.upper()
    if choice == 1:
        return "  " + text.replace(" ", "   ", 3) + " "
    return text.rstrip(".!?") + "!!"


def near_variant(rng: random.Random, text: str, words: list[str]) -> str:
    """One or two words replaced, a word deleted, or a short closer appended."""
    tokens = text.split()
    choice = rng.randrange(4)
    if choice == 0:
        tokens[rng.randrange(len(tokens))] = rng.choice(words)
    elif choice == 1 and len(tokens) > 12:
        for _ in range(2):
            tokens[rng.randrange(len(tokens))] = rng.choice(words)
    elif choice == 2 and len(tokens) > 8:
        del tokens[rng.randrange(len(tokens))]
    else:
        tokens.append(rng.choice(CLOSERS))
    return " ".join(tokens)


@dataclass
class Corpus:
    texts: list[str]
    planted: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # kind -> (source, copy)

    def subset(self, m: int) -> Corpus:
        """The first m texts and the planted pairs inside them."""
        return Corpus(self.texts[:m], {k: [(a, b) for a, b in v if a < m and b < m] for k, v in self.planted.items()})


def true_jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of the character 5-gram sets of the normalized texts."""
    x, y = set(shingles(normalize(a))), set(shingles(normalize(b)))
    return len(x & y) / len(x | y) if x | y else 1.0


def split_near(corpus: Corpus, threshold: float = 0.8) -> Corpus:
    """Split planted near pairs by their true shingle Jaccard: near_hi (>= threshold) / near_lo."""
    near = corpus.planted.pop("near")
    scores = [true_jaccard(corpus.texts[a], corpus.texts[b]) for a, b in near]
    corpus.planted["near_hi"] = [p for p, j in zip(near, scores) if j >= threshold]
    corpus.planted["near_lo"] = [p for p, j in zip(near, scores) if j < threshold]
    return corpus


def make_corpus(n: int, seed: int = 0, exact_rate: float = 0.05, near_rate: float = 0.05) -> Corpus:
    """n replies of which about exact_rate are exact and near_rate near copies of others, shuffled."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    n_exact, n_near = int(n * exact_rate), int(n * near_rate)
    base = [make_reply(rng, words) for _ in range(n - n_exact - n_near)]
    items: list[tuple[str, str, int]] = [(t, "base", -1) for t in base]  # text, kind, base source
    for kind, count in (("exact", n_exact), ("near", n_near)):
        for _ in range(count):
            src = rng.randrange(len(base))
            text = exact_variant(rng, base[src]) if kind == "exact" else near_variant(rng, base[src], words)
            items.append((text, kind, src))
    order = list(range(len(items)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}  # base items keep old index = base index
    corpus = Corpus([items[old][0] for old in order], {"exact": [], "near": []})
    for old, (_, kind, src) in enumerate(items):
        if kind != "base":
            corpus.planted[kind].append((position[src], position[old]))
    return split_near(corpus)


def recall(clusters: list[Cluster], pairs: list[tuple[int, int]]) -> float:
    """Fraction of planted (source, copy) pairs whose ends share a cluster."""
    owner = {i: k for k, c in enumerate(clusters) for i in c.members}
    if not pairs:
        return float("nan")
    return sum(1 for a, b in pairs if a in owner and owner.get(a) == owner.get(b)) / len(pairs)


def strays(clusters: list[Cluster], corpus: Corpus) -> int:
    """Clustered items that are in no planted pair (accidental matches between unrelated replies)."""
    planted = {i for pairs in corpus.planted.values() for pair in pairs for i in pair}
    return sum(1 for c in clusters for i in c.members if i not in planted)


def quality(clusters: list[Cluster], corpus: Corpus) -> dict:
    """Recall per planted kind and stray count."""
    out = {f"recall_{kind}": recall(clusters, pairs) for kind, pairs in corpus.planted.items()}
    out["strays"] = strays(clusters, corpus)
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs):
    """(result, wall seconds, process CPU seconds summed over threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu


def recall_by_jaccard(clusters: list[Cluster], corpus: Corpus, near: list[tuple[int, int]]) -> str:
    """Recall of planted near pairs per band of true shingle Jaccard, as text."""
    owner = {i: k for k, c in enumerate(clusters) for i in c.members}
    bands: dict[str, list[bool]] = {}
    for a, b in near:
        j = true_jaccard(corpus.texts[a], corpus.texts[b])
        label = next(
            f"[{lo:.2f},{hi:.2f})"
            for lo, hi in ((0, 0.7), (0.7, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 1.01))
            if lo <= j < hi
        )
        bands.setdefault(label, []).append(a in owner and owner.get(a) == owner.get(b))
    return ", ".join(f"J{k}: {sum(v) / len(v):.2f} of {len(v)}" for k, v in sorted(bands.items()))


def lexical_rows(corpus: Corpus, label: str) -> tuple[list[dict], float, float]:
    """Exact and near runs over the corpus; returns table rows, exact+near wall and CPU seconds."""
    n = len(corpus.texts)
    def row(kind: str, found: list, seconds: float, cpu: float) -> dict:
        return dict(stage=f"{kind} {label}", n=n, seconds=seconds, cpu_s=cpu, clusters=len(found),
                    **quality(found, corpus), peak_rss_mb=peak_rss_mb())

    ex, t_exact, t_exact_cpu = timed(exact_clusters, corpus.texts)
    rows = [row("exact", ex, t_exact, t_exact_cpu)]
    near, t_near, t_near_cpu = timed(near_clusters, corpus.texts)
    rows.append(row("near", near, t_near, t_near_cpu))
    near_pairs = corpus.planted["near_hi"] + corpus.planted["near_lo"]
    print(f"near {label} recall by true Jaccard: {recall_by_jaccard(near, corpus, near_pairs)}", file=sys.stderr)
    return rows, t_exact + t_near, t_exact_cpu + t_near_cpu


def semantic_rows(corpus: Corpus, label: str, threshold: float) -> list[dict]:
    """Embedding (cold, then cached in a new Embedder) and clustering, timed separately."""
    from molting.embed import Embedder

    n = len(corpus.texts)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        embedder = Embedder(cache_dir=Path(cache))
        _, t_load, t_load_cpu = timed(embedder.load)  # sha256 check, imports, tokenizer, weights
        rows.append(
            dict(
                stage="load model (sha check, imports)",
                n=None,
                seconds=t_load,
                cpu_s=t_load_cpu,
                peak_rss_mb=peak_rss_mb(),
            )
        )
        vectors, t_encode, t_encode_cpu = timed(embedder.encode, corpus.texts)
        rows.append(
            dict(stage=f"encode {label} (cold)", n=n, seconds=t_encode, cpu_s=t_encode_cpu, peak_rss_mb=peak_rss_mb())
        )
        rerun = Embedder(cache_dir=Path(cache))
        cached, t_cached, t_cached_cpu = timed(rerun.encode, corpus.texts)
        assert rerun.last_stats.hits == n and not rerun.model_loaded
        assert (cached == vectors).all()
        rows.append(
            dict(
                stage=f"encode {label} (cached rerun)",
                n=n,
                seconds=t_cached,
                cpu_s=t_cached_cpu,
                peak_rss_mb=peak_rss_mb(),
            )
        )
    sem, t_cluster, t_cluster_cpu = timed(semantic_clusters, vectors, threshold)
    rows.append(
        dict(
            stage=f"semantic clusters {label} @{threshold}",
            n=n,
            seconds=t_cluster,
            cpu_s=t_cluster_cpu,
            clusters=len(sem),
            **quality(sem, corpus),
            peak_rss_mb=peak_rss_mb(),
        )
    )
    return rows


def fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return "" if value is None else str(value)


def print_table(rows: list[dict]) -> None:
    cols = [
        "stage",
        "n",
        "seconds",
        "cpu_s",
        "clusters",
        "recall_exact",
        "recall_near_hi",
        "recall_near_lo",
        "strays",
        "peak_rss_mb",
    ]
    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k texts, no 100k run")
    parser.add_argument("--no-semantic", action="store_true", help="skip the embedding model")
    parser.add_argument("--semantic-threshold", type=float, default=0.92)
    parser.add_argument("--semantic-n", type=int, help="texts to embed (default 10000; 500 with --quick)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    n = 1_000 if args.quick else 10_000
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.2f}", file=sys.stderr)
    corpus = make_corpus(n, seed=0)
    near_clusters(["warm up", "the imports"])  # datasketch/scipy import (~0.5 s) is not dedup time
    planted = {k: len(v) for k, v in corpus.planted.items()}
    print(f"planted pairs in {n}: {planted} (near_hi/near_lo: true 5-gram Jaccard >= / < 0.8)", file=sys.stderr)
    rows, t_small, cpu_small = lexical_rows(corpus, f"{n // 1000}k")
    summary: dict[str, float] = {f"lexical_{n}": t_small, f"lexical_{n}_cpu": cpu_small}
    if not args.quick:
        big = make_corpus(100_000, seed=1)
        big_rows, t_big, cpu_big = lexical_rows(big, "100k")
        rows += big_rows
        summary.update(lexical_100000=t_big, lexical_100000_cpu=cpu_big)
        summary["ratio_100k_over_10k"] = t_big / t_small
        summary["cpu_ratio_100k_over_10k"] = cpu_big / cpu_small
    if not args.no_semantic:
        m = min(n, args.semantic_n or (500 if args.quick else 10_000))
        rows += semantic_rows(corpus.subset(m), f"{m}", args.semantic_threshold)
    print_table(rows)
    print()
    print(f"exact+near {n}: {t_small:.2f} s (CPU {cpu_small:.2f} s)")
    if "lexical_100000" in summary:
        t_big = summary["lexical_100000"]
        verdict = "OK" if t_big < 15 else "SLOW" if t_big < 30 else "TOO SLOW"
        print(
            f"exact+near 100000: {t_big:.2f} s (CPU {summary['lexical_100000_cpu']:.2f} s; "
            f"{verdict}; budget 30 s on 2 cores)"
        )
        print(
            f"10k -> 100k time ratio: {summary['ratio_100k_over_10k']:.1f}x wall, "
            f"{summary['cpu_ratio_100k_over_10k']:.1f}x CPU (10x = linear)"
        )
    print(f"peak RSS: {peak_rss_mb():.0f} MiB; load average at start {load:.2f}, at end {os.getloadavg()[0]:.2f}")
    print("(wall times on a machine with load above its CPU count are inflated; cpu_s is steadier)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
