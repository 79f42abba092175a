"""Run a version's four notebooks through papermill (fresh kernel each) and render its report."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from molting import arms, runs
from molting import params as params_mod
from molting.display import summary_markdown
from molting.errors import MoltingError, RunError
from molting.runs import STAGES, RunPaths, atomic_write_text, is_done, staging_folder, swap_in_folder, write_json
from molting.seeds import load_runs

KERNEL = "molting"
# nbconvert templates of our own: lab without scripts (+ CSP), markdown without runs of blank lines
TEMPLATES = Path(__file__).resolve().parent / "templates"


def notebooks_dir() -> Path:
    """The notebooks shipped with the project (beside lib/)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def kernel_name() -> str:
    """$MOLTING_KERNEL, else the registered `molting` kernel, else this environment's python3."""
    if os.environ.get("MOLTING_KERNEL"):
        return os.environ["MOLTING_KERNEL"]
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL if KERNEL in specs else "python3"


def stage_names(from_stage: str | None, only: str | None) -> list[str]:
    """The stages to run, from the --from / --only options (accepting '02' or 'train' for 02-train)."""
    def find(name: str) -> str:
        for stage in STAGES:
            if name in (stage, stage[:2], stage[3:]):
                return stage
        raise RunError(f"unknown stage `{name}`", where="--from/--only", fix=f"use one of {', '.join(STAGES)}")

    if only:
        return [find(only)]
    if from_stage:
        return list(STAGES[STAGES.index(find(from_stage)):])
    return list(STAGES)


def prepare(cfg: Any, paths: RunPaths, force: bool, stages: list[str]) -> None:
    """Refuse to overwrite a completed version, write runs/<v>/params.yaml (params changed: stages start over)."""
    version = paths.version
    if paths.complete_marker.is_file() and not force:
        raise RunError(f"version {version} is already complete", where=str(paths.run_dir),
                       fix=f"its report is in reports/{version}/; run `molt run {version} --force` to redo it "
                           "(the old report stays until the new one is complete), or make a new version")
    previous = paths.params_file.read_text() if paths.params_file.is_file() else None
    new_yaml = params_mod.to_yaml(cfg)
    if previous is not None and previous != new_yaml and not force and stages == list(STAGES):
        # params changed since the stages on disk were made: start those stages over
        for stage in STAGES:
            reset_stage(paths, stage)
    atomic_write_text(paths.params_file, new_yaml)


def reset_stage(paths: RunPaths, stage: str) -> None:
    """Make a stage run from scratch: drop its marker (and, for training, its checkpoints, which a
    rerun would otherwise resume from). Its finished outputs stay until the new ones replace them."""
    paths.done_marker(stage).unlink(missing_ok=True)
    paths.complete_marker.unlink(missing_ok=True)
    if stage == "02-train" and paths.checkpoints_dir.exists():
        shutil.rmtree(paths.checkpoints_dir)


# Every cell has run (and written its files) when papermill shuts the kernel down: a graceful shutdown then waits
# 2-3 s for a kernel that imported torch, transformers and peft to tear down (measured per notebook, 2026-12-06);
# "immediate" ends the kernel's process group at once. Interactive JupyterLab sessions are not affected.
KERNEL_SHUTDOWN = "immediate"


# A socket file's path may hold ~104 bytes (macOS; 108 on Linux): the kernel's are Jupyter's runtime folder, then
# "/molting-<8 hex>-<pid>-<8 hex>-ipc-<n>" (at most 40 bytes with a 7-digit pid; n is 1-5, one per channel)
SOCKET_PATH_MAX = 100


def kernel_transport() -> str:
    """How papermill talks to the kernel: local socket files (IPC) in Jupyter's runtime folder, readable by this user
    alone, so that no TCP port opens that any local user could reach and ipykernel does not warn at every stage that
    TCP without encryption is open to eavesdropping; TCP on Windows (no IPC) or where that folder's path is too long
    for a socket file."""
    if os.name != "posix":
        return "tcp"
    from jupyter_core.paths import jupyter_runtime_dir

    return "ipc" if len(os.fsencode(jupyter_runtime_dir())) + 50 <= SOCKET_PATH_MAX else "tcp"


