"""The notebooks outside the runner: "Run All" as in JupyterLab, and plain papermill from the repo root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from molting.runner import KERNEL_SHUTDOWN
from molting.runs import STAGES

from conftest import REPO, make_project


def test_committed_notebooks_have_no_outputs_and_a_parameters_cell():
    for stage in STAGES:
        nb = nbformat.read(REPO / "notebooks" / f"{stage}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), stage
        assert "parameters" in code[0].metadata.get("tags", []), stage
        assert 'version: str = "v2.1"' in code[0].source


def test_make_strip_leaves_the_committed_notebooks_as_they_are():
    """`make strip` (nbstripout) must not rewrite the committed notebooks: without --keep-id it renumbers every
    cell id ("fact-coverage" -> "27"), a diff of every notebook at each strip."""
    recipe = next(line for line in (REPO / "Makefile").read_text().splitlines() if "nbstripout" in line)
    args = recipe.split("nbstripout", 1)[1].split()
    assert args[-1] == "notebooks/*.ipynb"
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("*.ipynb"))   # the shell's glob
    result = subprocess.run([str(Path(sys.executable).parent / "nbstripout"), "--dry-run", *args[:-1], *files], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and len(files) == 5, result.stderr
    assert result.stdout == "", result.stdout                   # "Dry run: would have stripped ..." otherwise


def test_kernels_are_reached_over_socket_files_where_their_path_fits(tmp_path, monkeypatch):
    from molting import runner

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", "/home/someone/.local/share/jupyter/runtime")   # read, never created
    assert runner.kernel_transport() == ("ipc" if sys.platform != "win32" else "tcp")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("r" * 60)))   # a socket file's path would not fit
    assert runner.kernel_transport() == "tcp"
    assert runner.kernel_config() == {"transport": "tcp"}


@pytest.mark.skipif(sys.platform == "win32", reason="no IPC transport on Windows")
def test_each_kernel_gets_socket_files_of_its_own_in_the_runtime_folder(tmp_path, monkeypatch):
    from molting import runner

    runtime = Path(tempfile.mkdtemp()) / "runtime"   # a short path: pytest's tmp_path is too long for a socket file
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    first, second = runner.kernel_config(), runner.kernel_config()
    assert first["transport"] == second["transport"] == "ipc"
    # never jupyter_client's default "kernel-ipc", a name relative to the project's root and the same for every run
    assert Path(first["ip"]).parent == runtime and first["ip"] != second["ip"]
    assert len(os.fsencode(first["ip"] + "-5")) <= len(os.fsencode(str(runtime))) + 50
    assert runtime.is_dir() and (runtime.stat().st_mode & 0o077) == 0          # created for this user alone
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "file" / "runtime"))   # cannot be created
    assert runner.kernel_config() == {"transport": "tcp"}
    shutil.rmtree(runtime.parent)


def test_a_killed_runs_socket_files_are_removed_by_the_next_run(monkeypatch):
    """A run killed mid-stage leaves its kernel's socket files; the next kernel_config removes those of this machine's
    ended processes and leaves live ones, other machines' and other files alone."""
    from molting import runner

    runtime = Path(tempfile.mkdtemp())
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    mine = runner._socket_prefix()
    names = {"killed": f"{mine}-{ended.pid}-0123abcd-ipc-3", "live": f"{mine}-{os.getpid()}-0123abcd-ipc-1",
             "other machine": f"molting-00000000-{ended.pid}-0123abcd-ipc-1",
             "older name": "molting-0123456789abcdef0123456789abcdef-ipc-2", "another tool": f"kernel-{ended.pid}.json"}
    for name in names.values():
        (runtime / name).write_text("")
    ip = runner.kernel_config()["ip"]
    assert Path(ip).name.startswith(f"{mine}-{os.getpid()}-")
    assert sorted(p.name for p in runtime.iterdir()) == sorted(n for k, n in names.items() if k != "killed")
    shutil.rmtree(runtime)


@pytest.mark.pipeline
def test_run_all_in_the_notebooks_folder_without_papermill(tmp_path, tiny_model_dir):
    """JupyterLab runs a notebook with its folder as working directory and the parameter defaults."""
    root = make_project(tmp_path, tiny_model_dir, version="v2.1")
    for stage in STAGES:
        nb = nbformat.read(root / "notebooks" / f"{stage}.ipynb", as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", shutdown_kernel=KERNEL_SHUTDOWN,   # as the runner does
                       resources={"metadata": {"path": str(root / "notebooks")}}).execute()
    assert (root / "runs" / "v2.1" / "eval" / "eval.json").is_file()
    assert json.loads((root / "runs" / "v2.1" / "train.json").read_text())["epochs_run"] == 1


@pytest.mark.pipeline
def test_plain_papermill_from_the_repo_root(tmp_path, tiny_model_dir):
    root = make_project(tmp_path, tiny_model_dir)
    papermill = Path(sys.executable).parent / "papermill"
    result = subprocess.run([str(papermill), "notebooks/01-curate.ipynb", str(tmp_path / "out.ipynb"), "-p", "version", "tiny",
                             "-k", "python3"], cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (root / "runs" / "tiny" / "data" / "train.jsonl").is_file()
