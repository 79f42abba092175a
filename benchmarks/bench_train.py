"""Training: Molting's LoRA stage against a plain TRL SFTTrainer script with its defaults, in one run.

Usage: python benchmarks/bench_train.py [--quick] [--device cpu|cuda] [--model SOURCE] [--epochs N]

Both train the same model on the same curated sample data (v2.1's curation), with the same LoRA config
(r, alpha, dropout, target modules) and epochs, each in its own process so peak memory is its own.
Printed for both: non-pad tokens/s, peak memory (process RSS on CPU, max_memory_allocated on GPU),
held-out loss (mean cross-entropy over the assistant tokens of the held-out chats, the same function
for both), and the ratios; plus MFU = 6 * params * tokens/s / peak matmul FLOP/s measured here.
Targets: >= 1.5x TRL's tokens/s, <= its peak memory, held-out loss no worse.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))


def curated_split(quick: bool) -> tuple[list[dict], list[dict]]:
    """v2.1's curated train/held-out split of the sample data (smaller with --quick)."""
    from molting import curate, params, patterns
    from molting.data import load_chats

    cfg = params.resolve("v2.1", ROOT)
    cfg["root"] = str(ROOT)
    result = curate.curate(load_chats(ROOT / "data" / "sample" / "raw.jsonl").chats, cfg,
                           library=patterns.load_library(), persona=params.read_yaml(ROOT / "data" / "sample" / "persona.yaml"))
    train, heldout = result.train, result.heldout
    return (train[:8], heldout[:4]) if quick else (train, heldout)


def peak_flops(device: str) -> tuple[float, str]:
    """Measured matmul FLOP/s on this machine (bf16 where supported, else fp32)."""
    import torch

    from molting.precision import cpu_supports_bf16

    dtype = torch.bfloat16 if (device == "cuda" or cpu_supports_bf16()) else torch.float32
    n = 4096 if device == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    reps = 50 if device == "cuda" else 10
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start), str(dtype).replace("torch.", "")


def heldout_loss(model, tokenizer, heldout: list[dict], max_length: int) -> float:
    """Mean assistant-token cross-entropy on the held-out chats (Molting's perplexity function, log)."""
    from molting.evaluate import heldout_perplexity

    model.eval()
    return math.log(heldout_perplexity(model, tokenizer, heldout, "", max_length))


def worker_molting(args, train_chats, heldout_chats, out: Path) -> dict:
    """Molting's stage 02: Trainer, assistant-only labels, length-grouped batches, bf16 autocast on CPU."""
    from molting import chat, models, params, runs, train

    cfg = params.resolve("v2.1", ROOT)
    cfg["root"] = str(ROOT)
    cfg["model"]["source"] = args.model
    cfg["train"]["epochs"] = args.epochs
    cfg["train"]["max_steps"] = None     # epochs decide, as for TRL (v2.1 inherits v1's max_steps, which would win)
    cfg["train"]["early_stopping_patience"] = 0
    paths = runs.RunPaths(out, "bench")
    source = models.resolve_source(args.model, root=ROOT)
    tokenizer = models.load_tokenizer(source)
    train_set, stats = chat.build_dataset(train_chats, tokenizer, cfg.train.max_length, "")
    heldout_set, _ = chat.build_dataset(heldout_chats, tokenizer, cfg.train.max_length, "")
    plan = train.make_plan(cfg.train)
    model = train.attach_lora(models.load_model(source, quantization=plan.quantization), cfg.train, plan.quantization)
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, plan)
    model = _reload(source, paths.adapter_dir)
    return {"tokens_per_s": figures["tokens_per_s"], "peak_memory_mb": figures["peak_memory_mb"],
            "wall_time_s": figures["wall_time_s"], "heldout_loss": heldout_loss(model, tokenizer, heldout_chats, 256),
            "params": figures["total_params"], "setup": f"Trainer, bf16={plan.bf16}, quantization={plan.quantization}"}


def _reload(source, adapter_dir):
    from peft import PeftModel

    from molting import models

    return PeftModel.from_pretrained(models.load_model(source), str(adapter_dir))


