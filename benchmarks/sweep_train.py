"""Training sweep: which LoRA settings make the bundled model fit the curated sample within the CPU budget?

Usage: python benchmarks/sweep_train.py [--quick] [--steps N] [--configs NAME,NAME] [--version v2.1] [--project DIR]

Each setting trains the bundled SmolLM2-135M-Instruct with the project's own training code on the version's
curated train split (runs/<version>/data/, from its 01-curate stage) for the same number of optimizer updates, then reports:
best held-out loss (held-out chats share no reply sentence with training), final train loss, the fit verdict
from the loss curves, seconds per update, and factual accuracy on the suite's fact questions (greedy answer +
3 seeded samples each, scored by the suite's regexes). The defaults in params/ are chosen from this table
(benchmarks/RESULTS.md); the suite's questions are never trained on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from molting import chat, curate, evaluate, models, params, runs, seeds, suite, train  # noqa: E402

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
CONFIGS = {
    "lr2e-4-attn": {"learning_rate": 2e-4, "target_modules": ATTENTION},
    "lr1e-3-attn": {"learning_rate": 1e-3, "target_modules": ATTENTION},
    "lr1e-3-all": {"learning_rate": 1e-3, "target_modules": "all-linear"},
    "lr2e-3-all": {"learning_rate": 2e-3, "target_modules": "all-linear"},
    "lr1e-3-all-r32": {"learning_rate": 1e-3, "target_modules": "all-linear", "lora_r": 32, "lora_alpha": 64},
    "lr1e-3-all-bs8": {"learning_rate": 1e-3, "target_modules": "all-linear", "batch_size": 8},
    "lr2e-3-all-pack": {"learning_rate": 2e-3, "target_modules": "all-linear", "packing": True},
    "lr2e-3-all-r32": {"learning_rate": 2e-3, "target_modules": "all-linear", "lora_r": 32, "lora_alpha": 64},
    "lr2e-3-all-r64": {"learning_rate": 2e-3, "target_modules": "all-linear", "lora_r": 64, "lora_alpha": 128},
    "lr2e-3-all-top15": {"learning_rate": 2e-3, "target_modules": "all-linear", "lora_layers": 15},
    "lr2e-3-all-top20": {"learning_rate": 2e-3, "target_modules": "all-linear", "lora_layers": 20},
}


def curated_split(version: str, project: Path) -> tuple[list[dict], list[dict]]:
    """The version's curated train and held-out chats, as its 01-curate stage writes them (run first if missing)."""
    from molting import runner

    paths = runs.RunPaths(project, version)
    if not runs.is_done(paths, "01-curate"):
        runner.run_version(version, project, only="01-curate", progress=False)
    return runs.read_jsonl(paths.train_jsonl), runs.read_jsonl(paths.heldout_jsonl)


def factual(model, tokenizer, cfg, questions, library) -> tuple[float, int]:
    """Mean share of expected facts stated over the greedy answer and 3 samples per fact question."""
    cfg["eval"]["samples"] = 3
    rows = evaluate.answer_suite(model, tokenizer, questions, cfg, "tuned")
    rows = evaluate.score_rows(rows, questions, library, evaluate.ScoreWeights.from_params(cfg.eval))
    values = [r["verdict"]["factual"] for r in rows if r["verdict"].get("factual") is not None]
    return sum(values) / len(values), len(values)


def run_config(name: str, overrides: dict, steps: int, version: str, chats: tuple, questions, tmp: Path,
               model: str | None = None, project: Path = ROOT) -> dict:
    import torch

    cfg = params.load(version, root=project)
    if model:
        cfg["model"]["source"] = model
    cfg["train"].update(overrides)
    cfg["train"]["max_steps"], cfg["train"]["early_stopping_patience"] = steps, 0
    source = models.source_for(cfg)
    tokenizer = models.load_tokenizer(source)
    train_set, _ = chat.build_dataset(chats[0], tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    heldout_set, _ = chat.build_dataset(chats[1], tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    plan = train.make_plan(cfg.train)
    model = train.attach_lora(models.load_model(source), cfg.train, plan.quantization, seeds.training_seed(cfg))
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, runs.RunPaths(tmp, name), plan)
    start = time.perf_counter()
    # answer eagerly, as 03-evaluate does: the layers compiled for training would recompile for generation's shapes
    with torch.compiler.set_stance("force_eager"):
        accuracy, answers = factual(model, tokenizer, cfg, questions, curate.library_for(cfg))
    return {"name": name, "steps": figures["global_steps"], "best_heldout": figures["best_heldout_loss"],
            "final_train": figures["final_train_loss"], "fit": figures["fit"]["verdict"],
            "s_per_step": figures["wall_time_s"] / max(figures["global_steps"], 1), "train_s": figures["wall_time_s"],
            "factual": accuracy, "answers": answers, "eval_s": time.perf_counter() - start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 settings, 4 updates, 3 questions: a smoke run")
    parser.add_argument("--steps", type=int, default=160, help="optimizer updates per setting (default 160)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"settings to run, from {', '.join(CONFIGS)}")
    parser.add_argument("--version", default="v2.1")
    parser.add_argument("--model", help="model.source instead of the version's (a local folder: the tests' tiny model)")
    parser.add_argument("--train-seed", type=int, help="train.seed (LoRA init, data order) instead of the version's")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project folder (its params, data and runs)")
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    cfg = params.load(args.version, root=args.project)
    chats = curated_split(args.version, args.project)
    questions = [q for q in suite.load_suites(list(cfg.eval.suites), args.project) if q.category == "facts"]
    steps = 4 if args.quick else args.steps
    if args.quick:
        names, questions = names[:2], questions[:3]
    print(f"{args.version}: {len(chats[0])} train chats, {len(chats[1])} held out; {steps} updates per setting; "
          f"{len(questions)} fact questions x (greedy + 3 samples)")
    seed = {} if args.train_seed is None else {"seed": args.train_seed}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            results.append(run_config(name, {**CONFIGS[name], **seed}, steps, args.version, chats, questions, Path(tmp), args.model,
                                      args.project))
            r = results[-1]
            print(f"  {name}: held-out {r['best_heldout']:.3f}, train {r['final_train']:.3f}, factual {r['factual']:.0%}, "
                  f"{r['s_per_step']:.2f} s/update", flush=True)
    print("\n| setting | updates | best held-out loss | final train loss | fit | factual | s/update | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['steps']} | {r['best_heldout']:.3f} | {r['final_train']:.3f} | {r['fit']} | "
              f"{r['factual']:.0%} ({r['answers']} answers) | {r['s_per_step']:.2f} | {r['train_s']:.0f} |")
    print("targets (issue: curated arm): held-out loss <= 1.5 and factual accuracy >= 60%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
