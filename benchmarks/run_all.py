"""`make bench`: run every benchmark and write benchmarks/RESULTS.md.

Usage: python benchmarks/run_all.py [--quick] [--only NAME[,NAME...]] [--device cpu|cuda]

Each benchmark prints its own figures (Molting's value, the peer measured in the same run, the ratio
and the target); this script runs them one after another on a quiet machine, and writes their output
into RESULTS.md under the machine's description. With --only, just those sections are re-measured and
the others are kept as they were (each section says when it was measured).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
PY = sys.executable

BENCHMARKS = {
    "filter": ("Agent-like filter: precision and recall", ["bench_filter.py"]),
    "curate": ("Curation at scale: 10k and 100k chats", ["bench_curate.py"]),
    "dedup": ("Dedup: exact, MinHash and semantic", ["bench_dedup.py"]),
    "eval": ("Evaluation: batched vs sequential generation, stage time", ["bench_eval.py"]),
    "train": ("Training: Molting vs a plain TRL SFTTrainer script", ["bench_train.py"]),
    "validity": ("Validity: an agent-trained and a clean-trained adapter, told apart", ["bench_validity.py"]),
    "e2e": ("End to end: fresh-clone `make run`, and the notebook overhead", None),
}


def cpu_name() -> str:
    """The CPU's model name."""
    if not Path("/proc/cpuinfo").exists():
        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")), platform.processor())


def machine() -> str:
    """CPU/GPU, cores, memory and library versions."""
    import importlib.metadata as md

    import psutil
    import torch

    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    versions = ", ".join(f"{name} {md.version(name)}" for name in
                         ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "papermill", "nbconvert", "datasketch"))
    return (f"- CPU: {cpu}, {os.cpu_count()} cores; memory {psutil.virtual_memory().total / 2**30:.0f} GiB; GPU: {gpu}\n"
            f"- Python {platform.python_version()} on {platform.platform(terse=True)}\n- {versions}")


def run_script(script: str, quick: bool, device: str) -> str:
    """A benchmark's output, with its own wall time."""
    args = [PY, str(ROOT / "benchmarks" / script)] + (["--quick"] if quick else [])
    if script in ("bench_train.py", "bench_eval.py", "bench_validity.py"):
        args += ["--device", device]
    start = time.perf_counter()
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    body = _strip_progress(result.stdout)
    if result.returncode != 0:
        body += f"\n(exit {result.returncode})\n" + result.stderr[-3000:]
    return body + f"\n(benchmark wall time {time.perf_counter() - start:.0f} s)"


def _strip_progress(text: str) -> str:
    keep = [line for line in text.splitlines()
            if not re.search(r"it/s\]|examples/s\]|Loading weights|^\s*$|^\{'(loss|eval_loss|train_runtime)'", line)]
    return "\n".join(keep)


def end_to_end(quick: bool, save_reports: bool = False) -> str:
    """Fresh clone + `make run` wall time (setup included), and papermill/nbconvert overhead on a tiny version."""
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {**os.environ, "MOLTING_CACHE": str(Path(tmp) / "cache")}
        if not quick:
            start = time.perf_counter()
            result = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            stages = re.findall(r"\[(\S+)\] (\S+): done in ([\d.]+) s", result.stdout)
            lines.append(f"fresh clone `make run` (setup, conversion of the bundled model, v1 and v2.1, phase report): "
                         f"{wall / 60:.1f} min, exit {result.returncode} (target: about 15 min)")
            lines += [f"  {version} {stage}: {float(sec):.0f} s" for version, stage, sec in stages]
            if save_reports and result.returncode == 0:
                # the committed sample reports are exactly what a fresh clone's `make run` renders
                for folder in sorted((clone / "reports").iterdir()):
                    if folder.is_dir() and not folder.name.startswith("."):
                        shutil.rmtree(ROOT / "reports" / folder.name, ignore_errors=True)
                        shutil.copytree(folder, ROOT / "reports" / folder.name)
                lines.append("  (its reports were copied into reports/)")
        lines.append(overhead(clone if not quick else ROOT))
    return "\n".join(lines)


