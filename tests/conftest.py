"""Shared fixtures: a tiny random Llama with the bundled tokenizer, and a throwaway project folder."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the hub
# train.compile (auto: on for CPU training) costs 25-50 s of compiling per training process, which the tests' few
# steps never win back; torch's own switch turns it off here and in the processes tests start (notebooks, benchmark
# smoke runs). tests/test_train.py switches it back on for the test that covers it.
os.environ.setdefault("TORCH_COMPILE_DISABLE", "1")
# the kernels' socket files (runner.kernel_config) go to a runtime folder of the test session's own: the runs that
# tests kill leave theirs behind, which should not pile up in the user's ~/.local/share/jupyter/runtime
if "JUPYTER_RUNTIME_DIR" not in os.environ:
    os.environ["JUPYTER_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="molting-runtime-")
    atexit.register(shutil.rmtree, os.environ["JUPYTER_RUNTIME_DIR"], True)
# what a model may well say, and what Markdown, GitHub math or MathJax would turn into markup if not escaped
LITERAL = ("Three pounds a jar, $3, or two for $5.\nSolve \\(x\\) and \\[y\\]: *stars*, _under_, `tick`, a|b, "
           "~~strike~~, C:\\temp\\ and <b>bold</b> &amp; &#36; <https://example.com> -> done\r\nlast line")


@pytest.fixture(scope="session")
def bundled_tokenizer():
    """The bundled SmolLM2 tokenizer (converts the bundled GGUF once into the cache)."""
    from molting import models

    return models.load_tokenizer(models.resolve_source("bundled:smollm2-135m-instruct"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, bundled_tokenizer) -> Path:
    """A 3M-parameter random Llama saved with the bundled tokenizer: fast enough for unit tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=len(bundled_tokenizer), max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=bundled_tokenizer.bos_token_id,
                         eos_token_id=bundled_tokenizer.eos_token_id, pad_token_id=bundled_tokenizer.pad_token_id)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    bundled_tokenizer.save_pretrained(folder)
    return folder


def make_project(folder: Path, model_dir: Path, version: str = "tiny", overrides: dict | None = None) -> Path:
    """A project folder with the real base params, suite and sample data, and one small version."""
    (folder / "params" / "eval").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "params" / "base.yaml", folder / "params" / "base.yaml")
    for suite in (REPO / "params" / "eval").glob("*.yaml"):
        shutil.copy(suite, folder / "params" / "eval" / suite.name)
    shutil.copytree(REPO / "data" / "sample", folder / "data" / "sample", dirs_exist_ok=True)
    shutil.copytree(REPO / "notebooks", folder / "notebooks", dirs_exist_ok=True)
    params = {
        "description": "tiny test version",
        "model": {"source": str(model_dir)},
        "train": {"epochs": 1, "batch_size": 8, "max_length": 128, "logging_steps": 2, "early_stopping_patience": 0},
        "curate": {"top_k": 40, "heldout_min": 8},
        # bf16 autocast generation is not bit-reproducible across processes on CPU: the tiny project compares runs
        "eval": {"max_new_tokens": 8, "bootstrap": 100, "samples": 2, "bf16": False},
    }
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            params.setdefault(section, {}).update(values)
        else:
            params[section] = values
    (folder / "params" / f"{version}.yaml").write_text(yaml.safe_dump(params))
    return folder


# text a model could write that must stay inert: a script, an event handler and a javascript: link
ATTACK = ("<script>document.title='PWNED'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
          " [click](javascript:document.title='PWNED')")
ESCAPED = "<script>window.pwned=1</script><img src=x onerror=alert(1)> [click](javascript:alert(1))"
MARKDOWN_LOOKALIKE = "# not a heading\n1. not a list\n  two  spaces  kept"


@dataclass
class FinishedRun:
    root: Path
    timings: dict


