"""Tests for molting.dedup: normalization, exact / near (MinHash) / semantic clusters, leakage matches."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from molting import dedup
from molting.dedup import (
    Cluster,
    CrossMatch,
    cross_matches,
    cross_matches_lexical,
    cross_matches_semantic,
    exact_clusters,
    lsh_params,
    minhash_signatures,
    near_clusters,
    normalize,
    semantic_clusters,
    shingle_hash,
    shingles,
)
from molting.errors import DataError

WORDS = (
    "the a persona replies with dry humour about tea gardens rain trains maps old books cats "
    "coffee mornings quiet streets lanterns harbours letters bicycles orchards clocks ferries "
    "violins bakeries winter markets puzzles rivers bridges gulls kites chess museums ink"
).split()


def make_text(rng: random.Random, n_words: int = 40) -> str:
    """A random reply-like text of n_words words."""
    words = [rng.choice(WORDS) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def one_word_edit(rng: random.Random, text: str) -> str:
    """Replace one word of text by a word that is not in the vocabulary."""
    words = text.split()
    words[rng.randrange(1, len(words) - 1)] = "zeppelin"
    return " ".join(words)


# --- normalize / exact ---------------------------------------------------------------------------
def test_normalize_canonical_forms():
    assert normalize("  Hello,   WORLD!! ") == "hello, world"
    assert normalize("ＨＥＬＬＯ\u3000world") == "hello world"  # NFKC: full-width letters and space
    assert normalize("Stra\u00dfe") == normalize("STRASSE")  # casefold
    assert normalize("zero\u200bwidth\ufeff") == "zerowidth"
    assert normalize("¿«Qué?»") == "qué"
    assert normalize("tabs\tand\nnewlines") == "tabs and newlines"
    assert normalize("...") == ""
    assert normalize("don't stop") == "don't stop"  # inner punctuation kept
    assert normalize("bad \ud800 surrogate") == "bad \ufffd surrogate"


def test_exact_clusters_on_normalized_variants():
    texts = ["Hello, world!", "Goodbye", "  HELLO,   world ", "hello world", "goodbye.", "Hello, World", "unique"]
    clusters = exact_clusters(texts)
    assert [c.members for c in clusters] == [(0, 2, 5), (1, 4)]
    assert [list(c) for c in clusters] == [[0, 2, 5], [1, 4]]
    assert all(c.scores == (1.0,) * len(c) for c in clusters)
    assert clusters[0].representative == 0 and clusters[0].duplicates == (2, 5)
    assert exact_clusters(texts) == clusters
    assert exact_clusters([]) == [] and exact_clusters(["only"]) == []


def test_bad_input_raises_data_error():
    with pytest.raises(DataError):
        exact_clusters(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(DataError):
        near_clusters("not a list")  # type: ignore[arg-type]
    with pytest.raises(DataError):
        semantic_clusters(np.array([[1.0, np.nan]]))
    with pytest.raises(DataError):
        semantic_clusters(np.zeros(5))


# --- MinHash -------------------------------------------------------------------------------------
def test_signatures_match_datasketch_bit_for_bit():
    rng = random.Random(3)
    texts = [make_text(rng, rng.randint(1, 30)) for _ in range(20)] + ["ab", "x", "", "Ünïcödé ½ ﬁ 😀 text"]
    sig = minhash_signatures(texts, num_perm=64, seed=7)
    assert sig.shape == (len(texts), 64) and sig.dtype == np.uint32
    for text, row in zip(texts, sig):
        reference = MinHash(num_perm=64, seed=7, hashfunc=shingle_hash)
        parts = shingles(normalize(text))
        if parts:
            reference.update_batch(parts)
        assert np.array_equal(reference.hashvalues, row), text


def test_lsh_banding_matches_minhashlsh_candidates():
    rng = random.Random(5)
    base = [make_text(rng) for _ in range(60)]
    texts = base + [one_word_edit(rng, t) for t in base[:20]]
    sig = minhash_signatures(texts)
    bands, rows = lsh_params(0.8)
    ours = set()
    for bucket in dedup._band_buckets(sig, bands, rows):
        ours.update((int(a), int(b)) for k, a in enumerate(bucket) for b in bucket[k + 1 :])
    lsh = MinHashLSH(num_perm=128, params=(bands, rows))
    sketches = [LeanMinHash(seed=1, hashvalues=row, scheme="affine32") for row in sig]
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(sketches) for j in lsh.query(m) if j != i}
    assert ours == theirs
    assert len(ours) >= 20


def test_skipping_pairs_already_connected_keeps_the_components_of_all_verified_pairs():
    """_verified_pairs leaves out a candidate pair whose rows earlier bands connected: the components must be those
    of every candidate pair (any band) with estimated Jaccard >= threshold, found here by brute force."""
    rng = random.Random(11)
    base = [make_text(rng) for _ in range(40)]
    texts = base + [one_word_edit(rng, t) for t in base[:25]] + [one_word_edit(rng, t) for t in base[:10]]
    sig = minhash_signatures(texts)
    bands, rows = lsh_params(0.8)
    every = {(int(a), int(b)) for bucket in dedup._band_buckets(sig, bands, rows)
             for k, a in enumerate(bucket) for b in bucket[k + 1:] if (sig[a] == sig[b]).mean() >= 0.8}
    kept = dedup._verified_pairs(sig, 0.8, bands, rows)
    assert len(kept) < len(every)                      # some pairs were skipped ...
    assert {tuple(p) for p in kept.tolist()} <= every  # ... none invented
    n = len(texts)
    assert dedup._components(n, kept).tolist() == dedup._components(n, np.array(sorted(every))).tolist()
    parent = list(range(n))                            # and those components are the plain union-find ones

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in every:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert dedup._components(n, kept).tolist() == [find(x) for x in range(n)]


def test_lsh_params_reach_high_recall_at_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = lsh_params(threshold)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.97
    assert lsh_params(0.8) == (18, 7)


# --- near ----------------------------------------------------------------------------------------
def test_near_clusters_catch_one_word_edit_and_keep_unrelated_apart():
    rng = random.Random(11)
    originals = [make_text(rng, 40) for _ in range(30)]
    edited = [one_word_edit(rng, t) for t in originals[:10]]
    texts = originals + edited + [originals[3].upper() + "!!"]  # plus an exact (normalized) copy
    clusters = near_clusters(texts)
    got = {c.members for c in clusters}
    expected = {(i, 30 + i) for i in range(10) if i != 3} | {(3, 33, 40)}
    assert got == expected
    for c in clusters:
        assert c.representative == min(c.members)
        assert c.scores[0] == 1.0 and c.min_similarity >= 0.8
    assert next(c for c in clusters if c.representative == 3).scores[2] == 1.0


def test_near_clusters_deterministic_and_order_defines_representative():
    rng = random.Random(2)
    texts = [make_text(rng, 35) for _ in range(50)]
    texts += [one_word_edit(rng, t) for t in texts[:15]]
    first = near_clusters(texts)
    assert near_clusters(texts) == first
    assert near_clusters(list(texts), threshold=0.8, num_perm=128, shingle=5, seed=1) == first
    reversed_clusters = near_clusters(texts[::-1])
    n = len(texts)
    assert {tuple(sorted(n - 1 - i for i in c.members)) for c in reversed_clusters} == {c.members for c in first}


def test_near_clusters_edge_cases():
    assert near_clusters([]) == []
    assert near_clusters(["one text"]) == []
    clusters = near_clusters(["", "!!", "ok", "OK."])
    assert [c.members for c in clusters] == [(0, 1), (2, 3)]
    # short texts use a single whole-text shingle: different short texts do not match
    assert near_clusters(["yes", "yep", "no"]) == []


def test_big_bucket_of_templated_texts_is_one_cluster():
    # 2000 replies that differ only in a number share LSH buckets of ~1800: the pivot path
    template = (
        "Thanks for waiting! Your order number {} left our warehouse this morning and should "
        "reach you within two working days, and the courier will text you first."
    )
    texts = [template.format(i) for i in range(2000)]
    clusters = near_clusters(texts)
    assert len(clusters) == 1 and clusters[0].members == tuple(range(2000))
    assert clusters[0].min_similarity >= 0.8


# --- semantic ------------------------------------------------------------------------------------
def brute_force_groups(vectors: np.ndarray, threshold: float) -> set[tuple[int, ...]]:
    """Connected components of the full cosine matrix (the reference)."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    n = len(unit)
    seen, groups = set(), set()
    for start in range(n):
        if start in seen:
            continue
        stack, comp = [start], set()
        while stack:
            x = stack.pop()
            if x in comp:
                continue
            comp.add(x)
            stack.extend(int(y) for y in np.flatnonzero(sims[x] >= threshold) if y not in comp)
        seen |= comp
        if len(comp) > 1:
            groups.add(tuple(sorted(comp)))
    return groups


