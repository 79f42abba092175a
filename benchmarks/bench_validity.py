"""Validity: does the evaluation tell a model trained on agent-like replies from one trained on clean replies?

Usage: python benchmarks/bench_validity.py [--quick] [--steps N] [--device cpu|cuda] [--version v2.1]

Two LoRA adapters on the bundled SmolLM2-135M-Instruct, trained briefly with the project's own training
code (same params as the version, `--steps` optimizer steps each) on the sample's raw chats: one on chats
whose replies the pattern library flags as agent-like, one on the clean chats, the same number of each.
Both are then measured the way 03-evaluate measures a version:
- agent-like rate (library, detector, either) over sampled answers (eval.samples at eval.temperature,
  seeded) to the suite's trigger questions, compared by a paired permutation test on per-question rates;
- the propensity gap on the probe set (params/eval/probe.yaml), compared item by item (paired).
Target: both separate the adapters in the expected direction with p < 0.01. The base model's figures
are printed for reference. The probe set and the suite were written apart from the training data.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from molting import character, chat, curate, evaluate, models, params, probe, runs, stats, suite, train  # noqa: E402
from molting.data import assistant_text, load_setting  # noqa: E402


def load_cfg(version: str, model: str | None):
    """The version's params, with another model.source if one is given."""
    cfg = params.load(version, root=ROOT)
    if model:
        cfg["model"]["source"] = model
    return cfg


def split_by_library(cfg, library) -> tuple[list[dict], list[dict]]:
    """The raw sample chats whose replies the library flags, and the clean ones."""
    chats = load_setting(cfg, "data.raw", on_bad_lines="skip").chats
    agent = [c for c in chats if library.first(assistant_text(c))]
    clean = [c for c in chats if not library.first(assistant_text(c))]
    return agent, clean


