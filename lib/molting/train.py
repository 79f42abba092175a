"""LoRA / QLoRA training on curated chats with transformers' Trainer and peft.

Labels cover the assistant turns only, each including its end-of-turn token, so the model learns
to stop (a collator that masks pad ids would mask EOS too when pad == eos, as in SmolLM2).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import resource
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molting.advice import fit_diagnosis
from molting.chat import IGNORE, build_dataset, uncut_example
from molting.errors import ModelError, ParamsError
from molting.precision import cpu_supports_bf16, store_frozen_linears_in_bf16
from molting.runs import (RunPaths, atomic_write_text, cannot_write, mark_done, staging_folder, swap_in_folder, write_json,
                          writing)
from molting.seeds import training_seed

CHECKPOINT_MARKER = "molting-complete.json"
# with train.max_steps, held-out loss is measured (and a checkpoint saved) this many times per run,
# at the same fractions of training for every arm, whatever its data size
EVALUATIONS_PER_RUN = 5


# ---------------------------------------------------------------------------------------------
# Deciding how to train on this machine
# ---------------------------------------------------------------------------------------------

@dataclass
class TrainPlan:
    """What this machine will actually do for the params: device, quantization, precision, warnings."""

    device: str
    quantization: str
    bf16: bool
    compile: bool = False
    warnings: list[str] = field(default_factory=list)


def make_plan(train_cfg: Any) -> TrainPlan:
    """Resolve quantization `auto` and bf16 `auto` against the hardware, saying loudly what changed."""
    import torch

    cuda = torch.cuda.is_available()
    notes: list[str] = []
    quant = train_cfg.quantization
    if quant == "auto":
        quant = "4bit" if cuda else "none"
        if not cuda:
            notes.append("No CUDA GPU: QLoRA (4-bit) is not possible here, so training falls back to plain LoRA "
                         "on the CPU (quantization: none).")
    elif quant in ("4bit", "8bit") and not cuda:
        notes.append(f"quantization: {quant} was asked for without a CUDA GPU: bitsandbytes runs it on the CPU, "
                     "whose 4-bit autograd kernel is not registered (it warns of possibly incorrect gradients). "
                     "Use it to exercise the QLoRA path, not for results.")
    if quant in ("4bit", "8bit"):
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ModelError(f"quantization: {quant} needs bitsandbytes, which is not installed",
                             where="train.quantization", fix="pip install bitsandbytes, or set quantization: none") from None
    bf16 = train_cfg.bf16
    if bf16 == "auto":
        bf16 = torch.cuda.is_bf16_supported() if cuda else cpu_supports_bf16()
    compile_layers = train_cfg.compile
    if compile_layers == "auto":  # measured on CPU without quantization only; elsewhere it is the user's call
        compile_layers = not cuda and quant == "none" and cpp_compiler() is not None
    elif compile_layers and not cuda and cpp_compiler() is None:
        raise ModelError("train.compile: true needs a C++ compiler on the CPU (torch.compile's CPU backend builds its "
                         "kernels with one), and none was found", where="train.compile",
                         fix="install one (e.g. `apt install g++`), or set train.compile: auto or false")
    return TrainPlan(device="cuda" if cuda else "cpu", quantization=quant, bf16=bool(bf16),
                     compile=bool(compile_layers), warnings=notes)


def cpp_compiler() -> str | None:
    """The C++ compiler torch.compile's CPU backend would build its kernels with (its CXX, else g++ or clang++)."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "clang++"]
    return next((path for path in map(shutil.which, names) if path), None)