def worker_trl(args, train_chats, heldout_chats, out: Path) -> dict:
    """A plain TRL script: SFTTrainer with SFTConfig defaults, the same LoRA config, epochs and data."""
    import datasets
    import torch
    from trl import SFTConfig, SFTTrainer

    from molting import models, params, train

    cfg = params.resolve("v2.1", ROOT)
    source = models.resolve_source(args.model, root=ROOT)
    tokenizer = models.load_tokenizer(source)
    model = models.load_model(source)
    to_rows = lambda chats: datasets.Dataset.from_list(  # noqa: E731
        [{"messages": [{"role": "system", "content": ""}, *c["messages"]]} for c in chats])
    config = SFTConfig(output_dir=str(out / "trl"), num_train_epochs=args.epochs, report_to="none", save_strategy="no",
                       use_cpu=args.device == "cpu", logging_steps=10)
    lora = train.lora_config(model, cfg.train)   # the same adapters as Molting's
    trainer = SFTTrainer(model=model, args=config, train_dataset=to_rows(train_chats), processing_class=tokenizer,
                         peft_config=lora)
    non_pad = sum(sum(row["attention_mask"]) if "attention_mask" in row else len(row["input_ids"])
                  for row in trainer.train_dataset)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else train.peak_memory_mb("cpu")
    trainer.model.save_pretrained(str(out / "trl-adapter"))
    model = _reload(source, out / "trl-adapter")
    return {"tokens_per_s": round(non_pad * args.epochs / wall, 1), "peak_memory_mb": round(peak, 1),
            "wall_time_s": round(wall, 2), "heldout_loss": heldout_loss(model, tokenizer, heldout_chats, 256),
            "params": sum(p.numel() for p in model.parameters()),
            "setup": f"SFTTrainer defaults (bf16={config.bf16}, gradient_checkpointing={config.gradient_checkpointing}, "
                     f"lr={config.learning_rate}, max_length={config.max_length})"}


def run_worker(name: str, args) -> dict:
    """Run one trainer in a fresh process and read its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        cmd = [sys.executable, __file__, "--worker", name, "--out", str(out), "--device", args.device,
               "--model", args.model, "--epochs", str(args.epochs)] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 chats, 1 epoch: a smoke run")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="bundled:smollm2-135m-instruct")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--worker", choices=["molting", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.epochs = args.epochs or (1 if args.quick else 5)
    if args.worker:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        train_chats, heldout_chats = curated_split(args.quick)
        with tempfile.TemporaryDirectory() as tmp:
            fn = worker_molting if args.worker == "molting" else worker_trl
            Path(args.out).write_text(json.dumps(fn(args, train_chats, heldout_chats, Path(tmp))))
        return 0
    flops, dtype = peak_flops(args.device)
    results = {name: run_worker(name, args) for name in ("molting", "trl")}
    m, t = results["molting"], results["trl"]
    print(f"model {args.model}, {args.epochs} epoch(s), device {args.device}; matmul peak {flops / 1e9:,.0f} GFLOP/s ({dtype})")
    print("| figure | Molting | TRL SFTTrainer | ratio | target |\n|---|---|---|---|---|")
    print(f"| tokens/s (non-pad) | {m['tokens_per_s']:,.0f} | {t['tokens_per_s']:,.0f} | {m['tokens_per_s'] / t['tokens_per_s']:.2f}x | >= 1.5x |")
    print(f"| peak memory (MiB) | {m['peak_memory_mb']:,.0f} | {t['peak_memory_mb']:,.0f} | {m['peak_memory_mb'] / t['peak_memory_mb']:.2f}x | <= 1.0x |")
    print(f"| held-out loss | {m['heldout_loss']:.3f} | {t['heldout_loss']:.3f} | {m['heldout_loss'] - t['heldout_loss']:+.3f} | <= +0.000 |")
    print(f"| wall time (s) | {m['wall_time_s']:,.0f} | {t['wall_time_s']:,.0f} | {m['wall_time_s'] / t['wall_time_s']:.2f}x | |")
    for name, r in results.items():
        print(f"| MFU {name} | {6 * r['params'] * r['tokens_per_s'] / flops:.2%} | | | |")
    print(f"setups: Molting: {m['setup']}; TRL: {t['setup']}")
    print("JSON " + json.dumps({"molting": m, "trl": t, "peak_flops": flops}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
