"""Answers from a model: batched chat generation over the KV cache (greedy or sampled), and the adapter folded into
the base weights while it answers. Evaluation (molting.evaluate) answers its question suites with these; bf16
inference is molting.precision's."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any, Iterator


def generate(model: Any, tokenizer: Any, chats: list[list[dict]], *, max_new_tokens: int, batch_size: int,
             do_sample: bool = False, temperature: float = 0.7, seed: int = 0) -> list[dict]:
    """Answer each chat with the chat template, batched with left padding (`decode`); marks truncated answers.
    Equal chats next to each other in a batch (a question's samples) share one forward pass over their prompt."""
    import torch

    tokenizer.padding_side = "left"  # decoder-only models must continue from the right edge
    eos = tokenizer.eos_token_id
    results = []
    for start in range(0, len(chats), batch_size):
        groups = [(chat, len(list(run))) for chat, run in itertools.groupby(chats[start:start + batch_size])]
        texts = [tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for chat, _ in groups]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        torch.manual_seed(seed + start)
        with torch.inference_mode():
            rows = decode(model, enc, max_new_tokens=max_new_tokens, eos=eos,
                          temperature=temperature if do_sample else None, copies=[n for _, n in groups])
        for row in rows:
            ended = eos in row
            tokens = row[: row.index(eos)] if ended else row
            results.append({"text": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                            "new_tokens": len(tokens) + (1 if ended else 0), "ended_with_eos": ended,
                            "truncated": (not ended) and len(row) >= max_new_tokens})
    return results


def decode(model: Any, enc: Any, *, max_new_tokens: int, eos: int, temperature: float | None = None,
           copies: list[int] | None = None) -> list[list[int]]:
    """The new tokens of each row of a left-padded batch: greedy (`temperature` None) or sampled at `temperature`,
    one step at a time over the KV cache, as `model.generate` does, except that a row that ends (EOS) leaves the
    batch and its cache, where `model.generate` runs every row until the batch's last one ends. With `copies`,
    row i is answered copies[i] times (next to each other in the result) from one forward pass over its prompt:
    the prompt's keys, values and last logits are repeated (`model.generate`'s num_return_sequences repeats the
    prompt before that pass). A batch of 128 sampled answers (~26 questions x 5) spent ~4 s of ~20 s on its prompts.

    Measured on 2 CPU cores with the bundled model in bf16 (2026-12-07, one process after the other): 255 sampled
    answers at batch 128, 46.6 s against 58.9 s for `model.generate`; 51 greedy answers 14.0 s vs 13.8 s (the batch
    runs as long as its longest answer either way). Greedy answers are `model.generate`'s token for token (a test
    keeps them so); sampled ones were the same in 254 of 255 (bf16 rounds a smaller batch's matmuls differently).
    A token is drawn by inverse CDF (cumsum, searchsorted) from one uniform per row and step, drawn for the whole
    batch so that a row's draws do not depend on which rows still run: `torch.multinomial`, which `model.generate`
    samples with, draws an exponential per vocabulary entry (129 ms against 3.3 ms per step for 128 x 49,152).
    transformers' continuous batching (`generate_batch`, paged attention), which also drops ended rows, took
    106.6 s against 30.6 s for 96 sampled answers here."""
    import inspect

    import torch
    from transformers import DynamicCache

    # as model.generate asks the model (a PeftModel's forward takes **kwargs: its base model's says what it reads)
    accepts = inspect.signature((model.get_base_model() if hasattr(model, "get_base_model") else model).forward).parameters
    extra = {"logits_to_keep": 1} if "logits_to_keep" in accepts else {}   # else every position's logits: more memory
    ids, mask = enc["input_ids"], enc["attention_mask"]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)   # left padding: each row counts from 0
    cache = DynamicCache(config=model.config)
    repeats = torch.tensor(copies, device=ids.device) if copies is not None and max(copies) > 1 else None
    answers = int(sum(copies)) if copies is not None else ids.shape[0]
    rows = torch.arange(answers, device=ids.device)    # the answer each running row writes
    out: list[list[int]] = [[] for _ in range(answers)]
    for step in range(max_new_tokens):
        if "position_ids" in accepts:
            extra["position_ids"] = positions
        logits = model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True,
                       **extra).logits[:, -1, :].float()
        if step == 0 and repeats is not None:   # each prompt's state, once per answer it gets
            logits = logits.repeat_interleave(repeats, dim=0)
            cache.batch_repeat_interleave(repeats)
            mask, positions = mask.repeat_interleave(repeats, dim=0), positions.repeat_interleave(repeats, dim=0)
        if temperature is None:
            token = logits.argmax(-1)
        else:
            cdf = torch.softmax(logits / temperature, dim=-1).cumsum(-1)
            total = cdf[:, -1:]
            u = torch.rand((len(out), 1)).to(logits.device)[rows] * total
            # strictly below the total, so some cdf entry exceeds it; a zero-probability token never adds to the
            # cdf, so `right=True` never lands on one
            token = torch.searchsorted(cdf, torch.minimum(u, torch.nextafter(total, torch.zeros_like(total))),
                                       right=True).squeeze(1)
        for row, t in zip(rows.tolist(), token.tolist()):
            out[row].append(t)
        running = token != eos
        if step == max_new_tokens - 1 or not running.any():
            break
        if not running.all():
            keep = running.nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            mask, positions, rows, token = mask[keep], positions[keep], rows[keep], token[keep]
        ids = token[:, None]
        mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
        positions = positions[:, -1:] + 1
    return out




@contextlib.contextmanager
def merged_adapter(model: Any) -> Iterator[bool]:
    """The LoRA weights folded into the base weights for the duration, unmerged after (so `disable_adapter()`
    gives the base model again); yields whether it merged. A merged layer is one matmul instead of three: the
    tuned answers of the default take 1.1-1.2x less time (benchmarks/bench_eval.py). Nothing is merged for a model
    without adapters, one already merged, or a 4/8-bit base (merging into quantized weights rounds them)."""
    quantized = getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False)
    layers = [m for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "merged")] \
        if hasattr(model, "merge_adapter") and not quantized else []
    if not layers or any(m.merged for m in layers):
        yield False
        return
    model.merge_adapter()
    try:
        yield True
    finally:
        model.unmerge_adapter()