def compile_decoder_layers(model: Any) -> int:
    """torch.compile every decoder layer in place (dynamic shapes); return how many.

    Regional compilation: the layers share one compiled graph, so compiling costs ~45 s on 2 cores where the whole
    model took 8 min (a recompile per new batch shape included), and a step runs 1.7x as fast (RESULTS.md, "Compiling
    the decoder layers").
    The layers are the classes transformers names in `_no_split_modules` (LlamaDecoderLayer...); state-dict keys
    are unchanged, so checkpoints and adapters are the same as without it. Kept over accelerate's compile_regions,
    which returns a copy whose layers are OptimizedModule wrappers (state-dict keys gain `_orig_mod.`, checked with
    accelerate 1.15) and compiles the output head as well.
    """
    import torch

    layers = decoder_layers(model)
    for layer in layers:
        layer.compile(dynamic=True)
    # The first layer with trainable weights: the layers below it run forward only (train.lora_layers)
    first = next((i for i, layer in enumerate(layers) if any(p.requires_grad for p in layer.parameters())), None)
    if first is not None:
        # That layer's input is the frozen output of the embeddings (or of the frozen layers below), which needs
        # no grad; every later layer's input does: dynamo guards on that and compiled the first layer's training
        # graph apart. Marked while grad is on (not under no_grad: that would split the held-out graph instead),
        # the adapted layers share one training graph: the first step of a cold compile 30 s against 48 s for
        # the bundled model on 2 cores, later steps unchanged (2026-12-07). transformers'
        # enable_input_require_grads marks it under no_grad too.
        def input_requires_grad(module: Any, inputs: Any, output: Any) -> None:
            if torch.is_grad_enabled():
                (output[0] if isinstance(output, tuple) else output).requires_grad_(True)

        below = layers[first - 1] if first else model.get_input_embeddings()
        below.register_forward_hook(input_requires_grad)
    return len(layers)


# ---------------------------------------------------------------------------------------------
# Checkpoints that are known complete
# ---------------------------------------------------------------------------------------------

