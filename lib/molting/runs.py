"""The files a version's run leaves under runs/<version>/: one place names them all, writes are atomic."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from molting.errors import RunError

STAGES = ("01-curate", "02-train", "03-evaluate", "04-report")
HOLDER_ENV = "MOLTING_HOLDS_LOCK"   # set by `exclusive` to the lock file it holds


@dataclass(frozen=True)
class RunPaths:
    """Every path of one version's run, derived from the project root and the version."""

    root: Path
    version: str

    @property
    def run_dir(self) -> Path:
        return self.root / "runs" / self.version

    @property
    def params_file(self) -> Path:
        return self.run_dir / "params.yaml"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def train_jsonl(self) -> Path:
        return self.data_dir / "train.jsonl"

    @property
    def heldout_jsonl(self) -> Path:
        return self.data_dir / "heldout.jsonl"

    @property
    def removed_jsonl(self) -> Path:
        return self.data_dir / "removed.jsonl"

    @property
    def review_jsonl(self) -> Path:
        """Kept chats the embedding detector marks for a person to review (never dropped by it)."""
        return self.data_dir / "review.jsonl"

    @property
    def curation_json(self) -> Path:
        return self.data_dir / "curation.json"

    @property
    def dataset_dir(self) -> Path:
        """The train/held-out split again as a `datasets` folder, for users (`datasets.load_from_disk`)."""
        return self.data_dir / "dataset"

    @property
    def adapter_dir(self) -> Path:
        return self.run_dir / "adapter"

    @property
    def checkpoints_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def train_json(self) -> Path:
        return self.run_dir / "train.json"

    @property
    def preflight_json(self) -> Path:
        return self.run_dir / "preflight.json"

    @property
    def summary_md(self) -> Path:
        """The run's summary lines; moved into reports/<version>/ with the report."""
        return self.run_dir / "summary.md"

    @property
    def eval_dir(self) -> Path:
        return self.run_dir / "eval"

    @property
    def answers_jsonl(self) -> Path:
        return self.eval_dir / "answers.jsonl"

    @property
    def eval_json(self) -> Path:
        return self.eval_dir / "eval.json"

    @property
    def figures_dir(self) -> Path:
        return self.run_dir / "figures"

    @property
    def report_dir(self) -> Path:
        return self.root / "reports" / self.version

    def notebook(self, stage: str) -> Path:
        """Where the executed copy of a stage's notebook goes."""
        return self.run_dir / f"{stage}.ipynb"

    def done_marker(self, stage: str) -> Path:
        """Written last by a stage; its presence means the stage's outputs are complete."""
        return self.run_dir / ".done" / f"{stage}.json"

    @property
    def lock_file(self) -> Path:
        """Locked while `molt run` works on the version (runs.exclusive); the empty file itself stays."""
        return self.run_dir / ".lock"

    @property
    def complete_marker(self) -> Path:
        """Written when all stages and the report are done: the version is complete."""
        return self.run_dir / ".done" / "complete.json"


@functools.cache
def _umask() -> int:
    """The process's umask: read from /proc where it can be (setting it to read it back races with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(folder: bool = False) -> int:
    """The permissions open() or mkdir() would give under the umask. tempfile makes its files 0600 and folders 0700,
    which a file renamed into place keeps: a rendered report would then be unreadable to the people it is shared with."""
    return (0o777 if folder else 0o666) & ~_umask()


def staging_folder(target: Path) -> Path:
    """A new empty folder beside `target` to write into, then swap in (swap_in_folder), with mkdir's permissions."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(staging, default_mode(folder=True))
    return staging


@contextlib.contextmanager
def exclusive(paths: RunPaths, then: str = "run this again") -> Iterator[None]:
    """Hold the version's lock file while its stages run: a second `molt run` of the same version (another terminal, a
    second `make run`) stops at once instead of writing the same checkpoints, data and markers. The operating system
    drops the lock when its process ends, however it ends, so a killed run never leaves the version locked. `then`:
    what the refusal says to do once the other process has ended."""
    with _holding(paths.lock_file, lambda: _running(paths, then)):
        os.environ[HOLDER_ENV] = str(paths.lock_file)   # the stage kernels it starts inherit this: check_not_running
        try:
            yield
        finally:
            os.environ.pop(HOLDER_ENV, None)


