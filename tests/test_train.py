"""Training: assistant-only labels with EOS, LoRA moves only adapter weights, checkpoints, preflight."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from molting import advice, chat, models, params, preflight, runs, train
from molting.errors import ModelError, ParamsError, RunError



CHAT = [{"role": "system", "content": ""}, {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "Fenna, love."}, {"role": "user", "content": "And the dog?"},
        {"role": "assistant", "content": "Pilchard, a sock thief."}]


def test_labels_cover_assistant_replies_and_their_eos(bundled_tokenizer):
    example = chat.tokenize_chat(bundled_tokenizer, CHAT, max_length=256)
    trained = [t for t, lab in zip(example["input_ids"], example["labels"]) if lab != chat.IGNORE]
    text = bundled_tokenizer.decode(trained)
    assert text == "Fenna, love.<|im_end|>\nPilchard, a sock thief.<|im_end|>\n"
    assert trained.count(bundled_tokenizer.eos_token_id) == 2   # pad == eos, yet EOS is still trained
    assert "[[Fenna, love.<|im_end|>\n]]" in chat.label_mask_text(bundled_tokenizer, example)


def test_long_chat_is_cut_and_counted(bundled_tokenizer):
    example = chat.tokenize_chat(bundled_tokenizer, CHAT, max_length=10)
    assert len(example["input_ids"]) == 10 and example["cut"]


def test_plan_on_cpu_falls_back_loudly():
    cfg = params.resolve("v2.1", Path(__file__).resolve().parents[1])
    plan = train.make_plan(cfg.train)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert plan.quantization == "none" and plan.device == "cpu"
    assert any("falls back to plain LoRA" in w for w in plan.warnings)
    asked = params.Config({**cfg.train, "quantization": "4bit"})
    plan4 = train.make_plan(asked)
    assert plan4.quantization == "4bit" and any("autograd" in w for w in plan4.warnings)


def test_plan_compiles_layers_on_cpu_only_with_a_compiler(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = params.resolve("v2.1", Path(__file__).resolve().parents[1])
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    assert train.cpp_compiler() is None and train.make_plan(cfg.train).compile is False   # auto: off, quietly
    with pytest.raises(ModelError, match="train.compile: true needs a C\\+\\+ compiler") as err:
        train.make_plan(params.Config({**cfg.train, "compile": True}))
    assert err.value.where == "train.compile"
    monkeypatch.setenv("CXX", sys.executable)   # any executable stands in for a compiler here
    assert train.make_plan(cfg.train).compile is True
    assert train.make_plan(params.Config({**cfg.train, "compile": False})).compile is False
    assert train.make_plan(params.Config({**cfg.train, "quantization": "4bit"})).compile is False   # not measured there


def test_compiled_layers_train_as_eager_does(project):
    """Regional torch.compile changes speed, not the arithmetic: same losses and adapter keys as eager."""
    if train.cpp_compiler() is None:
        pytest.skip("no C++ compiler for torch.compile's CPU backend")
    from torch._dynamo.utils import counters

    results, graphs = {}, {}
    for compiled in (False, True):
        cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project, "tiny")
        paths = runs.RunPaths(project, f"tiny-compile-{compiled}")
        cfg["train"].update(compile=compiled, max_steps=3)
        model = train.attach_lora(models.load_model(source), cfg.train, "none", seed=0)
        counters.clear()
        with torch._dynamo.config.patch(disable=False):   # conftest turns compiling off for every other test
            figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
        graphs[compiled] = counters["stats"]["unique_graphs"]   # graphs dynamo actually captured and compiled
        results[compiled] = (figures, sorted(model.state_dict()))
    (eager, eager_keys), (compiled, compiled_keys) = results[False], results[True]
    assert eager["compiled_layers"] == 0 and compiled["compiled_layers"] == 2   # the tiny Llama's two decoder layers
    # the layers share one graph for training and one for the held-out loss (no_grad): the first layer's input
    # is marked as needing grad like the others' (without that mark, 3)
    assert graphs[False] == 0 and graphs[True] == 2
    assert compiled_keys == eager_keys
    assert compiled["global_steps"] == eager["global_steps"] == 3
    assert compiled["best_heldout_loss"] == pytest.approx(eager["best_heldout_loss"], abs=1e-3)


def _setup(project: Path, version: str = "tiny"):
    cfg = params.resolve(version, project)
    cfg["root"] = str(project)
    paths = runs.RunPaths(project, version)
    source = models.resolve_source(cfg.model.source)
    tokenizer = models.load_tokenizer(source)
    chats = [{"id": f"c{i}", "messages": CHAT[1:]} for i in range(12)]
    train_set, _ = chat.build_dataset(chats[:8], tokenizer, 64, "")
    heldout_set, _ = chat.build_dataset(chats[8:], tokenizer, 64, "")
    return cfg, paths, source, tokenizer, train_set, heldout_set


def test_lora_layers_adapts_the_last_layers_and_runs_the_ones_below_forward_only(project):
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)

    def adapted(last):
        cfg["train"]["lora_layers"] = last
        model = train.attach_lora(models.load_model(source), cfg.train, "none", seed=0)
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        return model, sorted({int(n.split(".layers.")[1].split(".")[0]) for n in names}), names

    model, layers, names = adapted(1)
    assert layers == [1]                                               # the tiny Llama's last of two layers
    assert {n.split(".layers.1.")[1] for n in names} == {n.split(".layers.1.")[1] for n in adapted(None)[2] if ".layers.1." in n}
    assert adapted(2)[1] == adapted(None)[1] == [0, 1]                 # as many as the model has: every layer
    # a training step: the frozen layer below computes no gradient (its output needs none), the adapted one does
    outputs = {}
    train.decoder_layers(model)[0].register_forward_hook(lambda m, i, out: outputs.setdefault("below", out))
    batch = train.TrainedPositionsCollator(tokenizer, packing=False)([train_set[0], train_set[1]])
    model(**batch).loss.backward()
    assert outputs["below"].requires_grad is False
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
    with pytest.raises(ParamsError, match="train.lora_layers is 3 but the model has 2 decoder layers") as err:
        adapted(3)
    assert err.value.where == "train.lora_layers" and "from 1 to 2" in err.value.fix


def test_a_target_module_the_model_lacks_is_named_before_training(project):
    # peft stops only where no name matches: [q_proj, v_prj] trained q_proj alone without a word
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    model = models.load_model(source)
    cfg["train"]["target_modules"] = ["q_proj", "v_prj"]
    with pytest.raises(ParamsError, match="train.target_modules names 'v_prj', which this model has no layer of") as err:
        train.attach_lora(model, cfg.train, "none", seed=0)
    assert err.value.where == "train.target_modules" and "did you mean v_proj?" in err.value.fix
    assert "its linear layers are down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj" in err.value.fix
    cfg["train"]["target_modules"] = ["q_proj", "self_attn.v_proj"]      # peft's suffix match: a dotted name passes
    adapted = train.attach_lora(model, cfg.train, "none", seed=0)
    assert {n.split(".")[-4] for n, p in adapted.named_parameters() if p.requires_grad} == {"q_proj", "v_proj"}


def test_lora_moves_adapters_and_freezes_base(project):
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg["train"]["epochs"] = 2
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
    after = dict(model.named_parameters())
    lora_moved = [n for n in before if "lora_B" in n and not torch.equal(before[n], after[n].detach())]
    # frozen Linear weights may be stored in bf16 for speed: unchanged means equal to the original at that dtype
    base_moved = [n for n in before if "lora_" not in n
                  and not torch.equal(before[n].to(after[n].dtype), after[n].detach())]
    assert lora_moved and not base_moved
    assert figures["epochs_run"] == 2 and len(figures["heldout_loss"]) == 2
    assert figures["tokens_per_s"] > 0 and figures["peak_memory_mb"] > 0
    # a CPU run's peak says what it counts and how far identical runs differ (the report shows it as given)
    assert figures["peak_memory_kind"].startswith("process peak RSS: counts freed memory") and "40%" in figures["peak_memory_kind"]
    assert 0 < figures["trainable_params"] < figures["total_params"]
    # the adapter is standard PEFT and every kept checkpoint carries the completion marker
    from peft import PeftModel

    reloaded = PeftModel.from_pretrained(models.load_model(source), str(paths.adapter_dir))
    assert any("lora_A" in n for n, _ in reloaded.named_parameters())
    assert train.complete_checkpoints(paths.checkpoints_dir)


def test_resume_skips_half_written_checkpoint(project):
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    cfg["train"]["epochs"] = 1
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
    done = train.complete_checkpoints(paths.checkpoints_dir)[-1]
    half = paths.checkpoints_dir / "checkpoint-999"      # a save interrupted before its marker
    half.mkdir()
    (half / "adapter_model.safetensors").write_bytes(b"\0" * 10)
    cfg["train"]["epochs"] = 2
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
    assert figures["resumed_from"] == done.name
    assert figures["discarded_incomplete_checkpoints"] == ["checkpoint-999"]
    assert figures["epochs_run"] == 2 and not half.exists()


def test_preflight_passes_for_tiny_model(project, tiny_model_dir):
    cfg, paths, source, tokenizer, train_set, _ = _setup(project)
    checks = preflight.run_checks(str(tiny_model_dir), tokenizer, train_set[0], train.make_plan(cfg.train), cfg.train)
    assert all(c.ok for c in checks), preflight.as_rows(checks)
    preflight.assert_passed(checks)


def test_preflight_catches_template_without_eos(project, bundled_tokenizer):
    cfg, paths, source, tokenizer, train_set, _ = _setup(project)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}" \
                              "{% if add_generation_prompt %}assistant: {% endif %}"
    example = chat.tokenize_chat(tokenizer, CHAT[1:3], 64)
    checks = preflight.check_template(tokenizer, example)
    eos_check = next(c for c in checks if "EOS" in c.name)
    assert not eos_check.ok and "never learn to stop" in eos_check.fix
    with pytest.raises(ModelError, match="preflight failed"):
        preflight.assert_passed(checks)


def test_preflight_explains_phi3_rope_scaling_failure(tmp_path):
    """The lab's Phi-3-mini failure: a rope_scaling the installed transformers rejects."""
    config = {"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
              "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 131072,
              "original_max_position_embeddings": 4096,
              "rope_scaling": {"type": "longrope", "short_factor": [1.0] * 3, "long_factor": [1.0] * 3}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError) as err:
        preflight.load_config(str(tmp_path))
    message = str(err.value)
    assert "rope_scaling is not valid" in message and "config.json" in message and "What to do:" in message