def kernel_config() -> dict:
    """The kernel manager's settings for one notebook run. Over IPC, each kernel gets socket files of its own in the
    runtime folder (created for this user alone where missing): left to itself, jupyter_client names them
    "kernel-ipc-<n>" in the working directory, i.e. the project's root, where a killed run leaves them behind and two
    runs started at once in one project could pick the same names. TCP where that folder cannot be created."""
    if kernel_transport() == "tcp":
        return {"transport": "tcp"}
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_core.utils import ensure_dir_exists

    runtime = jupyter_runtime_dir()
    try:
        ensure_dir_exists(runtime, mode=0o700)
    except OSError:
        return {"transport": "tcp"}
    remove_orphan_sockets(runtime)
    return {"transport": "ipc", "ip": os.path.join(runtime, f"{_socket_prefix()}-{os.getpid()}-{uuid.uuid4().hex[:8]}-ipc")}


def _socket_prefix() -> str:
    """molting-<this machine>: a runtime folder in a home shared between machines holds other machines' runs too."""
    return "molting-" + hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def remove_orphan_sockets(runtime: str) -> None:
    """Remove the socket files of this machine's runs whose process has ended: a run killed mid-stage (kill -9, a
    closed terminal) cannot remove its kernel's five files, which piled up in the runtime folder. A file whose process
    lives, or is another user's, stays; one that cannot be removed is left as it is."""
    names = re.compile(re.escape(_socket_prefix()) + r"-(\d+)-[0-9a-f]{8}-ipc-\d+")
    try:
        entries = list(os.scandir(runtime))
    except OSError:   # a folder it cannot list: nothing to tidy, the run goes on
        return
    for entry in entries:
        found = names.fullmatch(entry.name)
        if found and not _process_lives(int(found.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _process_lives(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # another user's process
        return True
    return True


def execute_notebook(source: Path, target: Path, parameters: dict, root: Path, progress: bool) -> None:
    """papermill's run of one notebook in a fresh kernel, the same way for every stage and phase report."""
    import papermill
    from traitlets.config import Config

    papermill.execute_notebook(str(source), str(target), parameters=parameters, kernel_name=kernel_name(),
                               progress_bar=progress, cwd=str(root), log_output=False, shutdown_kernel=KERNEL_SHUTDOWN,
                               config=Config({"KernelManager": kernel_config()}))


def execute_stage(stage: str, paths: RunPaths, progress: bool = True) -> float:
    """Run one notebook in a fresh kernel into runs/<v>/<stage>.ipynb; failures name the cell and keep the notebook."""
    from papermill.exceptions import PapermillExecutionError

    source = notebooks_dir() / f"{stage}.ipynb"
    target = paths.notebook(stage)
    target.parent.mkdir(parents=True, exist_ok=True)
    params = {"version": paths.version, "params_file": str(paths.params_file), "root": str(paths.root)}
    start = time.perf_counter()
    try:
        execute_notebook(source, target, params, paths.root, progress)
    except PapermillExecutionError as exc:
        last = str(exc.evalue).strip().splitlines()
        raise RunError(f"{stage} failed in cell {exc.cell_index} (execution {exc.exec_count}): {exc.ename}: "
                       f"{' '.join(last)[:1500]}", where=str(target),
                       fix=f"open {target} to see the failing cell; fix the cause and run the same command again "
                           "(finished stages are not redone)") from None
    return time.perf_counter() - start


def render_report(paths: RunPaths, notebook: Path | None = None, target: Path | None = None,
                  extra: dict[str, str] | None = None) -> dict[str, Path]:
    """nbconvert the executed report notebook to self-contained HTML and Markdown (+ figures/), code hidden.

    Everything is rendered into a temporary folder first and swapped in whole, so an interrupted or
    failed render never leaves a half report, and a --force rerun keeps the old report until then.
    """
    import nbformat
    from nbconvert import HTMLExporter, MarkdownExporter
    from traitlets.config import Config

    notebook = notebook or paths.notebook("04-report")
    target = target or paths.report_dir
    nb = nbformat.read(str(notebook), as_version=4)
    config = Config()
    config.TemplateExporter.exclude_input = True
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    # only our folder: the default also searches the working directory, where a `lab/` folder would win
    config.TemplateExporter.extra_template_basedirs = [str(TEMPLATES)]
    title = f"Molting report {target.name}"
    html_body, _ = HTMLExporter(config=config, template_name="molting-html").from_notebook_node(
        nb, resources={"metadata": {"name": title}})
    md_config = Config(config)
    # Markdown wants our escaped pipe tables, not the HTML ones (figures are written as files)
    md_config.NbConvertBase.display_data_priority = ["text/markdown", "image/png", "image/svg+xml", "text/html", "text/plain"]
    md_body, resources = MarkdownExporter(config=md_config, template_name="molting-markdown").from_notebook_node(
        nb, resources={"output_files_dir": "figures"})
    staging = staging_folder(target)
    try:
        (staging / "report.html").write_text(html_body, encoding="utf-8")
        (staging / "report.md").write_text(md_body, encoding="utf-8")
        summary = paths.summary_md
        if summary.is_file() and extra is None:
            extra = {"summary.md": summary.read_text(encoding="utf-8")}
        for name, text in (extra or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, data in resources.get("outputs", {}).items():
            out = staging / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        swap_in_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"html": target / "report.html", "markdown": target / "report.md"}


def _missing_upstream(paths: RunPaths, stage: str) -> list[str]:
    """The stages before `stage` that are not done."""
    return [s for s in STAGES[:STAGES.index(stage)] if not is_done(paths, s)]


def _check_upstream(paths: RunPaths, stage: str) -> None:
    """The stages before `stage` are done, or a RunError says which to run first."""
    upstream = _missing_upstream(paths, stage)
    if upstream:
        raise RunError(f"{stage} needs {', '.join(upstream)} first", where=str(paths.run_dir),
                       fix=f"run `molt run {paths.version}` (or --from {upstream[0]})")


def run_version(version: str, root: Path, *, force: bool = False, from_stage: str | None = None, only: str | None = None,
                skip_complete: bool = False, log: Callable[[str], None] = print, progress: bool = True) -> dict:
    """Run the stages of one version that are not done yet, then render its report."""
    stages = stage_names(from_stage, only)
    if skip_complete and not force and RunPaths(root, version).complete_marker.is_file():
        log(f"[{version}] already complete, report in {RunPaths(root, version).report_dir} (--force redoes it)")
        return {}
    cfg = params_mod.resolve(version, root)   # bad params and missing files fail here, before anything is written
    params_mod.check_files(cfg, root, stages)
    paths = RunPaths(root, version)
    explicit = bool(from_stage or only)
    with runs.exclusive(paths):   # one run of a version at a time
        if explicit:   # refused before params.yaml is written: a later full run still sees that the params changed
            _check_upstream(paths, stages[0])
        prepare(cfg, paths, force, stages)
        timings: dict[str, float] = {}
        for index, stage in enumerate(STAGES):
            if stage not in stages:
                continue
            if not explicit and not force and is_done(paths, stage):
                log(f"[{version}] {stage}: already done, skipped")
                continue
            _check_upstream(paths, stage)
            if force or explicit:
                reset_stage(paths, stage)
            if stage == "02-train" and arms.is_prompt_only(cfg):
                # the prompt-only arm trains nothing: no notebook, no model loaded; train.json says so
                arms.skip_training(cfg, paths)
                log(f"[{version}] {stage}: prompt-only (train.enabled: false), nothing to train")
                continue
            log(f"[{version}] stage {index + 1}/{len(STAGES)}: {stage} ...")
            timings[stage] = round(execute_stage(stage, paths, progress), 1)
            log(f"[{version}] {stage}: done in {timings[stage]:.1f} s")
        if all(is_done(paths, s) for s in STAGES):
            start = time.perf_counter()
            rendered = render_report(paths)
            timings["render"] = round(time.perf_counter() - start, 1)
            write_json(paths.complete_marker, {"version": version, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                               "timings_s": timings})
            log(f"[{version}] report: {rendered['html']} and {rendered['markdown']}")
        return timings


def plan(versions: list[str], root: Path | None = None, *, force: bool = False, from_stage: str | None = None,
         only: str | None = None, skip_complete: bool = False) -> list[dict]:
    """What `molt run` with these options would do, stage by stage ({version, stage, action}), without running or
    writing anything: every version's params and the files they name are checked (as a run checks them before it
    starts), and its tokenizer and chat template loaded; a run that would be refused says why."""
    from molting import models

    root = Path(root) if root else params_mod.find_root()
    stages = stage_names(from_stage, only)
    explicit = bool(from_stage or only)
    rows: list[dict] = []
    for version in versions:
        try:
            paths = RunPaths(root, params_mod.check_version_name(version))
            if skip_complete and not force and paths.complete_marker.is_file():
                rows.append({"version": version, "stage": "all", "action": "already complete: skipped (--skip-complete)"})
                continue
            cfg = params_mod.load(version, root=root)
            params_mod.check_files(cfg, root, stages)
            models.tokenizer_for(cfg)   # the model is there; its template renders
        except MoltingError as exc:   # every version is checked: one bad version does not hide the next one's state
            rows.append({"version": version, "stage": "all", "action": f"refused: {exc}"})
            continue
        if paths.complete_marker.is_file() and not force:
            rows.append({"version": version, "stage": "all", "action": "refused: already complete (--force redoes it, "
                                                                          "--skip-complete passes over it)"})
            continue
        previous = paths.params_file.read_text() if paths.params_file.is_file() else None
        changed = previous is not None and previous != params_mod.to_yaml(cfg) and not force and stages == list(STAGES)
        done = {stage: is_done(paths, stage) and not changed and not (force or explicit) for stage in STAGES}
        for stage in stages:   # the stages asked for are consecutive: only the first can lack an earlier one
            upstream = _missing_upstream(paths, stage) if stage == stages[0] else []
            if upstream:
                action = f"refused: needs {', '.join(upstream)} first"
            elif done[stage]:
                action = "done: skipped"
            elif stage == "02-train" and arms.is_prompt_only(cfg):
                action = "nothing to train (prompt-only)"
            else:
                action = "run" + (" (params changed since the last run)" if changed else "")
            rows.append({"version": version, "stage": stage, "action": action})
            if action.startswith("refused"):
                break
    return rows


def run(versions: list[str], root: Path | None = None, **options: Any) -> dict[str, dict]:
    """Run several versions in order; stop at the first failure."""
    root = Path(root) if root else params_mod.find_root()
    for version in versions:   # a typo in any version's name, params or files stops the run before the first starts
        if not (options.get("skip_complete") and not options.get("force")
                and RunPaths(root, version).complete_marker.is_file()):
            params_mod.check_files(params_mod.resolve(version, root), root,
                                   stage_names(options.get("from_stage"), options.get("only")))
    return {v: run_version(v, root, **options) for v in versions}


def run_phase(name: str, versions: list[str], root: Path | None = None, progress: bool = True) -> dict[str, Path]:
    """Render reports/<name>/ comparing finished versions (phase-report notebook through papermill)."""
    from papermill.exceptions import PapermillExecutionError

    from molting import report

    root = Path(root) if root else params_mod.find_root()
    params_mod.check_version_name(name)
    if (root / "params" / f"{name}.yaml").is_file():
        raise RunError(f"`{name}` is a version, so its report folder is taken", where="--phase",
                       fix="give the phase another name, e.g. phase-1")
    finished = load_runs(root, versions)   # every version must be finished: fail before starting a kernel
    phase = runs.PhasePaths(root, name)
    with runs.exclusive_phase(phase):   # one making of a phase report at a time
        try:
            execute_notebook(notebooks_dir() / "phase-report.ipynb", phase.executed_notebook,
                             {"name": name, "versions": list(versions), "root": str(root)}, root, progress)
        except PapermillExecutionError as exc:
            raise RunError(f"the phase report failed in cell {exc.cell_index}: {exc.ename}: {exc.evalue}",
                           where=str(phase.executed_notebook),
                           fix=f"open {phase.executed_notebook} to see the failing cell") from None
        summary = summary_markdown(report.phase_summary_lines(name, finished)) + "\n"
        return render_report(phase, notebook=phase.executed_notebook, extra={"summary.md": summary})


def main_guard(fn: Callable[[], int]) -> int:
    """Turn Molting errors into a clear message and exit code 1, and Ctrl-C into a line and exit code 130."""
    try:
        return fn()
    except MoltingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:   # Ctrl-C: a line instead of papermill's and asyncio's traceback; 130 as shells use
        print("\ninterrupted: what was finished is kept; run the same command again to go on (a version resumes at "
              "its first unfinished stage, training at its last complete checkpoint)", file=sys.stderr)
        return 130