def synthetic_vectors(n_base: int = 120, dim: int = 48, seed: int = 0) -> np.ndarray:
    """Random directions plus close copies (cosine ~0.99) and scaled copies, shuffled."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_base, dim))
    close = base[:40] + 0.08 * rng.standard_normal((40, dim))
    chain = base[40:60] * rng.uniform(0.5, 3.0, size=(20, 1))  # same direction, other length
    vectors = np.concatenate([base, close, chain]).astype(np.float32)
    return vectors[rng.permutation(len(vectors))]


@pytest.mark.parametrize("block", [1, 7, 37, 64, 5000])
def test_semantic_blockwise_equals_brute_force(block):
    vectors = synthetic_vectors()
    expected = brute_force_groups(vectors, 0.95)
    clusters = semantic_clusters(vectors, threshold=0.95, block=block)
    assert {c.members for c in clusters} == expected
    assert len(expected) == 60
    for c in clusters:
        assert c.representative == c.members[0] == min(c.members)
        assert 0.95 <= c.min_similarity <= c.similarity <= 1.0


def test_semantic_clusters_deterministic_and_scale_invariant():
    vectors = synthetic_vectors(seed=1)
    first = semantic_clusters(vectors, 0.95, block=50)
    assert semantic_clusters(vectors, 0.95, block=50) == first
    scaled = vectors * np.random.default_rng(9).uniform(0.1, 10, size=(len(vectors), 1)).astype(np.float32)
    assert [c.members for c in semantic_clusters(scaled, 0.95, block=33)] == [c.members for c in first]
    assert semantic_clusters(np.zeros((3, 4), dtype=np.float32), 0.9) == []
    assert semantic_clusters(np.empty((0, 8), dtype=np.float32)) == []


# --- leakage -------------------------------------------------------------------------------------
def test_cross_matches_lexical_exact_and_near():
    rng = random.Random(4)
    train = [make_text(rng, 40) for _ in range(40)]
    train.append(train[5])  # a duplicate in train: the match reports the first copy
    other = [
        "  " + train[5].upper() + "!",  # exact after normalization
        one_word_edit(rng, train[17]),  # near
        make_text(rng, 40),  # unrelated
        "",  # empty matches nothing
    ]
    matches = cross_matches_lexical(train, other)
    assert [(m.other, m.train) for m in matches] == [(0, 5), (1, 17)]
    assert matches[0].similarity == 1.0 and 0.8 <= matches[1].similarity < 1.0
    assert isinstance(matches[0], tuple) and matches[0] == CrossMatch(0, 5, 1.0)
    assert cross_matches(train, other) == matches
    assert cross_matches_lexical([], other) == [] and cross_matches_lexical(train, []) == []


def test_cross_matches_semantic_equals_brute_force():
    rng = np.random.default_rng(3)
    train = rng.standard_normal((200, 32)).astype(np.float32)
    other = np.concatenate([train[[4, 50, 199]] + 0.05 * rng.standard_normal((3, 32)), rng.standard_normal((30, 32))])
    other = other.astype(np.float32)
    matches = cross_matches_semantic(train, other, threshold=0.9, block=16)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    sims = unit(other) @ unit(train).T
    expected = [(o, int(sims[o].argmax())) for o in range(len(other)) if sims[o].max() >= 0.9]
    assert [(m.other, m.train) for m in matches] == expected == [(0, 4), (1, 50), (2, 199)]
    for m in matches:
        assert m.similarity == pytest.approx(float(sims[m.other, m.train]), abs=1e-5)
    assert cross_matches(train, other, 0.9) == cross_matches_semantic(train, other, 0.9)


def test_cluster_helpers():
    a = [Cluster((0, 3), (1.0, 1.0)), Cluster((2, 5, 9), (1.0, 0.9, 0.85))]
    assert a[1].representative == 2 and a[1].duplicates == (5, 9)
    assert a[1].similarity == 0.9 and a[1].min_similarity == 0.85 and len(a[1]) == 3
