"""LoRA / QLoRA training on curated chats with transformers' Trainer and peft.

Labels cover the assistant turns only, each including its end-of-turn token, so the model learns
to stop (a collator that masks pad ids would mask EOS too when pad == eos, as in SmolLM2).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molting.data import with_system_prompt
from molting.errors import ModelError
from molting.runs import RunPaths, atomic_write_text, swap_in_folder, write_json

CHECKPOINT_MARKER = "molting-complete.json"
IGNORE = -100


# ---------------------------------------------------------------------------------------------
# Tokenisation with assistant-only labels
# ---------------------------------------------------------------------------------------------

def assistant_char_spans(tokenizer: Any, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered chat and the character spans of each assistant reply (with its end-of-turn)."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        # render the prefix with the generation prompt: the reply starts where the prompt ends
        start = len(tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True))
        end = len(tokenizer.apply_chat_template(messages[: i + 1], tokenize=False))
        if text[:end] != tokenizer.apply_chat_template(messages[: i + 1], tokenize=False):
            raise ModelError("the chat template renders a prefix differently from the whole chat",
                             where="chat template", fix="use a model whose template renders turns incrementally")
        spans.append((start, end))
    return text, spans


def tokenize_chat(tokenizer: Any, messages: list[dict], max_length: int) -> dict:
    """input_ids, attention_mask and labels (-100 outside assistant replies), cut at max_length."""
    text, spans = assistant_char_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = []
    for token_id, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"]):
        inside = any(s <= start and end <= e and end > start for s, e in spans)
        labels.append(token_id if inside else IGNORE)
    full_length = len(encoded["input_ids"])
    return {
        "input_ids": encoded["input_ids"][:max_length],
        "attention_mask": encoded["attention_mask"][:max_length],
        "labels": labels[:max_length],
        "length": min(full_length, max_length),
        "cut": full_length > max_length,
    }


def label_view(tokenizer: Any, example: dict) -> list[dict]:
    """One row per token: the token text and whether its loss is trained (for the notebook)."""
    return [{"position": i, "token": tokenizer.decode([tid]), "trained": label != IGNORE}
            for i, (tid, label) in enumerate(zip(example["input_ids"], example["labels"]))]


def label_mask_text(tokenizer: Any, example: dict) -> str:
    """The example's text with trained tokens inside [[...]]: which tokens the loss sees."""
    out, inside = [], False
    for token_id, label in zip(example["input_ids"], example["labels"]):
        trained = label != IGNORE
        if trained != inside:
            out.append("[[" if trained else "]]")
            inside = trained
        out.append(tokenizer.decode([token_id]))
    return "".join(out) + ("]]" if inside else "")