class PhasePaths(RunPaths):
    """A phase report's paths (the name in `version`): its executed notebook and its lock under runs/_phases/, its
    report in reports/<name>/ as a version's."""

    @property
    def name(self) -> str:
        return self.version

    @property
    def executed_notebook(self) -> Path:
        return self.root / "runs" / "_phases" / f"{self.name}.ipynb"

    @property
    def lock_file(self) -> Path:
        """Locked while the phase report is made (runs.exclusive_phase), beside its executed notebook."""
        return self.executed_notebook.with_suffix(".lock")


@contextlib.contextmanager
def exclusive_phase(paths: PhasePaths) -> Iterator[None]:
    """Hold a phase report's lock while it is made: a second `molt report --phase <name>` at the same time would
    execute into the same notebook and swap in its own reports/<name>/ over the first's."""
    def busy() -> RunError:
        return RunError(f"the phase report {paths.name} is being made by another process "
                        f"(`molt report --phase {paths.name}`)", where=str(paths.lock_file.parent),
                        fix="wait for it to end (or stop it), then run this again: the two would overwrite each other's "
                            f"{paths.executed_notebook.relative_to(paths.root)} and reports/{paths.name}/")

    with _holding(paths.lock_file, busy):
        yield


@contextlib.contextmanager
def _holding(lock_file: Path, busy: Callable[[], RunError]) -> Iterator[None]:
    """Hold `lock_file` (its folder made where missing) or raise busy() at once where another process holds it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_file))
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        raise busy() from None
    except OSError as exc:   # (Timeout is one too) a read-only or full disk: the message the run's own writes would give
        raise cannot_write(lock_file, exc) from None
    try:
        yield
    finally:
        lock.release()


def open_version(version: str, params_file: str = "", root: str | Path | None = None) -> tuple[Any, RunPaths]:
    """A stage notebook's setup: the version's params (the run's runs/<v>/params.yaml when the runner gives it, else
    resolved from params/<version>.yaml: unknown keys, wrong types and bad values raise) and its paths; stops where a
    `molt run` of the version is at work now (check_not_running)."""
    from molting import params

    cfg = params.load(version, params_file, root or None)
    paths = RunPaths(Path(cfg.root), cfg.version)
    check_not_running(paths)
    return cfg, paths


def check_not_running(paths: RunPaths) -> None:
    """For a notebook stepped through by hand (JupyterLab): stop if a `molt run` or `molt train` of the version is
    working on it right now, since both would write the same files. It only looks (the calls that write hold the lock
    while they do: `writing`): several notebooks of one version may be open at once, and a notebook the runner itself
    executes passes (HOLDER_ENV)."""
    from filelock import FileLock, Timeout

    if os.environ.get(HOLDER_ENV) == str(paths.lock_file) or not paths.lock_file.is_file():
        return
    lock = FileLock(str(paths.lock_file))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise _running(paths, "run this notebook") from None
    except OSError:
        return   # a folder it cannot lock in: nothing runs there either
    lock.release()


@contextlib.contextmanager
def writing(paths: RunPaths) -> Iterator[None]:
    """Hold the version's lock while a library call writes its files, for notebooks stepped through by hand: training
    in JupyterLab takes minutes, and a `molt run` of the version started meanwhile now stops at its lock instead of
    writing the same checkpoints (and the cell stops where one runs already). Where the lock is held already (the
    runner and `molt train` hold it, and their kernels inherit HOLDER_ENV; a call inside another) or in a non-main
    process of a distributed launch, it does nothing."""
    if os.environ.get(HOLDER_ENV) == str(paths.lock_file) or os.environ.get("RANK", "0") != "0":
        yield
        return
    with exclusive(paths, "run this cell again"):
        yield


def _running(paths: RunPaths, then: str) -> RunError:
    return RunError(f"version {paths.version} is being run by another process (`molt run` or `molt train`)",
                    where=str(paths.run_dir),
                    fix=f"wait for that run to end (or stop it), then {then}: two runs of one version would overwrite "
                        "each other's files")


def cannot_write(path: Path, exc: OSError, also: str = "", what: str = "the file",
                 fix: str = "free disk space or make the folder writable, then run the same command again") -> RunError:
    """The error for a write the disk refused (full, read-only, a file where a folder should be)."""
    return RunError(f"cannot write {what}: {exc.strerror or exc}", where=str(path), fix=f"{fix} {also}".strip())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and rename, so a reader never sees half a file."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # the file it replaces keeps its permissions; a new one gets open()'s, not tempfile's private 0600
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else default_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise cannot_write(path, exc, "(the previous version of this file, if any, is untouched)") from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """atomic_write_bytes for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def swap_in_folder(staging: Path, target: Path) -> None:
    """Replace `target` by the fully written `staging` folder: the old one is moved aside first and
    removed last, so a crash leaves either the old or the new folder in place, never half of one."""
    staging, target = Path(staging), Path(target)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, obj: Any) -> None:
    """Pretty, key-stable JSON, written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, written atomically."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=_jsonable) + "\n" for r in rows))


def missing_output(path: Path) -> RunError:
    """An earlier stage's file is not there: say so, and which command makes it (the version from runs/<v>/...)."""
    parts = Path(path).parts
    runs_at = len(parts) - 1 - parts[::-1].index("runs") if "runs" in parts[:-1] else None
    version = parts[runs_at + 1] if runs_at is not None and runs_at + 2 < len(parts) else "<version>"
    return RunError("an earlier stage's output is missing", where=str(path),
                    fix=f"run the earlier stages first: molt run {version}")