def test_memory_check_fails_when_it_cannot_fit(tiny_model_dir):
    config = preflight.load_config(str(tiny_model_dir))
    plan = train.TrainPlan(device="cpu", quantization="none", bf16=False)
    check = preflight.check_memory(config, 70_000_000_000, plan, batch_size=4, max_length=512)
    assert not check.ok and "lower train.batch_size" in check.fix


def _write_split(project: Path, version: str = "tiny") -> runs.RunPaths:
    paths = runs.RunPaths(project, version)
    chats = [{"id": f"c{i}", "messages": CHAT[1:]} for i in range(12)]
    runs.write_jsonl(paths.train_jsonl, chats[:8])
    runs.write_jsonl(paths.heldout_jsonl, chats[8:])
    return paths


def test_accelerate_launch_single_process_cpu(project):
    """The training step runs unchanged under `accelerate launch` (here one CPU process)."""
    import os
    import subprocess
    import sys

    paths = _write_split(project)
    accelerate = Path(sys.executable).parent / "accelerate"
    result = subprocess.run([str(accelerate), "launch", "--cpu", "--num_processes", "1", "--num_machines", "1",
                             "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "molting.cli", "train", "tiny"],
                            cwd=project, env={**os.environ, "MOLTING_ROOT": str(project)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained tiny: 1.0 epochs" in result.stdout
    assert (paths.adapter_dir / "adapter_config.json").is_file() and paths.done_marker("02-train").is_file()
    assert paths.lock_file.is_file()    # molt train held the version's lock, as `molt run` does (runs.exclusive)


def test_export_merges_into_a_plain_transformers_model(project):
    from transformers import AutoModelForCausalLM

    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
    out = train.export_merged(cfg, paths, project / "merged")
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert (out / "model.safetensors").is_file() and not any("lora" in n for n, _ in merged.named_parameters())
    from peft import PeftModel

    # the in-memory model keeps the Trainer's bf16 autocast wrapper, so compare with a clean fp32 reload
    adapted = PeftModel.from_pretrained(models.load_model(source), str(paths.adapter_dir)).eval()
    ids = torch.tensor([train_set[0]["input_ids"][:16]])
    with torch.no_grad():
        a, b = adapted(ids).logits, merged(ids).logits
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    # a destination that cannot be written: a clear error before the model is loaded, nothing left behind
    (project / "a-file").write_text("")
    with pytest.raises(RunError, match="(?s)a-file/merged: cannot write the merged model.*give --out a folder"):
        train.export_merged(cfg, paths, project / "a-file" / "merged")
    assert (out / "model.safetensors").is_file() and not list(project.glob(".merged*"))


def test_explicit_4bit_on_cpu_exercises_the_qlora_path(project):
    """No GPU in CI: bitsandbytes' CPU 4-bit path is taken when asked for, and the warning is recorded."""
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    cfg["train"]["quantization"] = "4bit"
    cfg["train"]["bf16"] = True
    plan = train.make_plan(cfg.train)
    model = models.load_model(source, quantization=plan.quantization)
    assert any("Linear4bit" in type(m).__name__ for m in model.modules())
    model = train.attach_lora(model, cfg.train, plan.quantization)
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, plan)
    assert figures["quantization"] == "4bit" and figures["epochs_run"] == 1
    assert any("autograd" in w for w in figures["warnings"])
    assert figures["final_train_loss"] is not None


# ---------------------------------------------------------------------------------------------
# max_steps, the collator (logits only where trained; packing) and the fit verdict
# ---------------------------------------------------------------------------------------------

def test_max_steps_fixes_updates_whatever_the_data_size(project):
    """Arms of different sizes get the same number of updates, and held-out loss is measured 5 times."""
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    cfg["train"].update({"max_steps": 10, "batch_size": 2, "epochs": 1})
    results = {}
    for n_chats in (8, 4):
        arm_paths = runs.RunPaths(project, f"tiny-{n_chats}")
        model = train.attach_lora(models.load_model(source), cfg.train, "none")
        results[n_chats] = train.train(model, tokenizer, train_set.select(range(n_chats)), heldout_set, cfg,
                                       arm_paths, train.make_plan(cfg.train))
    for n_chats, figures in results.items():
        assert figures["global_steps"] == 10 and figures["steps_planned"] == 10 and not figures["stopped_early"]
        assert [p["step"] for p in figures["heldout_loss"]] == [2, 4, 6, 8, 10]
        assert figures["epochs_planned"] == 10 / (n_chats / 2)     # 8 chats: 2.5 epochs; 4 chats: 5
        assert figures["fit"]["evaluations"] == 5
    # the checkpoints kept are complete ones, so a killed run resumes from a step checkpoint
    assert train.complete_checkpoints(runs.RunPaths(project, "tiny-8").checkpoints_dir)[-1].name == "checkpoint-10"


def test_schedule_per_epoch_or_at_fixed_fractions():
    per_epoch = params.Config({"max_steps": None, "epochs": 3, "batch_size": 4, "grad_accum": 1})
    assert train.schedule(per_epoch, 141) == {"max_steps": -1, "steps_planned": 108, "epochs_planned": 3,
                                              "eval_strategy": "epoch", "eval_steps": None}
    fixed = params.Config({**per_epoch, "max_steps": 170})
    assert train.schedule(fixed, 141)["eval_steps"] == 34 and train.schedule(fixed, 436)["epochs_planned"] == 1.56   # 170 / 109
    assert train.updates_per_epoch(9, 4, 2) == 2     # 3 batches, the last accumulation is partial but still steps


@pytest.mark.parametrize("value, message", [(0, "must be positive"), ("100", "should be an integer"), (2.5, "should be an integer")])
def test_max_steps_is_validated(project, value, message):
    (project / "params" / "bad.yaml").write_text(f"extends: tiny\ntrain:\n  max_steps: {value!r}\n".replace("'", '"'))
    with pytest.raises(params.ParamsError, match=message) as err:
        params.resolve("bad", project)
    assert "bad.yaml" in str(err.value)


def _two_chats(tokenizer):
    short = [{"role": "system", "content": ""}, *CHAT[1:3]]
    return [chat.tokenize_chat(tokenizer, CHAT, 64), chat.tokenize_chat(tokenizer, short, 64)]


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_trained_positions_collator_gives_the_plain_loss(tiny_model_dir, bundled_tokenizer, attention):
    """Logits only at trained positions, padded or packed, give the same loss as full logits on a padded batch."""
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation=attention).eval()
    features = _two_chats(bundled_tokenizer)
    strip = lambda fs: [{k: f[k] for k in ("input_ids", "attention_mask", "labels")} for f in fs]  # noqa: E731
    plain = DataCollatorForSeq2Seq(bundled_tokenizer, padding=True, label_pad_token_id=chat.IGNORE)(strip(features))
    with torch.no_grad():
        expected = model(**plain).loss
        for packing in (False, True):
            batch = train.TrainedPositionsCollator(bundled_tokenizer, packing)(features)
            kept = int(batch["logits_to_keep"].sum())
            out = model(**batch)
            assert out.logits.shape[0] == kept == len(batch["shift_labels"])      # no logit for untrained positions
            assert torch.allclose(out.loss, expected, atol=1e-5), (packing, out.loss, expected)
    packed = train.TrainedPositionsCollator(bundled_tokenizer, True)(features)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed      # one row, no padding
    assert (packed["position_ids"][0] == 0).sum() == 2                                # positions restart per chat
    # pad == eos, yet both chats' end-of-turn tokens are still targets
    eos = bundled_tokenizer.eos_token_id
    assert int((packed["shift_labels"] == eos).sum()) == 3                            # 2 replies + 1 reply


def test_packing_trains(project):
    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    cfg["train"].update({"packing": True, "epochs": 2})
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, train.make_plan(cfg.train))
    assert figures["packing"] and figures["epochs_run"] == 2 and len(figures["heldout_loss"]) == 2
    assert figures["heldout_loss"][-1]["loss"] < figures["heldout_loss"][0]["loss"] + 1e-6


