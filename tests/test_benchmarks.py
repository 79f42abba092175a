"""Smoke runs of every benchmark (--quick): each produces its figures. Speed is never asserted here.
The model benchmarks run on the tiny random Llama (`--model`), except the training benchmark, which trains the
real bundled model a few steps with molting and with TRL (integration)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, make_project

pytestmark = pytest.mark.pipeline


def bench(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--quick", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_bench_filter():
    out = bench("bench_filter.py")
    assert "precision" in out and "recall" in out
    assert re.search(r"ROC AUC 0\.\d+ \(folds 0\.\d{3}-0\.\d{3}\)", out)  # the shipped adapter's per-fold CV


def test_bench_curate():
    out = bench("bench_curate.py")
    assert "| 1,000 |" in out and "| 10,000 |" in out and "growth" in out and "strip mode (v2.1-strip), 1,000 chats" in out


def test_bench_dedup():
    out = bench("bench_dedup.py")
    assert "exact" in out and "near" in out and "semantic" in out


@pytest.mark.integration
def test_bench_train():
    out = bench("bench_train.py")
    for figure in ("tokens/s (non-pad)", "peak memory", "held-out loss", "MFU molting", "MFU trl"):
        assert figure in out


def test_bench_validity(tiny_model_dir):
    out = bench("bench_validity.py", "--model", str(tiny_model_dir))
    for figure in ("agent-trained", "clean-trained", "propensity gap", "per-question rate", "target:"):
        assert figure in out


def test_sweep_train(tiny_model_dir, tmp_path):
    project = make_project(tmp_path, tiny_model_dir)                  # the checkout's runs/ stays untouched
    for version in ("v1", "v2.1"):
        shutil.copy(REPO / "params" / f"{version}.yaml", project / "params")
    out = bench("sweep_train.py", "--model", str(tiny_model_dir), "--project", str(project))
    assert (project / "runs" / "v2.1" / "data" / "train.jsonl").is_file()   # the version's 01-curate ran there first
    for figure in ("best held-out loss", "factual", "s/update", "lr2e-4-attn", "lr1e-3-attn", "targets"):
        assert figure in out


# last in the file: the shared finished run is then most likely built by the other worker meanwhile (no wait)
def test_bench_eval(finished_tiny, tmp_path):
    project = tmp_path / "project"                                     # a copy: the shared run stays as it was
    shutil.copytree(finished_tiny.root, project)
    out = bench("bench_eval.py", "--stage", "--project", str(project), "--version", "tiny")   # its tiny model
    assert "batched vs sequential:" in out and "answers identical batched vs sequential" in out
    for line in ("03-evaluate library calls on tiny", "tuned answers (adapter merged)", "verdicts", "probe and perplexity",
                 "peer: tuned answers by model.generate", "peer: probe and perplexities, base and tuned",
                 "test perplexity bf16 vs fp32", "total"):
        assert line in out, line


def test_results_keep_hand_written_sections_after_the_benchmarks(tmp_path, monkeypatch):
    # experiments recorded by hand follow the benchmark sections; re-measuring one benchmark must not drop them
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_all", REPO / "benchmarks" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(run_all, "RESULTS", results)
    monkeypatch.setattr(run_all, "machine", lambda: "- a test machine")
    last = list(run_all.BENCHMARKS)[-1]
    results.write_text(f"# old\n<!-- {last} -->\n## t\n\nmeasured then\n\nold body\n<!-- /{last} -->\n\n"
                       "## Experiment by hand\n\nits figures\n")
    run_all.write({"filter": "new filter figures"})
    text = results.read_text()
    assert text.endswith(f"old body\n<!-- /{last} -->\n\n## Experiment by hand\n\nits figures\n")
    assert "new filter figures" in text and text.count("## Experiment by hand") == 1
    assert re.search(rf"<!-- filter -->\n## .*\n\nmeasured \d{{4}}-\d\d-\d\d \d\d:\d\d on {re.escape(run_all.cpu_name())}, \d+ cores\n", text)
    run_all.write({})  # re-writing changes nothing (a blank line was lost before the hand-written part each time)
    assert results.read_text() == text
