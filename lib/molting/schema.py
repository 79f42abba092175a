"""The params schema: every key Molting reads, its type, range, default and comment, in one place.

params/base.yaml is rendered from it (`python -m molting.schema > params/base.yaml`; a test keeps the two equal),
and every params file is checked against it (molting.validation: errors name the file and the dotted key, with the
closest valid key for a typo).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Optional, Union
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, StrictBool, model_validator

from molting import validation
from molting.errors import ParamsError
from molting.validation import Invalid, Strict

HEADER = """\
# Every key Molting reads, with its default. A version file (params/<version>.yaml) names only what
# differs, and may say `extends: <version>` to start from another version instead of this file.
# Unknown keys, wrong types and bad values are errors, so a typo never passes silently.
# Rendered from lib/molting/schema.py (python -m molting.schema > params/base.yaml): change keys there.
"""

JUDGE_OFF = "or set eval.judge.enabled: false to evaluate without the judge"
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Auto = Union[Literal["auto"], StrictBool]          # auto | true | false (YAML's 1 is not true)


# The stages that read a `path` key's files (02-train and 04-report read only the run's own files).
CURATE, TRAIN, EVALUATE = "01-curate", "02-train", "03-evaluate"


def key(default: Any, comment: str, *, kind: str | None = None, path: tuple[str, ...] = ()) -> Any:
    """A field with its default and the comment base.yaml shows beside it (lines after the first continue
    under it); `kind` words the expected value in errors where the type alone does not say it; `path` names the
    stages that read the file or folder (or list of them) the key names, which a run checks for before those stages
    start (`path_keys`)."""
    extra = {**({"kind": kind} if kind else {}), **({"path": list(path)} if path else {})}
    return Field(default, description=comment, json_schema_extra=extra or None)


Section = Strict           # a params section: unknown keys are errors, no value is coerced to another type


class Columns(Section):
    """your own field names, for rows in none of the formats above (then every row is read with them)"""

    prompt: Optional[str] = key(None, "the field holding the user's turn (with `response`: one exchange per row)")
    response: Optional[str] = key(None, "the field holding the reply")
    system: Optional[str] = key(None, "a field holding a system prompt (optional)")
    messages: Optional[str] = key(None, "or: the field holding a list of turns ({role, content} or {from, value})")

    @model_validator(mode="after")
    def _one_way(self) -> "Columns":
        """Either prompt and response, or messages."""
        if self.messages and (self.prompt or self.response):
            raise Invalid("names both `messages` and `prompt`/`response`",
                          fix="keep data.columns.messages for rows holding a list of turns, or prompt and response for "
                              "rows holding one exchange")
        if bool(self.prompt) != bool(self.response):
            given, other = ("prompt", "response") if self.prompt else ("response", "prompt")
            raise Invalid(f"names `{given}` but not `{other}`", fix=f"set data.columns.{other} to the field holding the "
                          + ("reply" if other == "response" else "user's turn"))
        if self.system and not (self.prompt or self.messages):
            raise Invalid("names only `system`", fix="set data.columns.prompt and .response (or .messages) as well")
        return self


class Data(Section):
    raw: Union[str, Annotated[list[str], Field(min_length=1)]] = key(
        "data/sample/raw.jsonl", "raw chat data: .jsonl/.json/.csv (also .gz/.bz2/.xz), .parquet, or a `datasets` folder;\n"
                                 "or a list of them ([logs.jsonl, notes.csv]): each chat keeps the file it came from",
        kind="a file or a list of files", path=(CURATE, EVALUATE))   # 03-evaluate calibrates coherence on it
    format: Literal["auto", "messages", "sharegpt", "alpaca", "prompt_completion", "pair"] = key(
        "auto", "auto | messages | sharegpt | alpaca | prompt_completion | pair (question/answer,\n"
                "query/response, instruction/context/response...)")
    on_bad_lines: Literal["error", "skip"] = key("error", "error | skip (skipped lines are counted and listed in the report)")
    persona: str = key("data/sample/persona.yaml", "persona card: name, facts, tone (used by scoring and the report)",
                       path=(CURATE, EVALUATE))
    test_chats: Optional[str] = key(None, "clean test chats never trained on (same formats as raw); curation checks none of\n"
                                          "their reply sentences appears in training (null: no test chats)", path=(CURATE,))
    system_prompt: Optional[str] = key("", "system turn added where a chat has none; \"\" stops SmolLM's template\n"
                                           "from injecting \"You are SmolLM...\"; null keeps the template's default")
    columns: Columns = Columns()

    @model_validator(mode="after")
    def _format_or_columns(self) -> "Data":
        if self.format != "auto" and any(self.columns.model_dump().values()):
            raise Invalid(f"data.format is `{self.format}` and data.columns names fields: both say how to read a row",
                          fix="keep one: data.format: auto with data.columns, or the format without columns")
        return self


class Curate(Section):
    enabled: StrictBool = key(True, "false trains on the raw data as loaded (the v1 baseline)")
    mode: Literal["filter", "strip"] = key(
        "filter", "filter drops a chat with any agent-like hit; strip cuts only the hit sentences\n"
                  "out of its replies and keeps the rest (the facts), dropping a chat only when a\n"
                  "reply is left shorter than min_assistant_words (removed.jsonl lists each cut)")
    random_subset: Union[Literal["curated_size"], PositiveInt, None] = key(
        None, "curated_size: train on a seeded random sample of the raw data, no filtering, as\n"
              "large as these curation steps keep (they run only to count); or a number of chats",
        kind="`curated_size`, a positive number of chats, or null")
    patterns_disabled: list[str] = key([], "names of agent-like patterns to switch off (see `molt patterns`)")
    patterns_enabled: list[str] = key([], "opt-in patterns to switch on, by pattern or category name: [persona_format] "
                                          "drops code fences (off by default: a coding persona keeps its code)")
    review_detector: StrictBool = key(True, "the detector (fine-tuned MiniLM) marks chats the patterns kept for review "
                                            "(runs/<v>/data/review.jsonl)")
    detector_drops: StrictBool = key(False, "the detector also drops the chats it flags, after the patterns (more recall;\n"
                                            "its evaluation rate is then no longer independent of curation)")
    patterns_extra: list[str] = key([], "YAML files of your own patterns, same schema as the shipped library",
                                    path=(CURATE, EVALUATE))
    exact_dedup: StrictBool = key(True, "drop chats whose normalised text is identical to a better one")
    near_dedup: StrictBool = key(True, "MinHash/LSH near-duplicates (a word or two changed)")
    near_threshold: Fraction = key(0.8, "estimated Jaccard similarity at or above which chats are near-duplicates")
    semantic_dedup: StrictBool = key(False, "sentence-embedding duplicates (all-MiniLM-L6-v2, cached by content hash)")
    semantic_threshold: Fraction = key(0.92, "cosine similarity at or above which chats are semantic duplicates")
    min_assistant_words: int = key(3, "drop chats whose assistant turns are shorter than this")
    max_tokens: PositiveInt = key(384, "drop chats longer than this many tokens (counted, never a crash)")
    top_k: Optional[PositiveInt] = key(None, "keep only the k best-ranked chats (null keeps all)")
    keep_drop_file: Optional[str] = key(None, "YAML {keep: [ids], drop: [ids]} that overrides every rule", path=(CURATE,))
    duplicate_fraction: Fraction = key(0.0, "repeat the best-ranked fraction once (0.25 = the lab's \"+25%\")")
    synthetic_file: Optional[str] = key(None, "extra synthetic chats, passed through the same filters and dedup", path=(CURATE,))
    train_fraction: Fraction = key(1.0, "use this share of the training split (learning curves); held-out stays whole")
    heldout_fraction: Fraction = key(0.1, "share of curated chats held out for held-out loss and perplexity")
    heldout_min: int = key(8, "at least this many held-out chats, so the held-out loss means something")


class Model(Section):
    source: str = key("bundled:smollm2-135m-instruct", "bundled:<name> | hub id (org/name) | local folder | path to .gguf")
    revision: Optional[str] = key(None, "hub revision (branch, tag or commit) for hub ids")
    trust_remote_code: StrictBool = key(False, "never run a model repository's own code unless you say so")
    chat_template: Optional[Literal["zephyr"]] = key(
        None, "a built-in chat template for a model that has none (a base model): zephyr (<|user|>, <|assistant|>,\n"
              "each turn closed by the EOS token, as TinyLlama-Chat); null: the model's own")
    chat_template_file: Optional[str] = key(None, "or a Jinja chat template of your own (.jinja file; its assistant turns must "
                                                  "end with the EOS token)", path=(CURATE, TRAIN, EVALUATE))

    @model_validator(mode="after")
    def _one_template(self) -> "Model":
        if self.chat_template and self.chat_template_file:
            raise Invalid("both chat_template and chat_template_file are set", fix="keep one of model.chat_template "
                          "(a built-in) and model.chat_template_file (your own)")
        return self


class Train(Section):
    enabled: StrictBool = key(True, "false: no training; \"tuned\" is the base model with the persona card as its system\n"
                                    "prompt (the prompt-only arm, v0)")
    quantization: Literal["auto", "4bit", "8bit", "none"] = key("auto", "auto (4bit with CUDA, else none) | 4bit | 8bit | none")
    lora_r: PositiveInt = key(16, "LoRA rank")
    lora_alpha: int = key(32, "LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: Fraction = key(0.0, "dropout on the LoRA path: its random masks cost ~20% of a CPU step (bench_train);\n"
                                      "the best checkpoint is kept against overfitting (benchmarks/RESULTS.md, sweep)")
    target_modules: Union[Literal["all-linear"], list[str]] = key(
        "all-linear", "linear layers that get adapters (a list, e.g. [q_proj, v_proj], or \"all-linear\"):\n"
                      "attention-only LoRA underfits the sample at any rate tried (RESULTS.md, sweep)",
        kind="a list of layer names or \"all-linear\"")
    lora_layers: Optional[PositiveInt] = key(None, "adapters on the last N decoder layers only (null: every layer): the layers\n"
                                                   "below run forward only (a step 1.34x faster with 15 of SmolLM2's 30), but\n"
                                                   "the sample then fits worse: held-out loss +0.09 to +0.27 (RESULTS.md, sweep)")
    epochs: PositiveInt = key(5, "passes over the training split (early stopping may end sooner); unused with max_steps")
    max_steps: Optional[PositiveInt] = key(None, "optimizer updates for the whole run (null: epochs decide). Arms of different\n"
                                                 "data sizes compared for curation need the same number of updates, or the\n"
                                                 "bigger arm simply trains longer; held-out loss is then measured 5 times")
    packing: StrictBool = key(False, "concatenate each batch's chats into one row (no padding, block-diagonal attention)")
    seed: Optional[int] = key(None, "training seed (LoRA init, data order); null: the top-level seed. `molt run <v> --seeds N`\n"
                                    "adds replicas <v>-seed2.. that differ only in it; the phase report pools them")
    batch_size: PositiveInt = key(4, "chats per step per device")
    grad_accum: int = key(1, "steps accumulated per optimizer update")
    learning_rate: Positive = key(0.002, "peak learning rate: the sweep's best for r=16 all-linear on the sample (2e-4 and\n"
                                         "1e-3 underfit in the same updates; RESULTS.md, sweep). Lower it for 1B+ models")
    lr_scheduler: str = key("cosine", "any transformers scheduler name: linear, cosine, constant...")
    warmup_ratio: Fraction = key(0.05, "share of updates spent warming up the learning rate")
    weight_decay: float = key(0.0, "AdamW weight decay on the LoRA weights")
    max_length: PositiveInt = key(256, "tokens per chat; longer chats are cut at the end (counted)")
    bf16: Auto = key("auto", "auto (on where the CPU/GPU supports bf16) | true | false")
    compile: Auto = key("auto", "torch.compile each decoder layer (dynamic shapes): auto (on for unquantized CPU training with\n"
                                "a C++ compiler: 1.4x a training here, after ~45 s of compiling the first time; RESULTS.md,\n"
                                "compiling) | true | false")
    early_stopping_patience: int = key(2, "epochs without held-out improvement before stopping (0 = off)")
    logging_steps: PositiveInt = key(5, "log the training loss every this many steps")
    report_to: list[str] = key([], "experiment trackers that get the training logs too (transformers' report_to):\n"
                                   "tensorboard (logs in runs/<v>/checkpoints/runs/), wandb, mlflow, trackio...;\n"
                                   "each needs its package installed (preflight checks)")


class Judge(Section):
    """optional LLM-as-judge through any OpenAI-compatible endpoint (off by default)"""

    enabled: StrictBool = key(False, "true asks the endpoint to score every answer; unreachable is then an error")
    base_url: Optional[str] = key(None, "e.g. http://localhost:8000/v1 (vLLM, llama.cpp server, Ollama, OpenAI)")
    model: Optional[str] = key(None, "the judge model's name at that endpoint")
    api_key_env: str = key("OPENAI_API_KEY", "environment variable holding the key (\"\" for none)")
    timeout_s: Positive = key(30, "seconds per request")
    rubric: str = key("Score 1-10 how well the answer stays in the persona's voice, states the persona's facts correctly, "
                      "and avoids sounding like an AI assistant.", "what the judge scores")

    @model_validator(mode="after")
    def _endpoint_named(self) -> "Judge":
        """Switched on, the judge needs an http(s) URL with a valid port and a model name."""
        if not self.enabled:
            return self
        url = (self.base_url or "").strip().rstrip("/")
        if not url:
            raise Invalid("enabled is true but `base_url` is not set",
                          fix=f"set eval.judge.base_url to the endpoint, e.g. http://localhost:8000/v1, {JUDGE_OFF}")
        if not re.match(r"https?://", url):
            raise Invalid(f"base_url {url!r} is not an http(s) URL",
                          fix=f"write eval.judge.base_url with its scheme, e.g. http://localhost:8000/v1, {JUDGE_OFF}")
        try:
            urlsplit(url).port  # a port that is not a number, or out of range
        except ValueError as exc:
            raise Invalid(f"base_url {url!r} is not a valid URL ({exc})",
                          fix=f"fix the host and port of eval.judge.base_url, e.g. http://localhost:8000/v1, {JUDGE_OFF}") from None
        if not (self.model or "").strip():
            raise Invalid("enabled is true but `model` is not set",
                          fix=f"set eval.judge.model to the judge model's name at {url}, {JUDGE_OFF}")
        return self


class Credit(Section):
    """what an answer earns (must sum to 1); nothing is earned by saying nothing"""

    in_voice: NonNegative = key(0.5, "in character, on topic and not agent-like (trigger/control questions: the whole credit)")
    facts: NonNegative = key(0.5, "share of the question's expected facts stated")


class Penalty(Section):
    """subtracted from the credit (the score is floored at 0)"""

    agent_like: NonNegative = key(0.3, "the pattern library or the detector says agent-like")
    contradicted: NonNegative = key(0.3, "a wrong fact stated (costs more than a missing one: facts credit lost + this)")
    forbidden: NonNegative = key(0.2, "forbidden content (e.g. \"SmolLM\", \"AI\")")
    truncated: NonNegative = key(0.2, "cut off at max_new_tokens without EOS")


class Eval(Section):
    suites: list[str] = key(["params/eval/personality.yaml"], "question suites (YAML: facts, trigger and control questions); "
                                                              "a version can add its own", path=(EVALUATE,))
    max_new_tokens: PositiveInt = key(96, "answer length limit; an answer that hits it without EOS is \"truncated\"")
    batch_size: PositiveInt = key(128, "answers generated together (left padding, KV cache): on 2 CPU cores 128 takes 0.64x\n"
                                       "the time of 32 for the same sampled answers (fewer steps wasted on short batches)")
    bf16: Auto = key("auto", "generate and score (probe, perplexities) under bf16 autocast: auto (where the CPU/GPU\n"
                                "supports bf16; here generation 1.45x, scoring 2.2x faster) | true | false")
    samples: Annotated[int, Field(ge=0)] = key(5, "sampled answers per question (rates come from these); 0 = the greedy answer only")
    temperature: Positive = key(1.0, "sampling temperature: 1.0 samples the model's own distribution, so rare habits show")
    bootstrap: PositiveInt = key(1000, "resamples for bootstrap intervals and permutation tests")
    target_score: float = key(8.5, "the score /10 this phase aims for (the report shows the gap)")
    coherence_threshold: Optional[Fraction] = key(None, "cosine to the persona above which an answer is \"in character\" "
                                                        "(null: calibrated on the run's data)")
    probe: Optional[str] = key("params/eval/probe.yaml", "propensity probe set (YAML items: id, prompt, agent_like, in_voice); "
                                                         "null: no probe", path=(EVALUATE,))
    test_chats: Optional[str] = key("data/sample/test.jsonl", "clean test chats shared by every version of a phase "
                                                              "(perplexity); null: none", path=(EVALUATE,))
    judge: Judge = Judge()
    credit: Credit = Credit()
    penalty: Penalty = Penalty()


class Report(Section):
    compare_to: Optional[str] = key(None, "version to compare with in the report (null: the previous one named in `extends`)")


class Params(Section):
    description: str = key("", "one line: what this version tries (shown in the report)")
    seed: int = key(42, "one seed for splitting, LoRA init, data order and sampling")
    data: Data = Data()
    curate: Curate = Curate()
    model: Model = Model()
    train: Train = Train()
    eval: Eval = Eval()
    report: Report = Report()


def defaults() -> dict:
    """Every key with its default, as plain nested dicts."""
    return Params().model_dump()


def dotted_keys() -> list[str]:
    """Every leaf key, dotted (train.epochs)."""
    return validation.dotted_keys(Params)


def path_keys(stages: Iterable[str] | None = None, model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """The dotted keys marked `path` (files and folders a stage reads), those read by one of `stages` where given."""
    wanted = None if stages is None else set(stages)
    found = []
    for name, field in model.model_fields.items():
        sub = _section(field.annotation)
        if sub:
            found.extend(path_keys(wanted, sub, f"{prefix}{name}."))
        elif (readers := (field.json_schema_extra or {}).get("path")) and (wanted is None or wanted & set(readers)):
            found.append(prefix + name)
    return found


def _section(annotation: Any) -> type[Section] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, Section) else None


def check(tree: Any, where: str) -> dict:
    """`tree` (a params file's mapping, any subset of the keys) checked against the schema: the complete params
    with defaults filled in, or a ParamsError naming `where`, the dotted key and what to write."""
    if not isinstance(tree, dict):
        raise ParamsError("the file must be a mapping of keys to values", where=where,
                          fix="write `key: value` lines, sections as nested mappings (see params/base.yaml)")
    return validation.validate(Params, tree, where).model_dump()


def _scalar(value: Any) -> str:
    if value == "":
        return '""'
    return yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True).removesuffix("\n...\n").strip()


def render(model: type[BaseModel] = Params, indent: str = "") -> str:
    """The YAML (params/base.yaml) of the schema: every key with its default and its comment, aligned."""
    lines = [HEADER] if model is Params else []
    column = 32
    for name, field in model.model_fields.items():
        sub = _section(field.annotation)
        if sub:
            if model is Params:
                lines.append("")
            head = f"{indent}{name}:"
            doc = (sub.__doc__ or "").strip()
            lines.append(f"{head:<{column}}# {doc}" if doc else head)
            lines.append(render(sub, indent + "  "))
            continue
        head = f"{indent}{name}: {_scalar(field.default)}"
        first, *rest = (field.description or "").split("\n")
        lines.append(f"{head:<{column - 2}}  # {first}")
        lines.extend(f"{'':<{column}}# {line}" for line in rest)
    return "\n".join(lines) + ("\n" if model is Params else "")


if __name__ == "__main__":
    print(render(), end="")