def _curves(heldout: list[float], train_losses: list[float]) -> dict:
    return {"heldout_loss": [{"step": 10 * (i + 1), "loss": x} for i, x in enumerate(heldout)],
            "train_loss": [{"step": 5 * (i + 1), "loss": x} for i, x in enumerate(train_losses)]}


def test_fit_diagnosis_underfit_when_train_loss_stays_near_a_falling_heldout_loss():
    # the default run: held-out flattening at ~3.03 as the schedule decays, train loss ~3
    verdict = advice.fit_diagnosis(_curves([3.613, 3.252, 3.091, 3.041, 3.032], [4.2, 3.6, 3.3, 3.0, 2.93, 2.75, 3.07]))
    assert verdict["verdict"] == "underfit" and verdict["heldout_still_falling"]
    assert verdict["train_heldout_gap"] == pytest.approx((3.032 - (2.93 + 2.75 + 3.07) / 3) / 3.032, abs=1e-4)
    assert "still falling" in verdict["reason"] and "higher learning rate" in verdict["reason"]


def test_fit_diagnosis_overfit_when_heldout_rises_from_its_minimum():
    verdict = advice.fit_diagnosis(_curves([2.0, 1.1, 0.9, 1.0, 1.2], [3.0, 1.0, 0.4, 0.1, 0.05, 0.04]))
    assert verdict["verdict"] == "overfit"
    assert verdict["heldout_best"] == 0.9 and verdict["heldout_best_at_evaluation"] == 3
    assert verdict["heldout_rise_from_best"] == pytest.approx(0.3)


