"""Deduplicate chat examples three ways: exact (normalized text), near (MinHash + LSH), semantic (vectors).

All functions are pure and deterministic. Callers pass items in rank order (best first): every
cluster keeps its lowest index as the representative, so the best example survives. Results are
`Cluster`s (members ascending, representative first, per-member similarity to the representative)
ordered by representative, and `CrossMatch`es (other, train, similarity) ordered by `other`.

Normalization (`normalize`): lone surrogates -> U+FFFD; NFKC, casefold, NFKC again; invisible
format characters (soft hyphen, zero-width, bidi controls, BOM) removed; whitespace runs -> one
space; Unicode punctuation (category P*) and spaces stripped at both ends (inner punctuation and
symbols such as emoji are kept). "  Hello,   WORLD!! " and "hello, world" normalize the same.

Clusters are connected components (scipy.sparse.csgraph) of the pairs that pass the similarity threshold,
so a member can be linked to the representative through another member; `Cluster.scores` holds
each member's own similarity to the representative so a report can show such chains.

Near duplicates use character 5-grams ("shingles") of the normalized text rather than word
n-grams: chat replies are short, and one edited word in a 40-word reply leaves a character-5-gram
Jaccard similarity around 0.9 (word 3-grams give about 0.85, and much less for short replies).
A text shorter than 5 characters is a single shingle. Texts are first grouped by normalized form,
so exact copies cost nothing and always land in the same cluster (similarity 1.0); texts that
normalize to "" match only each other.

Signatures are datasketch MinHash signatures (`scheme="affine32"`, permutations from
`datasketch.MinHash(num_perm, seed)`) computed in bulk with numpy: bit-identical to
`MinHash(num_perm, seed, hashfunc=shingle_hash).update_batch(shingles(text))`. The LSH banding is
the same as `datasketch.MinHashLSH(params=lsh_params(threshold))` (same candidate pairs), done with
numpy sorts. Candidates are verified on the estimated Jaccard (fraction of equal MinHash values).
A bucket of more than 128 texts (templated replies) is verified against successive pivots
instead of all pairs, so it costs O(bucket x pivots) rather than O(bucket**2).

Why our own signatures and banding (measured on the bench_dedup 100k corpus, 2 busy cores): this
module takes 3.5 s CPU for near clusters; datasketch `MinHash.bulk` + `MinHashLSH` take 26.6 s CPU
for the pairs alone (the curation budget is 30 s in all); rensa 0.5 (`RMinHash.from_token_sets` +
`RMinHashLSH.query_all`) takes 3.4 s CPU but returns candidates per sketch, so they are verified
in Python: 2,000 templated replies take 2.9 s against 0.16 s here, growing with bucket**2. The
default (9, 13) banding of MinHashLSH finds only 40% of pairs at J = 0.8; (18, 7) is used.

Semantic clusters take L2-normalized rows (normalized here if needed) and compare them in
block x block tiles, memory O(block**2). Time is O(n**2 * dim): fine for tens of thousands of rows.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from molting.errors import DataError

__all__ = [
    "Cluster",
    "CrossMatch",
    "normalize",
    "shingles",
    "shingle_hash",
    "minhash_signatures",
    "lsh_params",
    "exact_clusters",
    "near_clusters",
    "semantic_clusters",
    "cross_matches",
    "cross_matches_lexical",
    "cross_matches_semantic",
]


# ------------------------------------------------------------------------------------------------
# Result types
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cluster:
    """A group of duplicates: `members` ascending, `members[0]` is the representative (kept).

    `scores[k]` is the similarity of `members[k]` to the representative (1.0 for itself): exact
    clusters 1.0, near clusters estimated Jaccard, semantic clusters cosine. Iterating or taking
    `len()` of a cluster works on its member list.
    """

    members: tuple[int, ...]
    scores: tuple[float, ...]

    @property
    def representative(self) -> int:
        """The index kept (lowest index in the cluster)."""
        return self.members[0]

    @property
    def duplicates(self) -> tuple[int, ...]:
        """The indices to drop (all members but the representative)."""
        return self.members[1:]

    @property
    def similarity(self) -> float:
        """Highest similarity of a duplicate to the representative."""
        return max(self.scores[1:])

    @property
    def min_similarity(self) -> float:
        """Lowest similarity of a duplicate to the representative (below threshold = chained)."""
        return min(self.scores[1:])

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[int]:
        return iter(self.members)


class CrossMatch(NamedTuple):
    """An item of `other` (by index) that duplicates train item `train`, with its similarity."""

    other: int
    train: int
    similarity: float


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """For each of n items, the lowest index in its connected component over the (i, j) pair rows."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    lowest = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(lowest, labels, np.arange(n, dtype=np.int64))
    return lowest[labels]


