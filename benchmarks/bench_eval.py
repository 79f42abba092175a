"""Evaluation: batched vs one-question-at-a-time generation, and the whole stage's time on the default.

Usage: python benchmarks/bench_eval.py [--quick] [--stage] [--device cpu|cuda] [--version v2.1] [--project DIR]

Generation uses the bundled SmolLM2-135M-Instruct on the personality suite's questions, greedy,
max_new_tokens from the version's params, left padding and KV cache; both ways must give the same
answers. The stage time re-runs 03-evaluate's library calls (model + adapter load, coherence
calibration, base and tuned answers, scoring, held-out perplexity) read-only against the version's
finished run, when there is one, and times the tuned answers again with the adapter not merged, with
bf16 autocast alone over the fp32 model (fp32 residual stream and keys, every weight re-cast at each step)
instead of the parameters held in bf16, and by transformers' model.generate (every row runs until the batch's
last one ends; torch.multinomial draws the sampled tokens) instead of generation.decode (the peers).
Targets: batched >= 3x faster; the stage <= 120 s on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from molting import character, curate, evaluate, generation, models, params, precision, runs, suite  # noqa: E402
from molting.data import with_system_prompt  # noqa: E402


def generation_times(cfg, device: str, quick: bool) -> tuple[float, float, int]:
    """Seconds for batched and for sequential generation of the suite, and the tokens generated."""
    source = models.source_for(cfg)
    tokenizer = models.load_tokenizer(source)
    model = models.load_model(source).to(device).eval()
    questions = suite.load_suites(list(cfg.eval.suites), Path(cfg.root))
    chats = [with_system_prompt([{"role": "user", "content": q.prompt}], cfg.data.system_prompt) for q in questions]
    max_new = 16 if quick else cfg.eval.max_new_tokens
    generation.generate(model, tokenizer, chats[:1], max_new_tokens=4, batch_size=1)   # warm-up
    start = time.perf_counter()
    batched = generation.generate(model, tokenizer, chats, max_new_tokens=max_new, batch_size=len(chats))
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    single = generation.generate(model, tokenizer, chats, max_new_tokens=max_new, batch_size=1)
    t_single = time.perf_counter() - start
    same = sum(a["text"] == b["text"] for a, b in zip(batched, single))
    print(f"answers identical batched vs sequential: {same}/{len(chats)}")
    return t_batched, t_single, sum(a["new_tokens"] for a in batched)


def autocast_only(model, setting):
    """bf16 autocast alone over the fp32 model: it casts every frozen fp32 weight again at each call (it caches the
    casts of trainable leaves only), and the residual stream and the KV cache's keys stay fp32."""
    import torch

    return torch.autocast(model.device.type, dtype=torch.bfloat16) if precision.uses_bf16(model, setting) \
        else contextlib.nullcontext()


def generate_decode(model, enc, *, max_new_tokens: int, eos: int, temperature: float | None = None,
                    copies: list[int] | None = None) -> list[list[int]]:
    """generation.decode's peer: transformers' `model.generate`, which runs every row until the batch's last one ends
    and samples with torch.multinomial; a prompt answered several times is repeated before its forward pass."""
    import torch

    if copies is not None:
        enc = {key: value.repeat_interleave(torch.tensor(copies, device=value.device), dim=0) for key, value in enc.items()}
    sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0} if temperature else {"do_sample": False}
    out = model.generate(**enc, max_new_tokens=max_new_tokens, eos_token_id=eos, pad_token_id=eos, use_cache=True, **sampling)
    return [row[: row.index(eos) + 1] if eos in row else row for row in out[:, enc["input_ids"].shape[1]:].tolist()]


def stage_time(cfg, paths: runs.RunPaths) -> dict | None:
    """03-evaluate's library calls against a finished run, timed per step; None when the run is missing.
    The base model's answers come from runs/_cache/ when an earlier run (or the notebook) made them."""
    if not (paths.adapter_dir / "adapter_config.json").is_file():
        return None
    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = now - clock
        clock = now

    questions = suite.load_suites(list(cfg.eval.suites), Path(cfg.root))
    library = curate.library_for(cfg)
    detector = evaluate.make_detector()
    source = models.source_for(cfg)
    model, tokenizer = evaluate.load_tuned(source, paths.adapter_dir)
    coherence = character.make_coherence(cfg, questions, library)
    lap("load model, library, detector, calibrate")
    base = evaluate.base_answers(model, tokenizer, questions, cfg, source)
    lap("base answers")
    tuned = evaluate.answer_suite(model, tokenizer, questions, cfg, "tuned")
    lap("tuned answers (adapter merged)")
    unmerged = evaluate.answer_suite(model, tokenizer, questions, cfg, "tuned", merge=False)
    lap("peer: tuned answers, adapter not merged")
    same = sum(a["text"] == b["text"] for a, b in zip(tuned, unmerged))
    print(f"tuned answers identical merged vs not merged: {same}/{len(tuned)} (bf16 rounding differs between the two)")
    held = precision.inference_precision
    precision.inference_precision = autocast_only       # the peer: autocast alone over the fp32 model
    try:
        recast = evaluate.answer_suite(model, tokenizer, questions, cfg, "tuned")
    finally:
        precision.inference_precision = held
    lap("peer: tuned answers, bf16 autocast over the fp32 model")
    same = sum(a["text"] == b["text"] for a, b in zip(tuned, recast))
    print(f"tuned answers identical with the parameters held in bf16 vs autocast over fp32: {same}/{len(tuned)} "
          "(the residual stream's rounding differs)")
    held = generation.decode
    generation.decode = generate_decode   # the peer: transformers' generate, every row to the batch's end
    try:
        generated = evaluate.answer_suite(model, tokenizer, questions, cfg, "tuned")
    finally:
        generation.decode = held
    lap("peer: tuned answers by model.generate")
    for decoding in ("greedy", "sampled"):
        pairs = [(a, b) for a, b in zip(tuned, generated) if a["decoding"] == decoding]
        same = sum(a["text"] == b["text"] for a, b in pairs)
        print(f"tuned {decoding} answers identical to model.generate's: {same}/{len(pairs)}"
              + (" (another sampler: torch.multinomial)" if decoding == "sampled" else ""))
    rows = evaluate.score_rows(base + tuned, questions, library, evaluate.ScoreWeights.from_params(cfg.eval), coherence, detector)
    lap("verdicts")
    propensity = evaluate.propensity_probe(model, tokenizer, cfg, source)
    ppl = evaluate.perplexities(model, tokenizer, cfg, runs.read_jsonl(paths.heldout_jsonl), source)
    lap("probe and perplexity")
    evaluate.summarize(rows, cfg, ppl, coherence.calibration, None, propensity, evaluate.detector_info(detector))
    lap("statistics")
    times["total"] = sum(v for k, v in times.items() if not k.startswith("peer"))
    times["scoring"] = scoring_precision(cfg, model, tokenizer, source, runs.read_jsonl(paths.heldout_jsonl))
    times["answers"] = len(rows)
    return times


