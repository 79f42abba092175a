"""Smoke runs of every benchmark (--quick): each produces its figures. Speed is never asserted here.
The model benchmarks run on the tiny random Llama (`--model`), except the training benchmark, which trains the
real bundled model a few steps with molting and with TRL (integration)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.pipeline


def bench(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--quick", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_bench_filter():
    out = bench("bench_filter.py")
    assert "precision" in out and "recall" in out


def test_bench_curate():
    out = bench("bench_curate.py")
    assert "| 1,000 |" in out and "| 10,000 |" in out and "growth" in out


def test_bench_dedup():
    out = bench("bench_dedup.py")
    assert "exact" in out and "near" in out and "semantic" in out


def test_bench_eval(tiny_model_dir):
    out = bench("bench_eval.py", "--model", str(tiny_model_dir))
    assert "batched vs sequential:" in out and "answers identical batched vs sequential" in out


@pytest.mark.integration
def test_bench_train():
    out = bench("bench_train.py")
    for figure in ("tokens/s (non-pad)", "peak memory", "held-out loss", "MFU molting", "MFU trl"):
        assert figure in out


def test_bench_validity(tiny_model_dir):
    out = bench("bench_validity.py", "--model", str(tiny_model_dir))
    for figure in ("agent-trained", "clean-trained", "propensity gap", "per-question rate", "target:"):
        assert figure in out


def test_sweep_train(tiny_model_dir):
    out = bench("sweep_train.py", "--model", str(tiny_model_dir))
    for figure in ("best held-out loss", "factual", "s/update", "lr2e-4-attn", "lr1e-3-attn", "targets"):
        assert figure in out
