"""Curation at scale: the lexical pipeline (agent-like filter, length, exact + MinHash dedup) on 10k and 100k chats.

Usage: python benchmarks/bench_curate.py [--quick]

Chats are made from the sample data with small random edits (so most are distinct, with planted exact
and near duplicates and the sample's own agent-like share). Prints the time per size, the
10k -> 100k growth ratio (10.0 = linear) and the target (100k in <= 30 s on 2 cores). From 20,000 chats up
the richness score and the pattern scan run in one worker process per core (curate.scan_chats; MOLTING_WORKERS=1
keeps them in one process), so the 100k size uses both cores and the 10k size one. Then the strip arm's mode
(curate.mode: strip) at the large size, which has no target.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from molting import curate, params  # noqa: E402
from molting.data import load_chats  # noqa: E402

WORDS = "harbour tide gull kettle marmalade hive wireless fog lantern pasty choir piano van toast".split()


def synthetic_chats(n: int, seed: int = 0) -> list[dict]:
    """n chats built from the sample: each reply gets a few random words, 2% exact and 2% near copies."""
    rng = random.Random(seed)
    sample = load_chats(ROOT / "data" / "sample" / "raw.jsonl").chats
    chats: list[dict] = []
    for i in range(n):
        roll = rng.random()
        if chats and roll < 0.02:
            base = rng.choice(chats)
            chats.append({**base, "id": f"x{i}"})
            continue
        if chats and roll < 0.04:
            base = rng.choice(chats)
            msgs = [dict(m) for m in base["messages"]]
            msgs[-1]["content"] = msgs[-1]["content"].replace(" the ", " that ", 1)
            chats.append({"id": f"x{i}", "source": "raw", "messages": msgs})
            continue
        base = sample[i % len(sample)]
        msgs = [dict(m) for m in base["messages"]]
        extra = " ".join(rng.choice(WORDS) for _ in range(6))
        msgs[-1]["content"] = f"{msgs[-1]['content']} ({extra}, note {i})"
        chats.append({"id": f"x{i}", "source": "raw", "messages": msgs})
    return chats


def run(n: int, cfg, library, persona) -> tuple[float, int]:
    """Seconds to curate n chats, and how many were kept."""
    chats = synthetic_chats(n)
    start = time.perf_counter()
    result = curate.curate(chats, cfg, library=library, persona=persona)
    return time.perf_counter() - start, len(result.kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k instead of 10k and 100k")
    args = parser.parse_args()
    cfg = params.resolve("v2.1", ROOT)
    cfg["root"] = str(ROOT)
    library = curate.library_for(cfg)
    persona = params.read_yaml(ROOT / "data" / "sample" / "persona.yaml")
    small, large = (1_000, 10_000) if args.quick else (10_000, 100_000)
    t_small, kept_small = run(small, cfg, library, persona)
    t_large, kept_large = run(large, cfg, library, persona)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = t_large / t_small
    w_small, w_large = curate.scan_workers(small), curate.scan_workers(large)
    print("| chats | seconds | kept | chats/s | scan processes |\n|---|---|---|---|---|")
    print(f"| {small:,} | {t_small:.2f} | {kept_small:,} | {small / t_small:,.0f} | {w_small} |")
    print(f"| {large:,} | {t_large:.2f} | {kept_large:,} | {large / t_large:,.0f} | {w_large} |")
    growth = ("near-linear" if ratio <= 13 else "SUPER-LINEAR") if w_small == w_large else \
        f"not like for like: {w_small} scan process(es) against {w_large}; MOLTING_WORKERS=1 compares one with one"
    print(f"growth {small:,} -> {large:,}: x{ratio:.1f} time for x{large // small} chats ({growth}); "
          f"peak RSS {peak:,.0f} MiB (this process; each scan worker holds its share of the chats besides)")
    if not args.quick:
        verdict = "meets" if t_large <= 30 else "MISSES"
        print(f"target: 100k in <= 30 s on 2 cores -> {t_large:.1f} s ({verdict} the target)")
    # the strip arm's mode (v2.1-strip): every hit of every reply found and its sentences cut, not only the first hit
    strip_cfg = params.resolve("v2.1-strip", ROOT)
    strip_cfg["root"] = str(ROOT)
    n = small if args.quick else large
    t_strip, kept_strip = run(n, strip_cfg, curate.library_for(strip_cfg), persona)
    print(f"strip mode (v2.1-strip), {n:,} chats: {t_strip:.2f} s, {kept_strip:,} kept, "
          f"{curate.scan_workers(n)} scan process(es) (no target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
