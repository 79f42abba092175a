"""Chats as a model sees them: rendered with the tokenizer's chat template, tokenised with labels on the
assistant replies only (each with its end-of-turn token), counted, and shown as a label mask. Used by
curation (lengths), training, preflight, the probe and evaluation."""

from __future__ import annotations

from typing import Any

from molting.data import with_system_prompt
from molting.errors import ModelError

IGNORE = -100  # the label of a token the loss does not see


def assistant_char_spans(tokenizer: Any, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered chat and the character spans of each assistant reply (with its end-of-turn)."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        # render the prefix with the generation prompt: the reply starts where the prompt ends
        start = len(tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True))
        end = len(tokenizer.apply_chat_template(messages[: i + 1], tokenize=False))
        if text[:end] != tokenizer.apply_chat_template(messages[: i + 1], tokenize=False):
            raise ModelError("the chat template renders a prefix differently from the whole chat",
                             where="chat template", fix="use a model whose template renders turns incrementally")
        spans.append((start, end))
    return text, spans


def tokenize_chat(tokenizer: Any, messages: list[dict], max_length: int) -> dict:
    """input_ids, attention_mask and labels (-100 outside assistant replies), cut at max_length."""
    text, spans = assistant_char_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = []
    for token_id, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"]):
        inside = any(s <= start and end <= e and end > start for s, e in spans)
        labels.append(token_id if inside else IGNORE)
    full_length = len(encoded["input_ids"])
    return {
        "input_ids": encoded["input_ids"][:max_length],
        "attention_mask": encoded["attention_mask"][:max_length],
        "labels": labels[:max_length],
        "length": min(full_length, max_length),
        "cut": full_length > max_length,
    }


def label_mask_text(tokenizer: Any, example: dict) -> str:
    """The example's text with trained tokens inside [[...]]: which tokens the loss sees."""
    out, inside = [], False
    for token_id, label in zip(example["input_ids"], example["labels"]):
        trained = label != IGNORE
        if trained != inside:
            out.append("[[" if trained else "]]")
            inside = trained
        out.append(tokenizer.decode([token_id]))
    return "".join(out) + ("]]" if inside else "")


def uncut_example(dataset: Any, max_length: int) -> dict:
    """The first example that max_length did not cut (a cut one has lost its EOS, so preflight must not judge by it)."""
    for index, length in enumerate(dataset["length"]):
        if length < max_length:
            return dataset[index]
    return dataset[0]


def token_counter(tokenizer: Any, system_prompt: str | None) -> Any:
    """A function giving a chat's length in tokens as it will be trained."""
    def count(chat: dict) -> int:
        text = tokenizer.apply_chat_template(with_system_prompt(chat["messages"], system_prompt), tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def build_dataset(chats: list[dict], tokenizer: Any, max_length: int, system_prompt: str | None) -> tuple[Any, dict]:
    """A datasets.Dataset of tokenised chats, and counts (chats, tokens, cut at max_length)."""
    import datasets

    rows = [tokenize_chat(tokenizer, with_system_prompt(chat["messages"], system_prompt), max_length) for chat in chats]
    stats = {"chats": len(rows), "tokens": sum(r["length"] for r in rows),
             "trained_tokens": sum(sum(1 for x in r["labels"] if x != IGNORE) for r in rows),
             "cut_at_max_length": sum(r["cut"] for r in rows)}
    columns = {k: [r[k] for r in rows] for k in ("input_ids", "attention_mask", "labels", "length")}
    return datasets.Dataset.from_dict(columns), stats