def overhead(project: Path) -> str:
    """The tiny test version run through the notebooks vs the same library calls in one Python process."""
    code = f"""
import sys, time, json, shutil, tempfile
sys.path.insert(0, {str(ROOT / 'tests')!r})
from pathlib import Path
from conftest import make_project
from molting import runner, models, params, runs, curate, chat, train, evaluate, patterns, report, suite, character
import torch
from transformers import LlamaConfig, LlamaForCausalLM
tmp = Path(tempfile.mkdtemp())
tok = models.load_tokenizer(models.resolve_source('bundled:smollm2-135m-instruct'))
cfg = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  vocab_size=len(tok), tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
torch.manual_seed(0); LlamaForCausalLM(cfg).save_pretrained(tmp / 'tiny'); tok.save_pretrained(tmp / 'tiny')
root = make_project(tmp / 'nb', tmp / 'tiny')
t = time.perf_counter(); runner.run_version('tiny', root, progress=False, log=lambda _: None); notebooks = time.perf_counter() - t
root2 = make_project(tmp / 'py', tmp / 'tiny')
t = time.perf_counter()
c = params.load('tiny', root=root2); paths = runs.RunPaths(root2, 'tiny')
from molting.data import load_chats
loaded = load_chats(root2 / c.data.raw); lib = patterns.load_library()
src = models.resolve_source(c.model.source); tk = models.load_tokenizer(src)
res = curate.curate(loaded.chats, c, library=lib, persona=params.read_yaml(root2 / c.data.persona), count_tokens=chat.token_counter(tk, ''))
curate.save(res, paths, loaded, c)
train.train_version(c, paths)
qs = suite.load_suites(list(c.eval.suites), root2); m, tk2 = evaluate.load_tuned(src, paths.adapter_dir)
coh = character.make_coherence(c, qs, lib)
with m.disable_adapter(): b = evaluate.answer_suite(m, tk2, qs, c, 'base')
rows = evaluate.score_rows(b + evaluate.answer_suite(m, tk2, qs, c, 'tuned'), qs, lib, evaluate.ScoreWeights.from_params(c.eval), coh, evaluate.make_detector())
evaluate.save(rows, evaluate.summarize(rows, c, {{}}, coh.calibration), paths)
python = time.perf_counter() - t
print(json.dumps({{'notebooks': notebooks, 'python': python}}))
shutil.rmtree(tmp, ignore_errors=True)
"""
    result = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not last.startswith("{"):
        return f"notebook overhead: measurement failed (exit {result.returncode}): {result.stderr[-1500:]}"
    import json

    figures = json.loads(last)
    extra = figures["notebooks"] - figures["python"]
    return (f"notebook overhead on the tiny version (4 stages + rendering): through papermill/nbconvert "
            f"{figures['notebooks']:.1f} s vs the same calls in one Python process {figures['python']:.1f} s: "
            f"+{extra:.1f} s ({extra / figures['notebooks']:.0%} of the notebook run; a fixed cost per stage, "
            f"so a smaller share of the default run)")


def write(sections: dict[str, str]) -> None:
    """RESULTS.md: machine, then one section per benchmark (kept from the last file when not re-run), then the
    hand-written sections that follow the benchmarks' (experiments recorded by hand), unchanged."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    parts = ["# Benchmark results", "", "Written by `make bench` (benchmarks/run_all.py). Every ratio compares figures "
             "measured in the same run on the same machine.", "", "## Machine",
             "", "The last run's; each section names the CPU it was measured on (the VM has changed between sessions).",
             "", machine(), ""]
    for key, (title, _) in BENCHMARKS.items():
        if key in sections:
            body = f"measured {time.strftime('%Y-%m-%d %H:%M')} on {cpu_name()}, {os.cpu_count()} cores\n\n```\n{sections[key].strip()}\n```"
        else:
            found = re.search(rf"<!-- {key} -->\n(.*?)\n<!-- /{key} -->", old, re.S)
            body = found.group(1).split("\n", 2)[2] if found else "not measured yet"
        parts += [f"<!-- {key} -->", f"## {title}", "", body, f"<!-- /{key} -->", ""]
    last = f"<!-- /{list(BENCHMARKS)[-1]} -->\n"
    tail = old.split(last, 1)[1].strip("\n") if last in old else ""
    RESULTS.write_text("\n".join(parts) + (f"\n{tail}\n" if tail else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run of every benchmark")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--save-reports", action="store_true", help="copy the fresh clone's reports into reports/")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    sections = {}
    for key in chosen:
        title, script = BENCHMARKS[key]
        print(f"== {title}", flush=True)
        sections[key] = end_to_end(args.quick, args.save_reports) if script is None else run_script(script[0], args.quick, args.device)
        print(sections[key], flush=True)
    if not args.no_write:
        write(sections)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
