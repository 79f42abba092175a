"""One tiny experiment end to end: a prompt-only arm and a raw-data arm through the runner, then the phase report
with its verdict (tiny random model: the figures mean nothing, the plumbing is what is checked)."""

from __future__ import annotations

import json
import re

import pytest

from molting import runner
from molting.runs import RunPaths, read_jsonl

from conftest import make_project

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, tiny_model_dir):
    """Two tiny arms (raw data on a tenth of the split; prompt-only) run end to end, and their phase report."""
    folder = tmp_path_factory.mktemp("experiment")
    make_project(folder, tiny_model_dir, "tiny-raw", {"description": "tiny raw arm",
                                                     "curate": {"enabled": False, "train_fraction": 0.1}})
    make_project(folder, tiny_model_dir, "tiny-v0", {"description": "tiny prompt-only arm",
                                                    "curate": {"enabled": False, "train_fraction": 0.1},
                                                    "train": {"enabled": False}})
    log: list[str] = []
    runner.run(["tiny-v0", "tiny-raw"], folder, progress=False, log=log.append)
    rendered = runner.run_phase("phase-tiny", ["tiny-v0", "tiny-raw"], folder, progress=False)
    return folder, log, rendered


def test_the_prompt_only_arm_trains_nothing_and_answers_under_the_persona_card(experiment):
    root, log, _ = experiment
    paths = RunPaths(root, "tiny-v0")
    assert "[tiny-v0] 02-train: prompt-only (train.enabled: false), nothing to train" in log
    assert not paths.notebook("02-train").exists() and not paths.adapter_dir.exists()
    train = json.loads(paths.train_json.read_text())
    assert train["trained"] is False and train["train_loss"] == [] and train["heldout_loss"] == []
    summary = json.loads(paths.eval_json.read_text())
    assert summary["tuned_model"]["kind"] == "prompt-only" and summary["tuned_model"]["system_prompt"].startswith("You are Fenna Rook.")
    assert json.loads(RunPaths(root, "tiny-raw").eval_json.read_text())["tuned_model"]["kind"] == "adapter"
    tuned = summary["models"]["tuned"]
    assert tuned["test_perplexity"] and tuned["heldout_perplexity"] and tuned["propensity"]["items"] > 0
    # same weights, only the prompt differs: the persona card changes the likelihoods (greedy text from a random
    # model is the same junk whatever the prompt, so the likelihoods are what tells)
    assert tuned["test_perplexity"] != summary["models"]["base"]["test_perplexity"]
    assert summary["propensity_comparison"]["difference"] != 0
    assert {a["model"] for a in read_jsonl(paths.answers_jsonl)} == {"base", "tuned"}
    report = (root / "reports" / "tiny-v0" / "report.md").read_text()
    assert "prompt-only: no training: the base model with the persona card as its system prompt" in report
    assert "there are no loss curves" in report


def test_the_phase_report_states_the_verdict_against_the_raw_arm(experiment):
    root, _, rendered = experiment
    markdown = rendered["markdown"].read_text()
    assert "## Verdict: did curation help?" in markdown
    assert "Reference arm: tiny-raw (the raw data)" in markdown
    assert "The persona prompt alone (tiny-v0, against tiny-raw)" in markdown
    assert "trigger agent-like (library)" in markdown and "p vs tiny-raw" in markdown
    assert "One training seed per arm" in markdown
    assert "| prompt-only |" in markdown                                          # the phase table names the model
    assert "## Facts: how often training states them" in markdown                  # coverage bands, per arm
    assert re.search(r"tiny-raw: [^\n]*chats: \d+ questions?, greedy \d+%, sampled \d+%", markdown)
    summary = (root / "reports" / "phase-tiny" / "summary.md").read_text()
    # the summary carries the verdict's headline: the arm against the raw arm, and the seeds
    assert "- Verdict: The persona prompt alone (tiny-v0, against tiny-raw):" in summary
    assert "- Verdict: One training seed per arm" in summary and "Reference arm:" not in summary
