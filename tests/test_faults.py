"""Killing a real run (kill -9, Ctrl-C) mid-stage and running the same version again: it resumes, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from pathlib import Path

import pytest

from molting.runner import kernel_transport

from conftest import ATTACK, ESCAPED, LITERAL, MARKDOWN_LOOKALIKE, make_project

pytestmark = pytest.mark.pipeline


def molt(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "MOLTING_ROOT": str(root), "MOLTING_KERNEL": "python3"}
    return subprocess.Popen([str(Path(sys.executable).parent / "molt"), *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_sigint_as_from_a_terminal)


def _sigint_as_from_a_terminal() -> None:
    """Ctrl-C's signal acts on the run as on one started from a terminal. A shell without job control (a script, some
    CI runners) starts background jobs with SIGINT ignored, and every process below inherits that: a suite started
    that way gave runs that ignored the Ctrl-C test's signal and finished with exit 0 (three times, 2026-12-07)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_kill_during_training_then_rerun_resumes(tmp_path, tiny_model_dir):
    root = make_project(tmp_path, tiny_model_dir, overrides={"train": {"epochs": 4, "batch_size": 4}})
    checkpoints = root / "runs" / "tiny" / "checkpoints"
    proc = molt(root, "run", "tiny", "--quiet")
    deadline = time.time() + 300
    while time.time() < deadline and not list(checkpoints.glob("checkpoint-*/molting-complete.json")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)          # the runner and its kernel, like a power cut
    proc.wait()
    assert not (root / "runs" / "tiny" / ".done" / "02-train.json").exists()
    assert (root / "runs" / "tiny" / ".done" / "01-curate.json").exists()
    curated = (root / "runs" / "tiny" / "data" / "train.jsonl").read_bytes()

    again = molt(root, "run", "tiny", "--quiet")
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output[-3000:]
    assert "01-curate: already done, skipped" in output
    train = json.loads((root / "runs" / "tiny" / "train.json").read_text())
    assert train["resumed_from"] is not None and train["epochs_run"] == 4
    assert (root / "runs" / "tiny" / "data" / "train.jsonl").read_bytes() == curated   # finished work untouched
    assert (root / "reports" / "tiny" / "report.html").is_file()
    if kernel_transport() == "ipc":   # the killed run's kernel sockets were removed by the next run
        runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
        assert not [p.name for p in runtime.iterdir() if f"-{proc.pid}-" in p.name]


def wait_for(path_glob, root: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Poll until a file matching the glob exists under root (the process must still be running)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not list(root.glob(path_glob)):
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.1)
    assert list(root.glob(path_glob)), f"{path_glob} never appeared"


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def finish(root: Path, *args: str) -> str:
    proc = molt(root, "run", "tiny", "--quiet", *args)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-3000:]
    # papermill reaches each stage's kernel over local socket files (where their path fits: runner.kernel_transport):
    # no TCP port, and no warning from ipykernel about unencrypted TCP at every stage (its stderr is the runner's)
    if kernel_transport() == "ipc":
        assert "IPKernelApp" not in output and "without encryption" not in output, output[-3000:]
    # their socket files live in Jupyter's runtime folder: none in the project, not even from the killed runs
    assert not list(root.glob("kernel-ipc*")), sorted(p.name for p in root.iterdir())
    return output


def test_kill_during_evaluation_and_report_then_force_keeps_old_report(tmp_path, tiny_model_dir, finished_tiny):
    root = make_project(tmp_path / "a", tiny_model_dir)
    run_dir = root / "runs" / "tiny"
    proc = molt(root, "run", "tiny", "--quiet")
    wait_for("runs/tiny/03-evaluate.ipynb", root, proc)
    time.sleep(1.0)                                   # inside the evaluation notebook
    kill(proc)
    assert not (run_dir / ".done" / "03-evaluate.json").exists()
    trained = {p.name: p.read_bytes() for p in (run_dir / "adapter").iterdir()}
    train_json = (run_dir / "train.json").read_bytes()

    proc = molt(root, "run", "tiny", "--quiet")
    wait_for("runs/tiny/04-report.ipynb", root, proc)
    os.killpg(proc.pid, signal.SIGINT)                # Ctrl-C during the report: a line saying so, not a traceback
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted: what was finished is kept" in output, output[-3000:]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert not (root / "reports" / "tiny" / "report.html").exists()

    output = finish(root)
    assert "02-train: already done, skipped" in output and "03-evaluate: already done, skipped" in output
    assert {p.name: p.read_bytes() for p in (run_dir / "adapter").iterdir()} == trained   # no finished work redone or lost
    assert (run_dir / "train.json").read_bytes() == train_json
    report = (root / "reports" / "tiny" / "report.html").read_bytes()

    # --force with a stage that now fails (the raw data file was emptied): the old report stays until a new one
    # is complete, and the curated data from before stays too (compared below)
    (root / "data" / "sample" / "raw.jsonl").write_text("")
    proc = molt(root, "run", "tiny", "--quiet", "--force")
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1 and "01-curate failed in cell" in output and "DataError" in output
    assert (root / "reports" / "tiny" / "report.html").read_bytes() == report

    # determinism: the same version in another folder (the shared finished run) gives byte-identical data and
    # the same answers and verdicts (apart from the answers that fixture replaced with hostile text)
    other = finished_tiny.root / "runs" / "tiny"
    for name in ("data/train.jsonl", "data/heldout.jsonl", "data/removed.jsonl", "data/curation.json"):
        assert (other / name).read_bytes() == (run_dir / name).read_bytes(), name
    planted = {ATTACK, ESCAPED, LITERAL, MARKDOWN_LOOKALIKE}
    first = list(map(json.loads, (run_dir / "eval" / "answers.jsonl").read_text().splitlines()))
    second = list(map(json.loads, (other / "eval" / "answers.jsonl").read_text().splitlines()))
    assert [(r["model"], r["question_id"], r["verdict"]) for r in first] == \
           [(r["model"], r["question_id"], r["verdict"]) for r in second]
    assert sum(r["text"] in planted for r in second) == 4
    assert all(a["text"] == b["text"] for a, b in zip(first, second) if b["text"] not in planted)
