"""The experiment's arms as ready versions, and the prompt-only arm (no training, the persona card as the prompt)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from molting import arms, cli, evaluate, generation, params, runs, suite

from conftest import REPO, make_project

# each arm against the version it is compared with, and the one key that makes the difference
ARMS = {"v0": ("v1", "train.enabled"), "v2.1": ("v1", "curate.enabled"),
        "v2.1-random": ("v2.1", "curate.random_subset"), "v2.1-strip": ("v2.1", "curate.mode"),
        "v2.1-detector": ("v2.1", "curate.detector_drops")}


@pytest.mark.parametrize("version", sorted(ARMS))
def test_each_arm_is_a_short_file_with_a_why_and_differs_in_one_key(version):
    parent, key = ARMS[version]
    text = (REPO / "params" / f"{version}.yaml").read_text()
    assert text.startswith("#") and len(text.splitlines()) <= 12
    a, b = params.resolve(parent, REPO), params.resolve(version, REPO)
    assert b.description and b.description != a.description
    changed = [k for k, _, _ in params.diff(a, b) if k != "description"]
    assert changed == [key]


def test_the_persona_card_becomes_a_system_prompt():
    persona = params.read_yaml(REPO / "data" / "sample" / "persona.yaml")
    prompt = arms.persona_prompt(persona)
    assert prompt.startswith("You are Fenna Rook.")
    for line in [*persona["background"], *persona["tone"], *persona["likes"], *persona["dislikes"]]:
        assert f"- {line}" in prompt
    assert arms.persona_prompt({"name": "Ada"}) == "You are Ada.\n\nStay in character: answer as this person, never as an AI assistant."


def test_prompt_only_answers_under_the_persona_card_and_trained_arms_as_trained():
    v0, v1 = params.resolve("v0", REPO), params.resolve("v1", REPO)
    v0["root"] = v1["root"] = str(REPO)
    assert arms.is_prompt_only(v0) and not arms.is_prompt_only(v1)
    assert arms.tuned_system_prompt(v0).startswith("You are Fenna Rook.")
    assert arms.tuned_system_prompt(v1) == v1.data.system_prompt == ""
    assert arms.model_label(v0.to_dict()) == "prompt-only" and arms.model_label(v1.to_dict()) == "tuned"


def test_prompt_only_stage_02_writes_train_json_and_molt_train_refuses(tmp_path, tiny_model_dir, capsys, monkeypatch):
    root = make_project(tmp_path / "p", tiny_model_dir, "v0", {"train": {"enabled": False}})
    cfg = params.resolve("v0", root)
    cfg["root"] = str(root)
    paths = runs.RunPaths(root, "v0")
    record = arms.skip_training(cfg, paths)
    saved = json.loads(paths.train_json.read_text())
    assert saved == record and saved["trained"] is False and saved["kind"] == "prompt-only"
    assert saved["train_loss"] == [] and saved["heldout_loss"] == [] and saved["global_steps"] == 0
    assert saved["system_prompt"].startswith("You are Fenna Rook.")
    assert runs.is_done(paths, "02-train") and not paths.adapter_dir.exists()
    monkeypatch.setenv("MOLTING_ROOT", str(root))
    assert cli.main(["train", "v0"]) == 2
    assert "prompt-only (train.enabled: false): nothing to train" in capsys.readouterr().err


def test_prompt_only_questions_carry_the_persona_card_and_base_questions_do_not(monkeypatch):
    seen: dict[str, list] = {}

    def fake_generate(model, tokenizer, chats, **kwargs):
        seen.setdefault("do_sample" if kwargs.get("do_sample") else "greedy", []).append(chats)
        return [{"text": "x", "new_tokens": 1, "ended_with_eos": True, "truncated": False} for _ in chats]

    monkeypatch.setattr(generation, "generate", fake_generate)
    questions = suite.load_suites(["params/eval/personality.yaml"], REPO)[:3]
    for version, label in (("v0", "tuned"), ("v0", "base"), ("v1", "tuned")):
        cfg = params.resolve(version, REPO)
        cfg["root"] = str(REPO)
        seen.clear()
        rows = evaluate.answer_suite(SimpleNamespace(device=torch.device("cpu")), None, questions, cfg, label)
        system = {chat[0]["content"] for batch in seen.values() for chats in batch for chat in chats}
        expected = arms.persona_prompt(arms.load_persona(cfg)) if (version, label) == ("v0", "tuned") else ""
        assert system == {expected} and len(rows) == 3 * (1 + cfg.eval.samples)
    info = evaluate.tuned_model_info(cfg)
    assert info["kind"] == "adapter" and info["label"] == "tuned"