def complete_checkpoints(folder: Path) -> list[Path]:
    """checkpoint-N folders holding the completion marker, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and (p / CHECKPOINT_MARKER).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def discard_incomplete_checkpoints(folder: Path) -> list[str]:
    """Delete checkpoint folders without the marker (half-written by an interrupted save)."""
    removed = []
    if folder.is_dir():
        for path in folder.glob("checkpoint-*"):
            if path.is_dir() and not (path / CHECKPOINT_MARKER).is_file():
                shutil.rmtree(path)
                removed.append(path.name)
    return sorted(removed)


def _marker_callback():
    from transformers import TrainerCallback

    class MarkCheckpointComplete(TrainerCallback):
        """Writes the marker after the Trainer has finished writing a checkpoint."""

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    atomic_write_text(folder / CHECKPOINT_MARKER,
                                      json.dumps({"global_step": state.global_step, "epoch": state.epoch}) + "\n")
            return control

    return MarkCheckpointComplete()


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

class TrainedPositionsCollator:
    """Pads (or packs) chats into a batch and asks the model for logits only where a label is trained.

    The LM head and the fp32 cross-entropy over a 49k vocabulary cost ~20% of a step for SmolLM2;
    prompts, system turns and padding need no logits, so `logits_to_keep` (a boolean mask) and
    `shift_labels` (the kept positions' targets) skip them. With packing the batch's chats are
    concatenated into one row with restarting position_ids (transformers' DataCollatorWithFlattening),
    which SDPA turns into a block-diagonal causal mask: no padding at all.
    """

    def __init__(self, tokenizer: Any, packing: bool):
        from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

        self.inner = (DataCollatorWithFlattening(separator_id=IGNORE) if packing else
                      DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE))

    def __call__(self, features: list[dict]) -> dict:
        import torch

        features = [{k: f[k] for k in ("input_ids", "attention_mask", "labels") if k in f} for f in features]
        batch = self.inner(features)
        labels = batch["labels"]
        targets = torch.nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE)   # the token each position predicts
        keep = targets != IGNORE
        batch["logits_to_keep"] = keep
        batch["shift_labels"] = targets[keep]
        # no KV cache in training; and with one, transformers 5 skips the packed (block-diagonal) mask, so
        # packed chats would attend to each other (tests/test_train.py catches it)
        batch["use_cache"] = False
        return batch


def use_fastest_attention(model: Any, device: str) -> str:
    """On CPU train with eager attention: for chats of ~100-200 tokens in bf16, SDPA's CPU flash kernel
    took ~15% of a step in its backward alone, and eager measured 10-30% more tokens/s; return the choice."""
    if device == "cpu" and model.config._attn_implementation != "eager":
        model.set_attn_implementation("eager")
    return model.config._attn_implementation


def updates_per_epoch(n_chats: int, batch_size: int, grad_accum: int, world_size: int = 1) -> int:
    """Optimizer updates in one pass over n_chats (the Trainer's count: a last partial batch still steps)."""
    batches = math.ceil(n_chats / (batch_size * world_size))
    return max(math.ceil(batches / grad_accum), 1)


def schedule(train_cfg: Any, n_chats: int, world_size: int = 1) -> dict:
    """How long training runs and when held-out loss is measured: per epoch, or with max_steps at fixed fractions."""
    per_epoch = updates_per_epoch(n_chats, train_cfg.batch_size, train_cfg.grad_accum, world_size)
    if train_cfg.max_steps is None:
        return {"max_steps": -1, "steps_planned": per_epoch * train_cfg.epochs, "epochs_planned": train_cfg.epochs,
                "eval_strategy": "epoch", "eval_steps": None}
    every = max(math.ceil(train_cfg.max_steps / EVALUATIONS_PER_RUN), 1)
    return {"max_steps": train_cfg.max_steps, "steps_planned": train_cfg.max_steps,
            "epochs_planned": round(train_cfg.max_steps / per_epoch, 2), "eval_strategy": "steps", "eval_steps": every}


# What the CPU figure is, as the report shows it: the peak RSS counts freed memory that molting's allocator tuning
# keeps (molting/__init__.py), so one reading says little: six identical 60-step runs peaked at 3.5-5.1 GiB
# (RESULTS.md, training sweep, 2026-12-07)
CPU_PEAK_KIND = ("process peak RSS: counts freed memory the allocator keeps, so identical CPU runs differ by up to "
                 "~40%")


def peak_memory_mb(device: str) -> float:
    """GPU max_memory_allocated, or the process's peak RSS on CPU, in MiB."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def attach_lora(model: Any, train_cfg: Any, quantization: str, seed: int | None = None) -> Any:
    """Wrap the model with LoRA adapters (after k-bit preparation for QLoRA); `seed` fixes their random init
    (the training seed: seed replicas differ in it)."""
    import torch
    from peft import get_peft_model, prepare_model_for_kbit_training

    if seed is not None:
        torch.manual_seed(seed)
    if quantization in ("4bit", "8bit"):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return get_peft_model(model, lora_config(model, train_cfg))


def lora_config(model: Any, train_cfg: Any) -> Any:
    """The peft LoraConfig the params `train` section asks for on this model."""
    from peft import LoraConfig

    targets, layers = train_cfg.target_modules, adapted_layers(model, train_cfg.lora_layers)
    if targets != "all-linear":
        check_target_modules(model, targets)
    if layers is not None and targets == "all-linear":
        targets = linear_module_names(model)   # peft takes layers_to_transform with a list of names only
    return LoraConfig(r=train_cfg.lora_r, lora_alpha=train_cfg.lora_alpha, lora_dropout=train_cfg.lora_dropout,
                      target_modules=targets if isinstance(targets, str) else list(targets), layers_to_transform=layers,
                      task_type="CAUSAL_LM", bias="none")


def check_target_modules(model: Any, targets: list[str]) -> None:
    """Every name in train.target_modules must name a layer of the model: peft matches a list by name suffix and
    stops only where none matches, so a misspelt name among right ones trained with fewer adapters, silently."""
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(name == t or name.endswith("." + t) for name in names)]
    if missing:
        linear = linear_module_names(model)
        close = [match for t in missing for match in difflib.get_close_matches(t, linear, n=1)]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ParamsError(f"train.target_modules names {', '.join(map(repr, missing))}, which this model has no layer of",
                          where="train.target_modules",
                          fix=f"{hint}its linear layers are {', '.join(linear)}; or use \"all-linear\"")


def decoder_layers(model: Any) -> list[Any]:
    """The model's decoder layers in order: the classes transformers names in `_no_split_modules`."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(base, "_no_split_modules", None) or [])
    return [m for m in base.modules() if type(m).__name__ in names]


def adapted_layers(model: Any, last: int | None) -> list[int] | None:
    """Indices of the decoder layers that get adapters for `train.lora_layers` (None: every layer)."""
    if last is None:
        return None
    total = len(decoder_layers(model))
    if last > total:
        raise ParamsError(f"train.lora_layers is {last} but the model has {total} decoder layers", where="train.lora_layers",
                          fix=f"give a number from 1 to {total}, or null for every layer")
    return None if last == total else list(range(total - last, total))


def linear_module_names(model: Any) -> list[str]:
    """The names of the model's linear layers but the output head: what peft's "all-linear" selects."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and module is not head})


def count_params(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def train(model: Any, tokenizer: Any, train_set: Any, heldout_set: Any, cfg: Any, paths: RunPaths, plan: TrainPlan) -> dict:
    """Train LoRA adapters with the Trainer, resuming from the last complete checkpoint; return train.json. Holds the
    version's lock while it trains (runs.writing): in JupyterLab, a `molt run` of the version meanwhile stops."""
    with writing(paths):
        return _fit(model, tokenizer, train_set, heldout_set, cfg, paths, plan)


def _fit(model: Any, tokenizer: Any, train_set: Any, heldout_set: Any, cfg: Any, paths: RunPaths, plan: TrainPlan) -> dict:
    import torch
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    t = cfg.train
    seed = training_seed(cfg)
    set_seed(seed)
    out = paths.checkpoints_dir
    discarded = discard_incomplete_checkpoints(out)
    resume = complete_checkpoints(out)
    resume_from = str(resume[-1]) if resume else None
    # read now: the Trainer's checkpoint rotation may delete the resumed checkpoint later
    start_epoch = float(json.loads((resume[-1] / CHECKPOINT_MARKER).read_text())["epoch"]) if resume else 0.0
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    plan_steps = schedule(t, len(train_set), world_size)
    if plan.bf16 and plan.quantization == "none":
        store_frozen_linears_in_bf16(model)
    attention = use_fastest_attention(model, plan.device)
    compiled_layers = compile_decoder_layers(model) if plan.compile else 0
    args = TrainingArguments(
        output_dir=str(out),
        num_train_epochs=t.epochs,
        max_steps=plan_steps["max_steps"],   # -1: epochs decide
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=t.weight_decay,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        eval_strategy=plan_steps["eval_strategy"],
        eval_steps=plan_steps["eval_steps"],
        save_strategy=plan_steps["eval_strategy"],   # a checkpoint at every evaluation: the best one can be kept
        save_steps=plan_steps["eval_steps"],
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        prediction_loss_only=True,   # held-out loss only: gathering every eval logit costs ~0.5 GB for nothing
        # similar lengths per batch: less padding paid for (packed rows have none, so order stays random)
        train_sampling_strategy="random" if t.packing else "group_by_length",
        length_column_name="length",
        bf16=plan.bf16,
        use_cpu=plan.device == "cpu",
        seed=seed,
        data_seed=seed,
        report_to=list(t.report_to) or "none",
        dataloader_num_workers=0,
        disable_tqdm=False,
        remove_unused_columns=False,   # the collator drops `length` itself
    )
    callbacks = [_marker_callback()]
    if t.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=heldout_set,
                      data_collator=TrainedPositionsCollator(tokenizer, t.packing), callbacks=callbacks)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trainer.train(resume_from_checkpoint=resume_from)
    wall = time.perf_counter() - start
    library_warnings = sorted({str(w.message).splitlines()[0][:300] for w in caught
                               if "bitsandbytes" in str(w.message) or "autograd" in str(w.message)})
    if is_main_process():
        save_adapter(trainer.model, paths.adapter_dir)
    history = trainer.state.log_history
    epochs_run = float(trainer.state.epoch or 0)
    # non-pad tokens actually trained in this session (a resumed run did not redo earlier epochs)
    tokens_this_session = sum(train_set["length"]) * max(epochs_run - start_epoch, 0)
    train_losses = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"]} for h in history if "loss" in h]
    eval_losses = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["eval_loss"]} for h in history if "eval_loss" in h]
    trainable, total = count_params(trainer.model)
    figures = {
        "device": plan.device,
        "device_name": torch.cuda.get_device_name(0) if plan.device == "cuda" else _cpu_name(),
        "quantization_requested": t.quantization,
        "quantization": plan.quantization,
        "bf16": plan.bf16,
        "warnings": plan.warnings + library_warnings,
        "resumed_from": Path(resume_from).name if resume_from else None,
        "discarded_incomplete_checkpoints": discarded,
        "epochs_planned": plan_steps["epochs_planned"],
        "epochs_run": round(epochs_run, 3),
        "max_steps": t.max_steps,
        "training_seed": seed,
        "steps_planned": trainer.state.max_steps,   # the Trainer's own count of updates for this run
        "stopped_early": trainer.state.global_step < trainer.state.max_steps,
        "global_steps": trainer.state.global_step,
        "packing": t.packing,
        "attention": attention,
        "compiled_layers": compiled_layers,   # decoder layers run through torch.compile (0: eager)
        "best_checkpoint": Path(trainer.state.best_model_checkpoint).name if trainer.state.best_model_checkpoint else None,
        "best_heldout_loss": trainer.state.best_metric,
        "final_train_loss": train_losses[-1]["loss"] if train_losses else None,
        "mean_train_loss": result.training_loss,
        "final_heldout_loss": eval_losses[-1]["loss"] if eval_losses else None,
        "train_loss": train_losses,
        "heldout_loss": eval_losses,
        "wall_time_s": round(wall, 2),
        "train_tokens_per_epoch": int(sum(train_set["length"])),
        "tokens_per_s": round(tokens_this_session / wall, 1) if wall > 0 else None,
        "peak_memory_mb": round(peak_memory_mb(plan.device), 1),
        "peak_memory_kind": "GPU max_memory_allocated" if plan.device == "cuda" else CPU_PEAK_KIND,
        "trainable_params": trainable,
        "total_params": total,
        "torch_threads": torch.get_num_threads(),
    }
    figures["fit"] = fit_diagnosis(figures)
    return figures


