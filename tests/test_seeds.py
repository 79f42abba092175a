"""Training seeds: replica versions that differ only in train.seed, and the phase report pooling them."""

from __future__ import annotations

import shutil

import pytest
import torch
import yaml

from molting import evaluate, models, params, runner, seeds, train
from molting.errors import ParamsError
from molting.runs import RunPaths, read_json, read_jsonl, write_json, write_jsonl
from molting.seeds import load_runs

from conftest import make_project


def test_replicas_extend_the_version_with_the_next_training_seeds(tmp_path, tiny_model_dir):
    root = make_project(tmp_path, tiny_model_dir)
    assert seeds.replica_versions("tiny", 1, root) == ["tiny"]
    assert seeds.replica_versions("tiny", 3, root) == ["tiny", "tiny-seed2", "tiny-seed3"]
    cfg, third = params.resolve("tiny", root), params.resolve("tiny-seed3", root)
    assert seeds.training_seed(cfg) == cfg.seed == 42 and seeds.training_seed(third) == 44
    assert [key for key, _, _ in params.diff(cfg, third)] == ["description", "train.seed"]   # the one change
    assert seeds.replica_versions("tiny", 3, root) == ["tiny", "tiny-seed2", "tiny-seed3"]  # idempotent
    (root / "params" / "tiny-seed2.yaml").write_text("extends: tiny\ndescription: mine\n")
    with pytest.raises(ParamsError, match="was not generated"):                            # never overwrites yours
        seeds.replica_versions("tiny", 2, root)
    with pytest.raises(ParamsError, match="--seeds"):
        seeds.replica_versions("tiny", 0, root)
    make_project(tmp_path, tiny_model_dir, "tiny-v0", {"train": {"enabled": False}})
    assert seeds.replica_versions("tiny-v0", 3, root) == ["tiny-v0"]                       # nothing to train


def test_the_training_seed_sets_the_lora_init(tmp_path, tiny_model_dir):
    cfg = params.resolve("tiny", make_project(tmp_path, tiny_model_dir))
    source = models.resolve_source(str(tiny_model_dir))

    def lora_a(seed: int) -> torch.Tensor:
        model = train.attach_lora(models.load_model(source), cfg.train, "none", seed)
        return next(p for n, p in model.named_parameters() if "lora_A" in n).detach().clone()

    assert torch.equal(lora_a(1), lora_a(1)) and not torch.equal(lora_a(1), lora_a(2))


def test_the_phase_report_pools_a_version_over_its_finished_seed_replicas(finished_tiny, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(finished_tiny.root, root)
    assert seeds.replica_versions("tiny", 2, root) == ["tiny", "tiny-seed2"]
    assert seeds.finished_replicas("tiny", root) == []                    # not run yet: nothing pooled
    # the replica's run: the tiny run's files, but every sampled tuned answer agent-like, as a second seed might be
    shutil.copytree(root / "runs" / "tiny", root / "runs" / "tiny-seed2")
    replica = RunPaths(root, "tiny-seed2")
    answers = read_jsonl(replica.answers_jsonl)
    for row in answers:
        if row["model"] == "tuned" and row["decoding"] == "sampled":
            row["verdict"]["agent_like"] = 1.0
    write_jsonl(replica.answers_jsonl, answers)
    own = read_json(RunPaths(root, "tiny").eval_json)
    replica_eval = {**own, "models": {**own["models"], "tuned": {
        **evaluate.aggregate([r for r in answers if r["model"] == "tuned"], 100, 42),
        "propensity": own["models"]["tuned"]["propensity"], "test_perplexity": 2 * own["models"]["tuned"]["test_perplexity"]}}}
    write_json(replica.eval_json, replica_eval)
    replica.params_file.write_text(yaml.safe_dump({**yaml.safe_load(replica.params_file.read_text()), "train": {"seed": 43}}))
    assert seeds.finished_replicas("tiny", root) == ["tiny-seed2"]

    [pooled] = load_runs(root, ["tiny"])
    tuned, alone = pooled["eval"]["models"]["tuned"], own["models"]["tuned"]
    assert tuned["agent_like"]["n"] == 2 * alone["agent_like"]["n"]                     # both seeds' answers count
    assert tuned["agent_like"]["count"] == alone["agent_like"]["count"] + alone["agent_like"]["n"]
    low, high = tuned["agent_like"]["ci95"]
    assert low <= tuned["agent_like"]["mean"] <= high
    some = next(iter(tuned["per_question"]))
    assert tuned["per_question"][some]["agent_like"] == pytest.approx((alone["per_question"][some]["agent_like"] + 1) / 2, abs=1e-3)
    assert tuned["test_perplexity"] == pytest.approx(1.5 * alone["test_perplexity"], rel=1e-3)
    assert tuned["propensity"]["per_item"] == pytest.approx(alone["propensity"]["per_item"], abs=1e-3)
    assert [f["version"] for f in pooled["seeds"]] == ["tiny", "tiny-seed2"]
    assert [f["training_seed"] for f in pooled["seeds"]] == [42, 43]
    assert pooled["answers"] == read_jsonl(RunPaths(root, "tiny").answers_jsonl)       # shown answers stay its own
    assert load_runs(root, ["tiny"], pool_seeds=False)[0]["eval"] == own
    assert "tiny 2 seeds" in seeds.seed_sentence([pooled])

    runner.run_phase("phase-seeds", ["tiny"], root, progress=False)
    md = (root / "reports" / "phase-seeds" / "report.md").read_text()
    assert "## Training seeds" in md and "tiny-seed2" in md and "pooled over each arm's training seeds" in md