def _groups(roots: np.ndarray) -> list[list[int]]:
    """Sets of size >= 2 (members ascending) from each item's root, ordered by lowest member."""
    by_root: dict[int, list[int]] = {}
    for x, r in enumerate(roots.tolist()):
        by_root.setdefault(r, []).append(x)
    return [g for g in by_root.values() if len(g) > 1]


# ------------------------------------------------------------------------------------------------
# Normalization
# ------------------------------------------------------------------------------------------------
# Invisible format characters (soft hyphen, zero-width, bidi controls, BOM) and lone surrogates.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_edge_junk(ch: str) -> bool:
    """Punctuation (Unicode category P*) or whitespace."""
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def normalize(text: str) -> str:
    """NFKC + casefold, drop invisible format chars, collapse whitespace, strip end punctuation."""
    text = _SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _INVISIBLE.sub("", text)
    text = " ".join(text.split())
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return text[start:end]


# ------------------------------------------------------------------------------------------------
# Exact
# ------------------------------------------------------------------------------------------------
def _check_texts(texts: Sequence[str], name: str) -> list[str]:
    """Return texts as a list, raising DataError for a non-string item."""
    if isinstance(texts, str):
        raise DataError(f"{name} must be a list of strings, not a single string", fix=f"wrap it in a list: [{name}]")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"{name}[{i}] is {type(text).__name__}, not str", fix="pass the texts as strings")
    return texts


def _exact_groups(normalized: Sequence[str]) -> dict[str, list[int]]:
    """Indices of each distinct normalized text, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(normalized):
        groups.setdefault(text, []).append(i)
    return groups


def exact_clusters(texts: Sequence[str]) -> list[Cluster]:
    """Groups (size >= 2) of texts whose `normalize` forms are identical, ordered by representative."""
    texts = _check_texts(texts, "texts")
    groups = _exact_groups([normalize(t) for t in texts])
    return [Cluster(tuple(g), (1.0,) * len(g)) for g in groups.values() if len(g) > 1]


# ------------------------------------------------------------------------------------------------
# MinHash signatures
# ------------------------------------------------------------------------------------------------
_MASK64 = (1 << 64) - 1
_POLY = 0x9E3779B97F4A7C15  # odd multiplier of the shingle polynomial hash
_LEN_SALT = 0xD6E8FEB86659FD93  # distinguishes a short whole-text shingle from a zero-padded one
_MAX32 = np.uint32(0xFFFFFFFF)
_CHUNK = 8192  # shingles per (num_perm x chunk) block: fits in L2 cache, ~0.6 ns per element
_BATCH_CHARS = 1 << 20  # characters per batch of texts hashed together (bounds memory)


def shingles(text: str, k: int = 5) -> list[str]:
    """Character k-grams of an (already normalized) text; a shorter non-empty text is one shingle."""
    if len(text) >= k:
        return [text[i : i + k] for i in range(len(text) - k + 1)]
    return [text] if text else []


def _mix64(z: int) -> int:
    """splitmix64 finalizer on a Python int."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK64
    return z ^ (z >> 31)


def shingle_hash(shingle: str) -> int:
    """32-bit hash of one shingle (the `hashfunc` that makes datasketch agree with this module)."""
    h = 0
    for ch in shingle:
        h = (h * _POLY + ord(ch)) & _MASK64
    h = (h + len(shingle) * _LEN_SALT) & _MASK64
    return _mix64(h) >> 32


