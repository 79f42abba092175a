"""Talking to a version's model: the base model with the version's adapter (or, for the prompt-only arm, the persona
card as system prompt), under the system prompt its evaluation measured it with, each reply checked by the version's
pattern library. `molt chat <version>` is the command line over it; in a notebook:

    talk = talk.open_conversation("v2.1")
    talk.say("Where do you live?").text
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from molting.data import with_system_prompt


@dataclass(frozen=True)
class Reply:
    text: str
    truncated: bool            # cut at max_new_tokens without an end of turn
    hits: tuple[str, ...]      # the version's agent-like patterns that match the reply


@dataclass
class Conversation:
    """A multi-turn chat with one model: every reply sees the turns before it (`reset` forgets them)."""

    model: Any
    tokenizer: Any
    system_prompt: str | None
    library: Any
    max_new_tokens: int = 96
    temperature: float = 0.0       # 0: greedy, the answer the report's side-by-side tables show
    seed: int = 42
    base: bool = False             # the base model, adapter switched off
    bf16: Any = False              # eval.bf16: auto | true | false
    history: list[dict] = field(default_factory=list)

    def say(self, text: str, stream: Callable[[str], None] | None = None) -> Reply:
        """The model's reply to `text`, after the turns so far; both join the history. With `stream`, the reply's
        text is handed to it piece by piece as it is generated (transformers' streamer under `model.generate`)."""
        from molting import generation, precision

        messages = with_system_prompt([*self.history, {"role": "user", "content": text}], self.system_prompt)
        adapter_off = self.model.disable_adapter() if self.base and hasattr(self.model, "disable_adapter") \
            else contextlib.nullcontext()
        with adapter_off, precision.inference_precision(self.model, self.bf16):
            if stream is None:
                [answer] = generation.generate(self.model, self.tokenizer, [messages], max_new_tokens=self.max_new_tokens,
                                               batch_size=1, do_sample=self.temperature > 0,
                                               temperature=self.temperature or 1.0, seed=self.seed + len(self.history))
            else:
                answer = self._streamed(messages, stream)
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": answer["text"]}]
        return Reply(answer["text"], answer["truncated"], tuple(h.rule for h in self.library.scan(answer["text"])))

    def _streamed(self, messages: list[dict], stream: Callable[[str], None]) -> dict:
        """One reply through `model.generate` with a streamer that hands each finished piece of text to `stream`."""
        import torch
        from transformers import TextStreamer

        class Forward(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                stream(text)

        tokenizer = self.tokenizer
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        sampling = {"do_sample": True, "temperature": self.temperature, "top_k": None, "top_p": None} \
            if self.temperature > 0 else {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
        torch.manual_seed(self.seed + len(self.history))
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                      streamer=Forward(tokenizer, skip_prompt=True, skip_special_tokens=True), **sampling)
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        ended = tokenizer.eos_token_id in new
        tokens = new[: new.index(tokenizer.eos_token_id)] if ended else new
        return {"text": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                "truncated": not ended and len(new) >= self.max_new_tokens}

    def reset(self) -> None:
        self.history = []


def open_conversation(version: str, root: str | Path | None = None, *, base: bool = False,
                      temperature: float = 0.0, max_new_tokens: int | None = None) -> Conversation:
    """A conversation with a version's trained model (or its base model with `base`), under the params it was run
    with (runs/<version>/params.yaml) where it has run, else params/<version>.yaml."""
    from molting import curate, evaluate, models, params
    from molting.runs import RunPaths

    root_path = Path(root) if root else params.find_root()
    paths = RunPaths(root_path, version)
    cfg = params.load(version, paths.params_file if paths.params_file.is_file() else None, root_path)
    prompt_only = not cfg.train.enabled
    model, tokenizer = evaluate.load_tuned(models.source_for(cfg), paths.adapter_dir, cfg.model.trust_remote_code,
                                           prompt_only=prompt_only, chat_template=models.chat_template(cfg))
    return Conversation(model, tokenizer,
                        system_prompt=cfg.data.system_prompt if base else evaluate.tuned_system_prompt(cfg),
                        library=curate.library_for(cfg), max_new_tokens=max_new_tokens or cfg.eval.max_new_tokens,
                        temperature=temperature, seed=cfg.seed, base=base, bf16=cfg.eval.get("bf16", False))
