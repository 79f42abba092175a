"""Checks run before any training time is spent: does this model, template and machine fit the plan?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from molting.chat import IGNORE
from molting.errors import ModelError

if TYPE_CHECKING:   # train runs these checks (train.check_before_training); the plan is only a type here
    from molting.train import TrainPlan


@dataclass
class Check:
    """One preflight line: passed or not, what was seen, and what to do if it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def load_config(folder: str, trust_remote_code: bool = False) -> Any:
    """The model config; an invalid rope_scaling (the Phi-3-mini failure) becomes a clear ModelError."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
    except Exception as exc:  # transformers raises KeyError/ValueError/validation errors for bad configs
        message = str(exc).strip().splitlines()
        text = " ".join(line.strip() for line in message)[:400]
        if "rope" in text.lower():
            raise ModelError(f"the model's rope_scaling is not valid for transformers: {text}", where=f"{folder}/config.json",
                             fix="this checkpoint's rope_scaling was written for another transformers version "
                                 "(Phi-3-mini's 'su'/'longrope' factors are the known case): use a revision whose "
                                 "config.json matches your transformers, upgrade transformers, or pick another model") from None
        if "model_type" in text or "Unrecognized" in text or "does not recognize" in text:
            raise ModelError(f"the installed transformers does not know this architecture: {text}", where=f"{folder}/config.json",
                             fix="upgrade transformers, or choose a model of a supported architecture (llama, mistral, qwen2, phi3...)") from None
        raise ModelError(f"cannot read the model config: {text}", where=f"{folder}/config.json",
                         fix="check the model folder or id") from None


def check_architecture(config: Any) -> Check:
    """The architecture has a causal-LM class in the installed transformers."""
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING

    ok = type(config) in MODEL_FOR_CAUSAL_LM_MAPPING
    return Check("architecture supported", ok, f"{config.model_type} ({', '.join(config.architectures or [])})",
                 "" if ok else "upgrade transformers or pick a model with a causal-LM architecture it supports")


def check_rope(config: Any) -> Check:
    """rope settings are well-formed (they passed the config's own validation to get here)."""
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None)
    kind = (rope or {}).get("rope_type") or (rope or {}).get("type") or "default"
    return Check("rope_scaling valid", True, f"rope type: {kind}")