def _xorshift_multiply(h: np.ndarray, shifts: tuple[int, int, int], multipliers: tuple[int, int]) -> np.ndarray:
    """h ^= h >> s1; h *= m1; h ^= h >> s2; h *= m2; h ^= h >> s3, wrapping in h's unsigned dtype."""
    kind = h.dtype.type
    for shift, multiplier in zip(shifts, (*multipliers, None)):
        h = h ^ (h >> kind(shift))
        if multiplier is not None:
            h = h * kind(multiplier)
    return h


def _mix64_array(z: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer on a uint64 array."""
    return _xorshift_multiply(z, (30, 27, 31), (0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finalizer (datasketch's pre-mix for the affine32 scheme)."""
    return _xorshift_multiply(h, (16, 13, 16), (0x85EBCA6B, 0xC2B2AE35))


def _shingle_hashes(texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of all shingles of `texts` back to back (uint32) and the shingle count per text."""
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    counts = np.where(lens >= k, lens - k + 1, np.minimum(lens, 1))
    total = int(counts.sum())
    out = np.zeros(total, dtype=np.uint64)
    if total == 0:
        return out.astype(np.uint32), counts
    seg_starts = np.cumsum(counts) - counts
    char_starts = np.cumsum(lens) - lens
    long_idx = np.flatnonzero(lens >= k)
    if len(long_idx):
        joined = "".join(texts).encode("utf-32-le", "surrogatepass")
        cps = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
        width = len(cps) - k + 1
        poly = np.zeros(width, dtype=np.uint64)
        mult = np.uint64(_POLY)
        for t in range(k):  # Horner over the window, all windows at once (some cross texts: unused)
            poly *= mult
            poly += cps[t : t + width]
        poly += np.uint64(k * _LEN_SALT & _MASK64)
        c = counts[long_idx]
        within = np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
        out[np.repeat(seg_starts[long_idx], c) + within] = poly[np.repeat(char_starts[long_idx], c) + within]
    for t in np.flatnonzero((lens > 0) & (lens < k)).tolist():
        h = 0
        for ch in texts[t]:
            h = (h * _POLY + ord(ch)) & _MASK64
        out[seg_starts[t]] = (h + len(texts[t]) * _LEN_SALT) & _MASK64
    return (_mix64_array(out) >> np.uint64(32)).astype(np.uint32), counts


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) affine32 permutation parameters datasketch derives from (num_perm, seed)."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.asarray(a, dtype=np.uint32).copy(), np.asarray(b, dtype=np.uint32).copy()


def _signature_batch(texts: Sequence[str], k: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures (len(texts), num_perm) of already-normalized texts."""
    hashes, counts = _shingle_hashes(texts, k)
    sig = np.full((len(texts), len(a)), _MAX32, dtype=np.uint32)
    rows = np.flatnonzero(counts > 0)
    if not len(rows):
        return sig
    hashes = _fmix32(hashes)
    seg_starts = (np.cumsum(counts) - counts)[rows]
    a_col, b_col = a[:, None], b[:, None]
    buf = np.empty((len(a), _CHUNK), dtype=np.uint32)
    for lo in range(0, len(hashes), _CHUNK):
        hi = min(lo + _CHUNK, len(hashes))
        first = int(np.searchsorted(seg_starts, lo, side="right")) - 1
        last = int(np.searchsorted(seg_starts, hi, side="left"))
        block = buf[:, : hi - lo]
        np.multiply(a_col, hashes[None, lo:hi], out=block)
        block += b_col
        local = np.maximum(seg_starts[first:last], lo) - lo
        part = np.minimum.reduceat(block, local, axis=1)
        target = rows[first:last]
        sig[target] = np.minimum(sig[target], part.T)
    return sig


def minhash_signatures(
    texts: Sequence[str], num_perm: int = 128, shingle: int = 5, seed: int = 1, *, normalized: bool = False
) -> np.ndarray:
    """(n, num_perm) uint32 datasketch-compatible MinHash signatures of the texts' character shingles."""
    if num_perm < 1 or shingle < 1:
        raise ValueError("num_perm and shingle must be >= 1")
    texts = _check_texts(texts, "texts")
    if not normalized:
        texts = [normalize(t) for t in texts]
    a, b = _permutations(num_perm, seed)
    bounds = [0]
    chars = 0
    for i, t in enumerate(texts):
        chars += len(t)
        if chars >= _BATCH_CHARS:
            bounds.append(i + 1)
            chars = 0
    if bounds[-1] != len(texts):
        bounds.append(len(texts))
    spans = list(zip(bounds[:-1], bounds[1:]))
    if len(spans) <= 1:
        parts = [_signature_batch(texts[lo:hi], shingle, a, b) for lo, hi in spans]
    else:  # numpy releases the GIL in the heavy loops: use the cores
        with ThreadPoolExecutor(max_workers=min(len(spans), os.cpu_count() or 1, 8)) as pool:
            parts = list(pool.map(lambda span: _signature_batch(texts[span[0] : span[1]], shingle, a, b), spans))
    if not parts:
        return np.empty((0, num_perm), dtype=np.uint32)
    return np.concatenate(parts)


# ------------------------------------------------------------------------------------------------
# LSH
# ------------------------------------------------------------------------------------------------
def lsh_params(threshold: float, num_perm: int = 128, min_recall: float = 0.97) -> tuple[int, int]:
    """LSH (bands, rows): most rows per band with P(candidate | J=threshold) >= min_recall."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= min_recall:
            best = (bands, rows)
    return best


@lru_cache(maxsize=64)
def _triu(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangle index pairs of an m x m matrix (read-only)."""
    i, j = np.triu_indices(m, 1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def _band_buckets(sig: np.ndarray, bands: int, rows: int, only: int | None = None) -> Iterator[np.ndarray]:
    """For each LSH band (or band `only`), yield each bucket (>= 2 row indices, ascending) of identical band values.
    The buckets of one band are disjoint."""
    n = sig.shape[0]
    if n < 2:
        return
    for band in range(bands) if only is None else (only,):
        part = sig[:, band * rows : (band + 1) * rows]
        order = np.lexsort(part.T[::-1])
        ordered = part[order]
        new_run = np.ones(n, dtype=bool)
        new_run[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
        starts = np.flatnonzero(new_run)
        sizes = np.diff(np.append(starts, n))
        for s, m in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            yield np.sort(order[s : s + m])


def _estimated_jaccard(sig: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity (fraction of equal MinHash values) of row pairs."""
    out = np.empty(len(left), dtype=np.float64)
    step = 32768
    for lo in range(0, len(left), step):
        hi = lo + step
        out[lo:hi] = (sig[left[lo:hi]] == sig[right[lo:hi]]).sum(axis=1)
    return out / sig.shape[1]


def _verified_pairs(sig: np.ndarray, threshold: float, bands: int, rows: int, big_bucket: int = 128) -> np.ndarray:
    """(m, 2) pairs i < j that share an LSH bucket and have estimated Jaccard >= threshold, enough of them to give
    the same connected components as all such pairs: a pair whose rows earlier bands already connected is skipped
    (on the bench_dedup 100k corpus this drops 6.6 s of de-duplicating candidate pairs across bands)."""
    n = sig.shape[0]
    verified: list[np.ndarray] = []
    seen_big: set[bytes] = set()
    roots = np.arange(n, dtype=np.int64)  # component of each row over the pairs verified in earlier bands
    for band in range(bands):
        found = len(verified)
        for bucket in _band_buckets(sig, bands, rows, only=band):
            m = len(bucket)
            if m <= big_bucket:
                i, j = _triu(m)
                left, right = bucket[i], bucket[j]
                apart = roots[left] != roots[right]
                left, right = left[apart], right[apart]
                ok = _estimated_jaccard(sig, left, right) >= threshold
                if ok.any():
                    verified.append(np.stack([left[ok], right[ok]], axis=1))
                continue
            # A big bucket (many mutually similar texts): compare against pivots instead of all pairs.
            fingerprint = bucket.tobytes()
            if fingerprint in seen_big:
                continue
            seen_big.add(fingerprint)
            remaining = bucket
            while len(remaining) > 1:
                pivot, rest = remaining[0], remaining[1:]
                sims = (sig[rest] == sig[pivot]).mean(axis=1)
                close = sims >= threshold
                if close.any():
                    verified.append(np.stack([np.full(int(close.sum()), pivot), rest[close]], axis=1))
                remaining = rest[~close]
        if len(verified) > found and band < bands - 1:
            roots = _components(n, np.concatenate(verified))
    if not verified:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(verified).astype(np.int64)


# ------------------------------------------------------------------------------------------------
# Near
# ------------------------------------------------------------------------------------------------
def near_clusters(
    texts: Sequence[str], threshold: float = 0.8, num_perm: int = 128, shingle: int = 5, seed: int = 1
) -> list[Cluster]:
    """Clusters of texts with estimated char-shingle Jaccard >= threshold (includes exact copies)."""
    texts = _check_texts(texts, "texts")
    by_text = _exact_groups([normalize(t) for t in texts])
    normalized, groups = list(by_text), list(by_text.values())
    sig = minhash_signatures(normalized, num_perm, shingle, seed, normalized=True)
    active = np.flatnonzero([bool(t) for t in normalized])
    bands, rows = lsh_params(threshold, num_perm)
    pairs = _verified_pairs(sig[active], threshold, bands, rows)
    by_root: dict[int, list[int]] = {}  # unique ids are in first-seen order, so the root holds the lowest index
    for u, root in enumerate(_components(len(groups), active[pairs]).tolist()):
        by_root.setdefault(root, []).append(u)
    clusters: list[Cluster] = []
    for root, unique_ids in by_root.items():
        owner = {i: u for u in unique_ids for i in groups[u]}
        if len(owner) < 2:
            continue
        members = sorted(owner)
        scores = (sig[[owner[i] for i in members]] == sig[root]).mean(axis=1)
        clusters.append(Cluster(tuple(members), tuple(float(s) for s in scores)))
    clusters.sort(key=lambda c: c.representative)
    return clusters


# ------------------------------------------------------------------------------------------------
# Semantic
# ------------------------------------------------------------------------------------------------
def _unit_rows(vectors: np.ndarray, name: str) -> np.ndarray:
    """Float32 copy of a 2-D array with rows scaled to unit length (zero rows stay zero)."""
    arr = np.asarray(vectors)
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (n, dim), got shape {arr.shape}", fix="pass one row per text")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{name} must be numeric, got dtype {arr.dtype}", fix="pass the embedder's float vectors")
    arr = arr.astype(np.float32, copy=True)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise DataError(f"{name} row {bad} contains NaN or infinity", fix="re-embed the texts")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    np.divide(arr, norms, out=arr, where=norms > 0)
    return arr


def _similar_pairs(vecs: np.ndarray, threshold: float, block: int) -> np.ndarray:
    """(m, 2) pairs i < j with cosine >= threshold, computed one block x block tile at a time."""
    n = vecs.shape[0]
    found: list[np.ndarray] = []
    for r0 in range(0, n, block):
        rows = vecs[r0 : r0 + block]
        for c0 in range(r0, n, block):
            sims = rows @ vecs[c0 : c0 + block].T
            if c0 == r0:  # diagonal tile: keep j > i only
                sims[np.tril_indices_from(sims)] = -np.inf
            i, j = np.nonzero(sims >= threshold)
            if len(i):
                found.append(np.stack([i + r0, j + c0], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(found).astype(np.int64)


def _check_block(block: int) -> int:
    """Validate the tile size."""
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    return int(block)


def semantic_clusters(vectors: np.ndarray, threshold: float = 0.92, block: int = 2048) -> list[Cluster]:
    """Clusters of rows with cosine >= threshold, computed in block x block tiles (never n x n)."""
    vecs = _unit_rows(vectors, "vectors")
    pairs = _similar_pairs(vecs, threshold, _check_block(block))
    clusters = []
    for members in _groups(_components(vecs.shape[0], pairs)):
        scores = vecs[members] @ vecs[members[0]]
        scores[0] = 1.0
        clusters.append(Cluster(tuple(members), tuple(float(min(s, 1.0)) for s in scores)))
    return clusters


# ------------------------------------------------------------------------------------------------
# Train vs held-out / eval leakage
# ------------------------------------------------------------------------------------------------
def cross_matches_lexical(
    train: Sequence[str],
    other: Sequence[str],
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle: int = 5,
    seed: int = 1,
) -> list[CrossMatch]:
    """Best train match of each `other` text that is an exact (1.0) or MinHash near duplicate."""
    train = _check_texts(train, "train")
    other = _check_texts(other, "other")
    train_groups = _exact_groups([normalize(t) for t in train])
    train_norm = [t for t in train_groups if t]
    train_first = np.array([train_groups[t][0] for t in train_norm], dtype=np.int64)
    other_norm = [normalize(t) for t in other]
    best: dict[int, tuple[float, int]] = {}
    rest: list[int] = []
    for o, text in enumerate(other_norm):
        if not text:
            continue
        if text in train_groups:
            best[o] = (1.0, train_groups[text][0])
        else:
            rest.append(o)
    if rest and train_norm:
        sig = minhash_signatures(train_norm + [other_norm[o] for o in rest], num_perm, shingle, seed, normalized=True)
        n_train = len(train_norm)
        bands, rows = lsh_params(threshold, num_perm)
        keys = []
        for bucket in _band_buckets(sig, bands, rows):
            split = int(np.searchsorted(bucket, n_train))
            if 0 < split < len(bucket):
                t_ids, o_ids = bucket[:split], bucket[split:]
                keys.append(np.repeat(o_ids, len(t_ids)) * n_train + np.tile(t_ids, len(o_ids)))
        if keys:
            cand = np.unique(np.concatenate(keys))
            o_rows, t_ids = cand // n_train, cand % n_train
            sims = _estimated_jaccard(sig, o_rows, t_ids)
            for o_row, t_id, sim in zip(o_rows.tolist(), t_ids.tolist(), sims.tolist()):
                if sim < threshold:
                    continue
                o, t = rest[o_row - n_train], int(train_first[t_id])
                if o not in best or (sim, -t) > (best[o][0], -best[o][1]):
                    best[o] = (sim, t)
    return [CrossMatch(o, t, float(sim)) for o, (sim, t) in sorted(best.items())]


def cross_matches_semantic(
    train: np.ndarray, other: np.ndarray, threshold: float = 0.92, block: int = 2048
) -> list[CrossMatch]:
    """Best train match (cosine >= threshold) of each `other` row, computed in tiles."""
    t_vecs, o_vecs = _unit_rows(train, "train"), _unit_rows(other, "other")
    if t_vecs.shape[1] != o_vecs.shape[1]:
        raise DataError(f"train vectors have dimension {t_vecs.shape[1]} but other vectors {o_vecs.shape[1]}",
                        fix="encode both sets with the same embedding model")
    block = _check_block(block)
    n_other = o_vecs.shape[0]
    best_sim = np.full(n_other, -np.inf, dtype=np.float32)
    best_idx = np.full(n_other, -1, dtype=np.int64)
    for r0 in range(0, n_other, block):
        rows = o_vecs[r0 : r0 + block]
        for c0 in range(0, t_vecs.shape[0], block):
            sims = rows @ t_vecs[c0 : c0 + block].T
            arg = sims.argmax(axis=1)
            top = sims[np.arange(len(rows)), arg]
            better = top > best_sim[r0 : r0 + block]
            best_sim[r0 : r0 + block][better] = top[better]
            best_idx[r0 : r0 + block][better] = arg[better] + c0
    hits = np.flatnonzero(best_sim >= threshold)
    return [CrossMatch(int(o), int(best_idx[o]), float(min(best_sim[o], 1.0))) for o in hits]


def cross_matches(
    train: Sequence[str] | np.ndarray, other: Sequence[str] | np.ndarray, threshold: float | None = None
) -> list[CrossMatch]:
    """Leakage check: semantic for arrays (default 0.92), lexical for texts (default 0.8)."""
    if isinstance(train, np.ndarray) or isinstance(other, np.ndarray):
        return cross_matches_semantic(np.asarray(train), np.asarray(other), 0.92 if threshold is None else threshold)
    return cross_matches_lexical(train, other, 0.8 if threshold is None else threshold)