def test_fit_diagnosis_fit_with_a_gap_and_no_rise():
    # the trial: held-out 0.87 -> 0.68, train 0.13; a small wobble within the margin is not a rise
    assert advice.fit_diagnosis(_curves([2.5, 1.2, 0.87, 0.72, 0.68], [3.0, 1.5, 0.6, 0.2, 0.13]))["verdict"] == "fit"
    wobble = advice.fit_diagnosis(_curves([2.5, 1.2, 0.87, 0.70, 0.71], [3.0, 1.5, 0.6, 0.2, 0.13]))
    assert wobble["verdict"] == "fit" and not wobble["heldout_still_falling"]


def test_fit_diagnosis_unknown_without_two_evaluations():
    assert advice.fit_diagnosis(_curves([1.0], [2.0]))["verdict"] == "unknown"
    assert advice.fit_diagnosis({})["verdict"] == "unknown"


def test_report_to_hands_the_training_logs_to_an_experiment_tracker(project, monkeypatch):
    from transformers import TrainerCallback
    from transformers.integrations import integration_utils

    logged = []

    class Tracker(TrainerCallback):   # stands in for tensorboard, which is not installed here
        def on_log(self, args, state, control, logs=None, **kwargs):
            logged.append(dict(logs or {}))

    cfg, paths, source, tokenizer, train_set, heldout_set = _setup(project)
    cfg["train"].update({"max_steps": 4, "batch_size": 2, "epochs": 1, "logging_steps": 1, "report_to": ["tensorboard"]})
    if not integration_utils.is_tensorboard_available():
        check = preflight.check_trackers(["tensorboard"])
        assert not check.ok and check.detail == "train.report_to names `tensorboard`, which is not installed"
    monkeypatch.setitem(integration_utils.INTEGRATION_TO_CALLBACK, "tensorboard", Tracker)
    model = train.attach_lora(models.load_model(source), cfg.train, "none")
    train.train(model, tokenizer, train_set.select(range(4)), heldout_set, cfg, paths, train.make_plan(cfg.train))
    assert sum("loss" in row for row in logged) >= 4 and any("eval_loss" in row for row in logged)
    bad = preflight.check_trackers(["tensorbord"])
    assert not bad.ok and "did you mean `tensorboard`?" in bad.fix
    assert preflight.check_trackers([]).ok