def save_adapter(model: Any, folder: Path) -> None:
    """Write the PEFT adapter into a temp folder, then swap it in (never half an adapter on disk)."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp))
    swap_in_folder(tmp, folder)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    import platform

    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def save_train_json(paths: RunPaths, figures: dict) -> None:
    """train.json, atomically."""
    write_json(paths.train_json, figures)


@dataclass
class StageData:
    """What stage 02 trains on: the model source, its tokenizer, both tokenised splits and their statistics."""

    source: Any
    tokenizer: Any
    train_set: Any
    heldout_set: Any
    stats: list[dict]


# Stage 02 as steps: the notebook calls them one per cell, `train_version` (molt train) in the same order.
def prepare_data(cfg: Any, paths: RunPaths) -> StageData:
    """The tokenizer and the curated splits, tokenised with the assistant-only labels."""
    from molting import models
    from molting.runs import read_jsonl

    source = models.source_for(cfg)
    tokenizer = models.tokenizer_for(cfg)
    splits = {name: build_dataset(read_jsonl(path), tokenizer, cfg.train.max_length, cfg.data.system_prompt)
              for name, path in (("train", paths.train_jsonl), ("held-out", paths.heldout_jsonl))}
    return StageData(source, tokenizer, splits["train"][0], splits["held-out"][0],
                     [{"split": name, **stats} for name, (_, stats) in splits.items()])


def check_before_training(cfg: Any, data: StageData, paths: RunPaths) -> tuple[TrainPlan, list]:
    """The plan (device, precision, quantization; its warnings printed) and the preflight checks, saved to
    preflight.json; `preflight.assert_passed(checks)` stops before any training time is spent."""
    from molting import models, preflight

    plan = make_plan(cfg.train)
    for warning in plan.warnings:
        print("WARNING:", warning, file=sys.stderr)
    checks = preflight.run_checks(models.local_folder(data.source), data.tokenizer,
                                  uncut_example(data.train_set, cfg.train.max_length), plan, cfg.train,
                                  cfg.model.trust_remote_code)
    write_json(paths.preflight_json, preflight.as_rows(checks))
    return plan, checks


def model_for_training(cfg: Any, data: StageData, plan: TrainPlan) -> Any:
    """The base model (quantized as planned) with a fresh LoRA adapter seeded by the version's training seed."""
    from molting import models

    model = models.load_model(data.source, trust_remote_code=cfg.model.trust_remote_code, quantization=plan.quantization)
    return attach_lora(model, cfg.train, plan.quantization, training_seed(cfg))