def read_json(path: Path) -> Any:
    """Load a JSON file written by an earlier stage, saying which stage to run if it is missing."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise missing_output(path) from None


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL file written by a stage."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise missing_output(path) from None
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unchanged_file_sha256(path: Path) -> str:
    """Hex sha256 of a file that stays put while the process runs (model weights, a GGUF), hashed once per
    process; its size and mtime are in the cache key, so a replaced file is hashed again. Raises OSError."""
    path = Path(path).resolve()
    st = path.stat()
    return _sha256_of(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))


def mark_done(paths: RunPaths, stage: str, **info: Any) -> None:
    """Record that a stage finished; written after all of its outputs."""
    with writing(paths):
        write_json(paths.done_marker(stage), {"stage": stage, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **info})


def is_done(paths: RunPaths, stage: str) -> bool:
    """Whether a stage's completion marker exists."""
    return paths.done_marker(stage).is_file()


# ------------------------------------------------------------------------------------------------
# Finished runs, as the reports read them
# ------------------------------------------------------------------------------------------------
def load_run(paths: RunPaths) -> dict:
    """Everything the report needs from a run folder."""
    import yaml

    return {
        "version": paths.version,
        "root": str(paths.root),
        "params": yaml.safe_load(paths.params_file.read_text()) if paths.params_file.is_file() else {},
        "curation": read_json(paths.curation_json),
        "train": read_json(paths.train_json),
        "eval": read_json(paths.eval_json),
        "answers": read_jsonl(paths.answers_jsonl),
    }


def previous_version(run: dict) -> str | None:
    """The version this one is compared with: report.compare_to, else the one it extends."""
    params = run["params"]
    return (params.get("report") or {}).get("compare_to") or params.get("extends")


def load_previous(run: dict) -> dict | None:
    """The compared version's run, if it has finished evaluating (else None: the report says so)."""
    name = previous_version(run)
    if not name:
        return None
    paths = RunPaths(Path(run["root"]), name)
    if not paths.eval_json.is_file():
        return None
    return load_run(paths)
