"""Killing a real run mid-training and running the same version again: it resumes, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import make_project


def molt(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "MOLTING_ROOT": str(root), "MOLTING_KERNEL": "python3"}
    return subprocess.Popen([str(Path(sys.executable).parent / "molt"), *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_kill_during_training_then_rerun_resumes(tmp_path, tiny_model_dir):
    root = make_project(tmp_path, tiny_model_dir, overrides={"train": {"epochs": 40, "batch_size": 4}})
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
    assert train["resumed_from"] is not None and train["epochs_run"] == 40
    assert (root / "runs" / "tiny" / "data" / "train.jsonl").read_bytes() == curated   # finished work untouched
    assert (root / "reports" / "tiny" / "report.html").is_file()