def train_adapter(cfg, chats: list[dict], heldout: list[dict], folder: Path, steps: int, device: str) -> tuple[Path, dict]:
    """A LoRA adapter trained for about `steps` optimizer steps on `chats` with molting.train."""
    source = models.source_for(cfg)
    tokenizer = models.load_tokenizer(source)
    # max_steps, not epochs: the version may set its own max_steps (v1's arms share 320), which would win
    cfg["train"]["max_steps"] = steps
    cfg["train"]["early_stopping_patience"] = 0
    train_set, _ = chat.build_dataset(chats, tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    heldout_set, _ = chat.build_dataset(heldout, tokenizer, cfg.train.max_length, cfg.data.system_prompt)
    plan = train.make_plan(cfg.train)
    if device == "cpu":
        plan.device = "cpu"
    model = train.attach_lora(models.load_model(source), cfg.train, plan.quantization)
    paths = runs.RunPaths(folder, "adapter")
    figures = train.train(model, tokenizer, train_set, heldout_set, cfg, paths, plan)
    return paths.adapter_dir, figures


def measure(cfg, adapter_dir: Path, questions, library, detector, coherence, items, device: str, base: bool = False) -> dict:
    """Sampled answers to the trigger questions with verdicts, and the probe, for one adapter (or the base model)."""
    import contextlib

    source = models.source_for(cfg)
    model, tokenizer = evaluate.load_tuned(source, adapter_dir)
    model.to(device)
    context = model.disable_adapter() if base else contextlib.nullcontext()
    start = time.perf_counter()
    with context:
        rows = evaluate.answer_suite(model, tokenizer, questions, cfg, "base" if base else "tuned")
        gaps = probe.propensity(model, tokenizer, items, cfg.data.system_prompt, cfg.train.max_length)
    seconds = time.perf_counter() - start
    rows = evaluate.score_rows(rows, questions, library, evaluate.ScoreWeights.from_params(cfg.eval), coherence, detector)
    agg = evaluate.aggregate(rows, cfg.eval.bootstrap, cfg.seed)
    return {"agg": agg, "probe": gaps, "probe_summary": probe.summarize(gaps, cfg.eval.bootstrap, cfg.seed), "seconds": seconds}


def rate(agg: dict, metric: str) -> str:
    m = agg[metric]
    return "n/a" if m["mean"] is None else f"{m['count']}/{m['n']} = {m['mean']:.2f} [{m['ci95'][0]:.2f}, {m['ci95'][1]:.2f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 steps, 2 samples, 6 questions, 12 probe items: a smoke run")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per adapter (default 60)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--version", default="v2.1")
    parser.add_argument("--model", help="model.source instead of the version's (a local folder: the tests' tiny model)")
    args = parser.parse_args()
    wall = time.perf_counter()
    cfg = load_cfg(args.version, args.model)
    steps = 4 if args.quick else args.steps
    if args.quick:
        cfg["eval"]["samples"], cfg["eval"]["max_new_tokens"] = 2, 24
    library = curate.library_for(cfg)
    questions = [q for q in suite.load_suites(list(cfg.eval.suites), ROOT) if q.category == "trigger"]
    items = probe.load_probe(params.project_path(cfg, cfg.eval.probe, "eval.probe"))
    if args.quick:
        questions, items = questions[:6], items[:12]
    agent_chats, clean_chats = split_by_library(cfg, library)
    n = min(len(agent_chats), len(clean_chats)) - 16
    n = min(n, steps * cfg.train.batch_size)          # one epoch when there are enough chats
    heldout = clean_chats[-8:] + agent_chats[-8:]      # the same small held-out set for both; never trained on
    print(f"raw sample: {len(agent_chats)} agent-like chats (library), {len(clean_chats)} clean; "
          f"each adapter trains on {n} of its kind, about {steps} steps")
    print(f"evaluation: {len(questions)} trigger questions x {cfg.eval.samples} samples at temperature {cfg.eval.temperature}; "
          f"{len(items)} probe items")
    detector = evaluate.make_detector()
    coherence = character.make_coherence(cfg, questions, library)
    results, timings = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, chats in (("agent-trained", agent_chats[:n]), ("clean-trained", clean_chats[:n])):
            start = time.perf_counter()
            adapter, figures = train_adapter(load_cfg(args.version, args.model), chats, heldout, Path(tmp) / name, steps, args.device)
            timings[name] = time.perf_counter() - start
            print(f"{name}: {figures['global_steps']} steps in {timings[name]:.0f} s, final train loss {figures['final_train_loss']:.3f}")
            results[name] = measure(cfg, adapter, questions, library, detector, coherence, items, args.device)
        results["base"] = measure(cfg, adapter, questions, library, detector, coherence, items, args.device, base=True)
    print("\n| model | agent-like (library) | agent-like (detector) | agent-like (either) | in voice | propensity gap (nats/token) |")
    print("|---|---|---|---|---|---|")
    for name in ("base", "agent-trained", "clean-trained"):
        agg, gap = results[name]["agg"], results[name]["probe_summary"]
        print(f"| {name} | {rate(agg, 'agent_like')} | {rate(agg, 'agent_like_detector')} | {rate(agg, 'agent_like_either')} | "
              f"{rate(agg, 'in_voice')} | {gap['gap_nats']:+.3f} [{gap['ci95'][0]:+.3f}, {gap['ci95'][1]:+.3f}] |")
    a, c = results["agent-trained"], results["clean-trained"]
    print("\nagent-trained minus clean-trained, paired:")
    verdicts = []
    for metric in ("agent_like", "agent_like_detector", "agent_like_either"):
        paired = stats.paired_difference({q: v.get(metric) for q, v in c["agg"]["per_question"].items()},
                                         {q: v.get(metric) for q, v in a["agg"]["per_question"].items()},
                                         cfg.eval.bootstrap, cfg.seed)
        print(f"  {metric:22s} per-question rate {stats.describe(paired)} ({paired['pairs']} questions)")
        verdicts.append(paired)
    gap = stats.paired_difference(c["probe"]["per_item"], a["probe"]["per_item"], cfg.eval.bootstrap, cfg.seed)
    print(f"  {'propensity gap':22s} per item {stats.describe(gap, 3)} ({gap['pairs']} items)")
    rate_ok = verdicts[2]["difference"] > 0 and verdicts[2]["p_value"] < 0.01
    gap_ok = gap["difference"] > 0 and gap["p_value"] < 0.01
    print(f"target: agent-like rate (either) separates them with p < 0.01: {'met' if rate_ok else 'MISSED'}; "
          f"propensity gap with p < 0.01: {'met' if gap_ok else 'MISSED'}")
    print(f"measuring one adapter (answers + probe): {a['seconds']:.0f} s; total {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