def scoring_precision(cfg, model, tokenizer, source, heldout: list[dict]) -> dict:
    """The probe and perplexities (base and tuned, nothing cached) under the stage's bf16 and under fp32, with
    how far the figures move: the peer for scoring under `eval.bf16`."""
    import tempfile

    out = {}
    held = evaluate.cache_folder
    for bf16 in (True, False):
        run_cfg = copy.deepcopy(cfg)
        run_cfg["eval"]["bf16"] = bf16
        with tempfile.TemporaryDirectory() as empty:
            evaluate.cache_folder = lambda _cfg, folder=Path(empty): folder
            try:
                start = time.perf_counter()
                probe = evaluate.propensity_probe(model, tokenizer, run_cfg, source)
                ppl = evaluate.perplexities(model, tokenizer, run_cfg, heldout, source)
                out[bf16] = (time.perf_counter() - start, probe, ppl)
            finally:
                evaluate.cache_folder = held
    return out


def print_scoring(scoring: dict) -> None:
    """The scoring peer's line: times, and the probe gap and perplexities under both precisions."""
    (t16, probe16, ppl16), (t32, probe32, ppl32) = scoring[True], scoring[False]
    print(f"  (peer: probe and perplexities, base and tuned, nothing cached: bf16 {t16:.1f} s vs fp32 {t32:.1f} s, "
          f"{t32 / t16:.2f}x; not in the total)")
    if probe16:
        print(f"  (tuned propensity gap bf16 {probe16['tuned']['gap_nats']:+.4f} vs fp32 {probe32['tuned']['gap_nats']:+.4f} "
              f"nats/token; base {probe16['base']['gap_nats']:+.4f} vs {probe32['base']['gap_nats']:+.4f})")
    for split in ("heldout", "test"):
        pairs = [f"{who} {ppl16[split][who]} vs {ppl32[split][who]}" for who in ("base", "tuned") if ppl32[split][who]]
        if pairs:
            print(f"  ({split} perplexity bf16 vs fp32: {', '.join(pairs)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 new tokens, no stage timing")
    parser.add_argument("--stage", action="store_true", help="time the stage even with --quick")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--version", default="v2.1")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project whose finished run is timed")
    parser.add_argument("--model", help="model.source instead of the version's (a local folder: the tests' tiny model)")
    args = parser.parse_args()
    cfg = params.load(args.version, root=args.project)
    if args.model:
        cfg["model"]["source"] = args.model
    t_batched, t_single, tokens = generation_times(cfg, args.device, args.quick)
    ratio = t_single / t_batched
    print("| way | seconds | tokens/s |\n|---|---|---|")
    print(f"| batched (the whole suite at once) | {t_batched:.1f} | {tokens / t_batched:.0f} |")
    print(f"| one question at a time | {t_single:.1f} | {tokens / t_single:.0f} |")
    print(f"batched vs sequential: {ratio:.2f}x (target >= 3x: {'met' if ratio >= 3 else 'MISSED'})")
    if args.stage or not args.quick:
        times = stage_time(cfg, runs.RunPaths(args.project, args.version))
        if times is None:
            print(f"stage time: no finished run of {args.version} (run `make run` first)")
        else:
            print(f"03-evaluate library calls on {args.version} ({times.pop('answers')} answers):")
            total = times.pop("total")
            scoring = times.pop("scoring")
            peer = {k: times.pop(k) for k in list(times) if k.startswith("peer")}
            for name, seconds in times.items():
                print(f"  {name:42s} {seconds:6.1f} s")
            tuned = times["tuned answers (adapter merged)"]
            for name, seconds in peer.items():
                print(f"  ({name}: {seconds:.1f} s; the stage's way is {seconds / tuned:.2f}x faster; not in the total)")
            print_scoring(scoring)
            print(f"  total {total:.1f} s (target <= 120 s on 2 cores: {'met' if total <= 120 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