@pytest.fixture(scope="session")
def finished_tiny(tmp_path_factory, tiny_model_dir) -> FinishedRun:
    """One tiny version run through all four stages (shared by the pipeline, browser and report tests, which
    only read it). Greedy tuned answers then carry hostile markup and Markdown/math lookalikes (the side-by-side
    tables always show greedy answers; a sampled one only where the detectors disagree), the report is
    re-rendered from them, and a one-version phase report `phase-t` is rendered beside it.

    Made once per test session, not once per xdist worker: the first worker to need it runs it in the session's
    shared temporary folder under a file lock; the other waits for it and reads the same folder."""
    import json

    from filelock import FileLock

    from molting import runner
    from molting.runs import RunPaths, read_jsonl, write_jsonl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base   # xdist: popen-gwN's parent
    folder, done = shared / "finished-tiny", shared / "finished-tiny.json"
    with FileLock(str(shared / "finished-tiny.lock")):
        if done.is_file():
            return FinishedRun(folder, json.loads(done.read_text()))
        shutil.rmtree(folder, ignore_errors=True)   # a worker that failed half-way leaves no half project
        root = make_project(folder, tiny_model_dir)
        timings = runner.run_version("tiny", root, progress=False, log=lambda _: None)
        paths = RunPaths(root, "tiny")
        answers = read_jsonl(paths.answers_jsonl)
        tuned = [i for i, a in enumerate(answers) if a["model"] == "tuned" and a["decoding"] == "greedy"]
        answers[tuned[-1]]["text"] = ATTACK
        answers[tuned[-2]]["text"] = MARKDOWN_LOOKALIKE
        answers[tuned[-3]]["text"] = ESCAPED
        answers[0]["text"] = LITERAL
        write_jsonl(paths.answers_jsonl, answers)
        # re-rendered with the raw data moved away: 04-report reads only the run's files, so the params' files
        # of the earlier stages are not asked for (params.check_files by stage)
        raw = root / "data" / "sample" / "raw.jsonl"
        raw.rename(raw.with_suffix(".moved"))
        runner.run_version("tiny", root, only="04-report", force=True, progress=False, log=lambda _: None)
        raw.with_suffix(".moved").rename(raw)
        runner.run_phase("phase-t", ["tiny"], root, progress=False)
        done.write_text(json.dumps(timings))
        return FinishedRun(root, timings)


# The slowest test files, slowest first (pytest --durations, 2026-12-06: each runs the pipeline or benchmark
# scripts for 70-135 s). `make test` hands whole files to two workers in collection order
# (--no-loadscope-reorder; xdist's default puts files with many tests first, which left these few-test files
# to the end, one worker busy for a minute or two after the other had finished).
SLOW_FILES = ("test_benchmarks.py", "test_faults.py", "test_pipeline.py", "test_experiment.py", "test_notebooks.py",
              "test_train.py")   # its compile test takes ~60 s where torch's kernel cache is empty


def pytest_collection_modifyitems(items):
    """Tests that read the shared finished run depend on a pipeline run: they carry the `pipeline` marker.
    The slowest files come first (SLOW_FILES); tests keep their order within a file."""
    for item in items:
        if "finished_tiny" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pipeline)
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # a stable sort: the rest keep their order


@pytest.fixture
def project(tmp_path, tiny_model_dir) -> Path:
    """A throwaway project whose `tiny` version trains the tiny model for one short epoch."""
    return make_project(tmp_path / "project", tiny_model_dir)


def write_gguf(path: Path, arch: str, blocks: int) -> Path:
    """A minimal GGUF file: the architecture, its block count and one 4x4 tensor of ones (no tokenizer, no config)."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_block_count(blocks)
    writer.add_tensor("token_embd.weight", np.ones((4, 4), dtype="float32"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def gfm_tables(markdown: str) -> list[list[dict[str, str]]]:
    """The tables of a Markdown text as GitHub-flavoured Markdown shows them (markdown-it-py with GFM
    tables, raw HTML allowed as on GitHub): rows of {header: cell text}, a <br> read as a newline."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(render_gfm(markdown), "html.parser")
    tables = []
    for table in soup.find_all("table"):
        headers = [cell_text(th) for th in table.find_all("th")]
        tables.append([dict(zip(headers, (cell_text(td) for td in tr.find_all("td")))) for tr in table.tbody.find_all("tr")]
                      if table.tbody else [])
    return tables


def render_gfm(markdown: str) -> str:
    """Markdown to HTML the way GitHub reads it: CommonMark, tables, strikethrough, raw HTML passed through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)


def cell_text(cell) -> str:
    """A table cell's text as a reader sees it, <br> as a newline."""
    for br in cell.find_all("br"):
        br.replace_with("\n")
    return cell.get_text()