def token_counter(tokenizer: Any, system_prompt: str | None) -> Any:
    """A function giving a chat's length in tokens as it will be trained."""
    def count(chat: dict) -> int:
        text = tokenizer.apply_chat_template(with_system_prompt(chat["messages"], system_prompt), tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def build_dataset(chats: list[dict], tokenizer: Any, max_length: int, system_prompt: str | None) -> tuple[Any, dict]:
    """A datasets.Dataset of tokenised chats, and counts (chats, tokens, cut at max_length)."""
    import datasets

    rows = [tokenize_chat(tokenizer, with_system_prompt(chat["messages"], system_prompt), max_length) for chat in chats]
    stats = {"chats": len(rows), "tokens": sum(r["length"] for r in rows),
             "trained_tokens": sum(sum(1 for x in r["labels"] if x != IGNORE) for r in rows),
             "cut_at_max_length": sum(r["cut"] for r in rows)}
    columns = {k: [r[k] for r in rows] for k in ("input_ids", "attention_mask", "labels", "length")}
    return datasets.Dataset.from_dict(columns), stats


# ---------------------------------------------------------------------------------------------
# Deciding how to train on this machine
# ---------------------------------------------------------------------------------------------

@dataclass
class TrainPlan:
    """What this machine will actually do for the params: device, quantization, precision, warnings."""

    device: str
    quantization: str
    bf16: bool
    warnings: list[str] = field(default_factory=list)


def cpu_supports_bf16() -> bool:
    """Whether the CPU has native bf16 (AVX512-BF16 / AMX), where autocast pays off (~1.8x here)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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
    return TrainPlan(device="cuda" if cuda else "cpu", quantization=quant, bf16=bool(bf16), warnings=notes)


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

def peak_memory_mb(device: str) -> float:
    """GPU max_memory_allocated, or the process's peak RSS on CPU, in MiB."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def attach_lora(model: Any, train_cfg: Any, quantization: str) -> Any:
    """Wrap the model with LoRA adapters (after k-bit preparation for QLoRA)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantization in ("4bit", "8bit"):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lora = LoraConfig(r=train_cfg.lora_r, lora_alpha=train_cfg.lora_alpha, lora_dropout=train_cfg.lora_dropout,
                      target_modules=train_cfg.target_modules, task_type="CAUSAL_LM", bias="none")
    return get_peft_model(model, lora)


def count_params(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def train(model: Any, tokenizer: Any, train_set: Any, heldout_set: Any, cfg: Any, paths: RunPaths, plan: TrainPlan) -> dict:
    """Train LoRA adapters with the Trainer, resuming from the last complete checkpoint; return train.json."""
    import torch
    from transformers import DataCollatorForSeq2Seq, EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    t = cfg.train
    set_seed(cfg.seed)
    out = paths.checkpoints_dir
    discarded = discard_incomplete_checkpoints(out)
    resume = complete_checkpoints(out)
    resume_from = str(resume[-1]) if resume else None
    # read now: the Trainer's checkpoint rotation may delete the resumed checkpoint later
    start_epoch = float(json.loads((resume[-1] / CHECKPOINT_MARKER).read_text())["epoch"]) if resume else 0.0
    args = TrainingArguments(
        output_dir=str(out),
        num_train_epochs=t.epochs,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=t.weight_decay,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding paid for
        length_column_name="length",
        bf16=plan.bf16,
        use_cpu=plan.device == "cpu",
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=False,
        remove_unused_columns=True,
    )
    callbacks = [_marker_callback()]
    if t.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE, pad_to_multiple_of=8)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=heldout_set,
                      data_collator=collator, callbacks=callbacks)
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
    return {
        "device": plan.device,
        "device_name": torch.cuda.get_device_name(0) if plan.device == "cuda" else _cpu_name(),
        "quantization_requested": t.quantization,
        "quantization": plan.quantization,
        "bf16": plan.bf16,
        "warnings": plan.warnings + library_warnings,
        "resumed_from": Path(resume_from).name if resume_from else None,
        "discarded_incomplete_checkpoints": discarded,
        "epochs_planned": t.epochs,
        "epochs_run": round(epochs_run, 3),
        "stopped_early": epochs_run < t.epochs - 1e-6,
        "global_steps": trainer.state.global_step,
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
        "peak_memory_kind": "GPU max_memory_allocated" if plan.device == "cuda" else "process peak RSS",
        "trainable_params": trainable,
        "total_params": total,
        "torch_threads": torch.get_num_threads(),
    }


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


def train_version(cfg: Any, paths: RunPaths) -> dict:
    """Stage 02 without the notebook (for `molt train` and `accelerate launch`): the same calls, in order."""
    from molting import models, preflight
    from molting.runs import mark_done, read_jsonl, write_json

    source = models.resolve_source(cfg.model.source, cfg.model.revision, Path(cfg.root))
    tokenizer = models.load_tokenizer(source, cfg.model.trust_remote_code)
    train_set, _ = build_dataset(read_jsonl(paths.train_jsonl), tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    heldout_set, _ = build_dataset(read_jsonl(paths.heldout_jsonl), tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    plan = make_plan(cfg.train)
    for warning in plan.warnings:
        print("WARNING:", warning, file=sys.stderr)
    checks = preflight.run_checks(models.local_folder(source), tokenizer, train_set[0], plan, cfg.train,
                                  cfg.model.trust_remote_code)
    write_json(paths.run_dir / "preflight.json", preflight.as_rows(checks))
    preflight.assert_passed(checks)
    model = attach_lora(models.load_model(source, trust_remote_code=cfg.model.trust_remote_code,
                                          quantization=plan.quantization), cfg.train, plan.quantization)
    figures = train(model, tokenizer, train_set, heldout_set, cfg, paths, plan)
    if is_main_process():
        save_train_json(paths, figures)
        mark_done(paths, "02-train", final_train_loss=figures["final_train_loss"],
                  best_heldout_loss=figures["best_heldout_loss"])
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
    source = models.resolve_source(cfg.model.source, cfg.model.revision, Path(cfg.root))
    tokenizer = models.load_tokenizer(source, cfg.model.trust_remote_code)
    merged = PeftModel.from_pretrained(models.load_model(source, trust_remote_code=cfg.model.trust_remote_code),
                                       str(paths.adapter_dir)).merge_and_unload()
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    swap_in_folder(tmp, out)
    return out
