"""The propensity probe: how much more likely a model finds agent-like replies than in-voice ones.

For each probe item (a prompt with one agent-like and one in-voice reply), the model scores both
replies as the assistant turn after the prompt: the mean log-likelihood per assistant token (the
reply's tokens and its end-of-turn token, nothing else). The item's gap is

    gap = mean log p(agent-like reply) - mean log p(in-voice reply)      (nats per token)

and the model's propensity gap is the mean over items, with a 95% bootstrap interval over items.
No decoding happens, so there is no sampling noise: a model trained on agent-like data shows a larger
gap than one trained on clean data even when its greedy answers look the same. Two models are
compared by the per-item difference of their gaps (paired).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
from pydantic import Field

from molting.data import with_system_prompt
from molting.errors import SuiteError
from molting.params import read_yaml
from molting.stats import bootstrap_ci
from molting.validation import Strict, Text, items, unique, validate


@dataclass(frozen=True)
class ProbeItem:
    """One prompt with an agent-like and an in-voice reply."""

    id: str
    prompt: str
    agent_like: str
    in_voice: str


class _Item(Strict):
    id: Text = Field(description="a unique name")
    prompt: Text = Field(description="the user's message")
    agent_like: Text = Field(description="a reply in the assistant register")
    in_voice: Text = Field(description="a reply in the persona's voice")


class _ProbeSet(Strict):
    name: Optional[str] = Field(None, description="the set's name")
    items: Annotated[list[_Item], unique("item")] = items("item", min_length=1,
                                                           description="items: [{id, prompt, agent_like, in_voice}, ...]")


def load_probe(path: str | Path) -> list[ProbeItem]:
    """Items of a probe YAML file (`items: [{id, prompt, agent_like, in_voice}]`); errors name file and item."""
    probe_set = validate(_ProbeSet, read_yaml(Path(path)), str(path), SuiteError)
    return [ProbeItem(i.id, i.prompt, i.agent_like, i.in_voice) for i in probe_set.items]


def reply_logliks(model: Any, tokenizer: Any, chats: list[list[dict]], max_length: int,
                  batch_size: int = 16) -> list[tuple[float, int]]:
    """(sum of log-probabilities, token count) over the assistant tokens of each chat, batched."""
    import torch

    from molting.chat import IGNORE, tokenize_chat

    rows = [tokenize_chat(tokenizer, chat, max_length) for chat in chats]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))   # similar lengths: less padding
    results: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
    pad = tokenizer.pad_token_id
    for start in range(0, len(order), batch_size):
        batch = [rows[i] for i in order[start:start + batch_size]]
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.tensor([r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in batch])
        mask = torch.tensor([r["attention_mask"] + [0] * (width - len(r["input_ids"])) for r in batch])
        labels = torch.tensor([r["labels"] + [IGNORE] * (width - len(r["input_ids"])) for r in batch])
        with torch.inference_mode():
            sums, counts = _scored_tokens(model, ids.to(model.device), mask.to(model.device), labels[:, 1:].to(model.device))
        for j, i in enumerate(order[start:start + batch_size]):
            results[i] = (float(sums[j]), int(counts[j]))
    return results


def _scored_tokens(model: Any, ids: Any, mask: Any, targets: Any) -> tuple[Any, Any]:
    """Per row: the summed log-probability of the target tokens that are not IGNORE, and their count.

    The output layer runs only at those positions (about half of a chat): the full (batch, length, vocab)
    logits of a 49k-token vocabulary are most of the time and memory of a plain forward pass here."""
    import torch

    from molting.chat import IGNORE

    keep = targets != IGNORE
    rows, positions = keep.nonzero(as_tuple=True)
    plain_head = getattr(model.config, "final_logit_softcapping", None) is None and hasattr(model, "get_decoder")
    if plain_head:
        hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = model.get_output_embeddings()(hidden[:, :-1][rows, positions]).float()
    else:   # a model that transforms its logits: let its own forward pass make them
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1][rows, positions].float()
    picked = torch.log_softmax(logits, dim=-1).gather(-1, targets[rows, positions].unsqueeze(-1)).squeeze(-1)
    sums = torch.zeros(ids.shape[0], dtype=picked.dtype, device=picked.device).index_add_(0, rows, picked)
    return sums, keep.sum(dim=1)


def perplexity(logliks: list[tuple[float, int]]) -> float | None:
    """exp(-total log-likelihood / total tokens)."""
    tokens = sum(n for _, n in logliks)
    if not tokens:
        return None
    return round(math.exp(-sum(s for s, _ in logliks) / tokens), 4)


def propensity(model: Any, tokenizer: Any, items: list[ProbeItem], system_prompt: str | None, max_length: int,
               batch_size: int = 16) -> dict[str, dict[str, float]]:
    """Per item: mean log-likelihood per token of the agent-like and the in-voice reply, and their gap."""
    chats = []
    for item in items:
        for reply in (item.agent_like, item.in_voice):
            chats.append(with_system_prompt([{"role": "user", "content": item.prompt},
                                             {"role": "assistant", "content": reply}], system_prompt))
    scored = reply_logliks(model, tokenizer, chats, max_length, batch_size)
    mean = [s / max(n, 1) for s, n in scored]
    agent = {item.id: round(mean[2 * i], 5) for i, item in enumerate(items)}
    voice = {item.id: round(mean[2 * i + 1], 5) for i, item in enumerate(items)}
    return {"agent_like_ll": agent, "in_voice_ll": voice,
            "per_item": {item.id: round(agent[item.id] - voice[item.id], 5) for item in items}}


def summarize(result: dict, resamples: int, seed: int) -> dict[str, Any]:
    """The propensity gap (mean over items, nats per token) with its 95% bootstrap interval over items."""
    gaps = list(result["per_item"].values())
    return {"gap_nats": round(float(np.mean(gaps)), 4), "ci95": bootstrap_ci(gaps, resamples, seed),
            "items": len(gaps), "agent_like_mean_ll": round(float(np.mean(list(result["agent_like_ll"].values()))), 4),
            "in_voice_mean_ll": round(float(np.mean(list(result["in_voice_ll"].values()))), 4),
            "per_item": result["per_item"]}