def finish_stage(paths: RunPaths, figures: dict) -> None:
    """train.json, then the stage's completion marker (the main process only), holding the version's lock."""
    if is_main_process():
        with writing(paths):
            save_train_json(paths, figures)
            mark_done(paths, "02-train", final_train_loss=figures["final_train_loss"],
                      best_heldout_loss=figures["best_heldout_loss"])


def train_version(cfg: Any, paths: RunPaths) -> dict:
    """Stage 02 without the notebook (for `molt train` and `accelerate launch`): the notebook's steps, in order."""
    from molting import preflight

    data = prepare_data(cfg, paths)
    plan, checks = check_before_training(cfg, data, paths)
    preflight.assert_passed(checks)
    model = model_for_training(cfg, data, plan)
    figures = train(model, data.tokenizer, data.train_set, data.heldout_set, cfg, paths, plan)
    finish_stage(paths, figures)
    return figures


def is_main_process() -> bool:
    """True in a single process, and in rank 0 under accelerate/torchrun."""
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0


def export_merged(cfg: Any, paths: RunPaths, out: Path) -> Path:
    """Merge the version's adapter into its base model and save a plain transformers folder (safetensors)."""
    from peft import PeftModel

    from molting import models

    if not (paths.adapter_dir / "adapter_config.json").is_file():
        raise ModelError("this version has no trained adapter", where=str(paths.adapter_dir),
                         fix=f"run `molt run {paths.version}` first")
    out = Path(out)

    def unwritable(exc: OSError) -> Exception:
        return cannot_write(out, exc, what="the merged model", fix="give --out a folder you can write to, with room for "
                            "the model (a folder already there is replaced only once the new one is complete)")

    try:   # before the model is loaded and merged: a folder that cannot be written fails at once
        staging = staging_folder(out)
    except OSError as exc:
        raise unwritable(exc) from None
    try:
        source = models.source_for(cfg)
        tokenizer = models.tokenizer_for(cfg)   # with the params' chat template: the merged model carries it
        merged = PeftModel.from_pretrained(models.load_model(source, trust_remote_code=cfg.model.trust_remote_code),
                                           str(paths.adapter_dir)).merge_and_unload()
        try:
            merged.save_pretrained(str(staging), safe_serialization=True)
            tokenizer.save_pretrained(str(staging))
            swap_in_folder(staging, out)
        except OSError as exc:
            raise unwritable(exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)   # swapped in (gone) once complete; otherwise half written
    return out