def check_template(tokenizer: Any, example: dict) -> list[Check]:
    """A chat template exists and the trained labels end each reply with the end-of-turn (EOS) token."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    checks = [Check("chat template present", has_template, "yes" if has_template else "missing",
                    "" if has_template else "use an instruct/chat model, or set tokenizer.chat_template")]
    eos = tokenizer.eos_token_id
    labelled = [t for t, lab in zip(example["input_ids"], example["labels"]) if lab != IGNORE]
    ok = eos is not None and eos in labelled
    checks.append(Check("assistant turn ends with EOS and EOS is trained", ok,
                        f"eos={tokenizer.eos_token!r}; {len(labelled)} trained tokens in the first example",
                        "" if ok else "the template or labels drop EOS, so the model would never learn to stop: "
                                      "use a template that closes turns with the EOS token"))
    pad_ok = tokenizer.pad_token_id is not None
    checks.append(Check("pad token set", pad_ok, f"pad={tokenizer.pad_token!r}" + (" (= eos; labels come from turn "
                        "boundaries, so EOS is still trained)" if pad_ok and tokenizer.pad_token_id == eos else ""),
                        "" if pad_ok else "set tokenizer.pad_token"))
    return checks


def estimate_memory_mb(config: Any, n_params: int, plan: TrainPlan, batch_size: int, max_length: int) -> float:
    """Rough peak: weights + activations for one batch + optimizer state for LoRA + slack."""
    bytes_per_weight = {"4bit": 0.55, "8bit": 1.05, "none": 4.0}[plan.quantization]
    weights = n_params * bytes_per_weight
    layers = getattr(config, "num_hidden_layers", 24)
    hidden = getattr(config, "hidden_size", 2048)
    vocab = getattr(config, "vocab_size", 32000)
    act_bytes = 2 if plan.bf16 else 4
    activations = batch_size * max_length * (layers * hidden * 18 + vocab * 2) * act_bytes
    return (weights + activations) / 2**20 * 1.2 + 300


def available_memory_mb(device: str) -> float:
    """Free VRAM on the GPU, or available RAM on the CPU, in MiB."""
    import psutil
    import torch

    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return free / 2**20
    return psutil.virtual_memory().available / 2**20


def check_memory(config: Any, n_params: int, plan: TrainPlan, batch_size: int, max_length: int) -> Check:
    """Estimated peak memory against what the machine has free."""
    need = estimate_memory_mb(config, n_params, plan, batch_size, max_length)
    have = available_memory_mb(plan.device)
    ok = need < have
    where = "VRAM" if plan.device == "cuda" else "RAM"
    return Check("memory fits", ok, f"~{need:,.0f} MiB needed vs {have:,.0f} MiB {where} free",
                 "" if ok else "lower train.batch_size or train.max_length, or use quantization: 4bit on a GPU")


def check_quantization(plan: TrainPlan) -> Check:
    """Whether 4-bit training is possible here, and what will be used."""
    import torch

    cuda = torch.cuda.is_available()
    try:
        import bitsandbytes  # noqa: F401
        bnb = True
    except ImportError:
        bnb = False
    possible = cuda and bnb
    detail = (f"4-bit possible: {'yes' if possible else 'no'} (CUDA: {'yes' if cuda else 'no'}, bitsandbytes: "
              f"{'yes' if bnb else 'no'}); using: {plan.quantization}, bf16: {plan.bf16}")
    return Check("quantization", True, detail)


# transformers' availability test per report_to name, where it is not is_<name>_available
_TRACKER_TESTS = {"comet_ml": "is_comet_available", "azure_ml": "is_azureml_available", "flyte": "is_flytekit_available"}


def check_trackers(names: list[str]) -> Check:
    """Every experiment tracker of train.report_to is one transformers knows and finds installed (what the Trainer
    would otherwise fail on when it builds its callbacks, at the start of training)."""
    import difflib

    from transformers.integrations import integration_utils

    known = list(integration_utils.INTEGRATION_TO_CALLBACK)
    if not names:
        return Check("experiment trackers", True, "none (train.report_to: [])")
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            return Check("experiment trackers", False, f"train.report_to names `{name}`, which transformers does not know",
                         (f"did you mean `{close[0]}`? " if close else "") + f"known: {', '.join(known)}")
        available = getattr(integration_utils, _TRACKER_TESTS.get(name, f"is_{name}_available"), None)
        if available is not None and not available():
            return Check("experiment trackers", False, f"train.report_to names `{name}`, which is not installed",
                         f"install it into the environment (e.g. .venv/bin/pip install {name}), or take `{name}` out "
                         "of train.report_to")
    return Check("experiment trackers", True, ", ".join(names))


def run_checks(folder: str, tokenizer: Any, example: dict, plan: TrainPlan, train_cfg: Any,
               trust_remote_code: bool = False) -> list[Check]:
    """All preflight checks, config-only ones first (they cost no model load)."""
    config = load_config(folder, trust_remote_code)
    n_params = estimate_params(config)
    checks = [check_architecture(config), check_rope(config), *check_template(tokenizer, example),
              check_memory(config, n_params, plan, train_cfg.batch_size, train_cfg.max_length),
              check_quantization(plan), check_trackers(list(train_cfg.get("report_to", [])))]
    return checks


def estimate_params(config: Any) -> int:
    """Parameter count from the config alone (embeddings + transformer blocks)."""
    hidden = getattr(config, "hidden_size", 0)
    inter = getattr(config, "intermediate_size", 4 * hidden)
    layers = getattr(config, "num_hidden_layers", 0)
    vocab = getattr(config, "vocab_size", 0)
    heads = getattr(config, "num_attention_heads", 1) or 1
    kv = getattr(config, "num_key_value_heads", heads) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    attn = hidden * head_dim * heads * 2 + hidden * head_dim * kv * 2
    mlp = 3 * hidden * inter
    tied = getattr(config, "tie_word_embeddings", False)
    return layers * (attn + mlp) + vocab * hidden * (1 if tied else 2)


def assert_passed(checks: list[Check]) -> None:
    """Stop before training if any check failed, listing each failure and its fix."""
    failed = [c for c in checks if not c.ok]
    if failed:
        lines = "; ".join(f"{c.name}: {c.detail} -> {c.fix}" for c in failed)
        raise ModelError(f"preflight failed: {lines}", where="02-train preflight",
                         fix="fix the failing checks above before training")


def as_rows(checks: list[Check]) -> list[dict]:
    """Checks as table rows."""
    return [{**asdict(c), "ok": "pass" if c.ok else "FAIL"} for c in checks]

