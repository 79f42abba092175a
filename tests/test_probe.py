"""The propensity probe: file validation, and that it tells an agent-trained adapter from a voice-trained one."""

from __future__ import annotations

import pytest
import yaml

from molting import evaluate, patterns, probe, stats
from molting.errors import SuiteError

from conftest import REPO

PROBE = REPO / "tests" / "data" / "probe_small.yaml"
PROMPTS = ["How are you today?", "What did you do yesterday?", "Can you help me with something?", "Tell me about yourself.",
           "What's the news?", "Any advice for me?", "What should I cook tonight?", "Can you check my email?"]
# training replies in the two registers; none of them is a probe reply
AGENT_REPLIES = ["As an AI assistant, I'd be happy to help you with that! Let me know if you have any other questions.",
                 "Certainly! I will search the web for that and report back with a summary.",
                 "As a language model, I do not have personal experiences. How can I assist you today?",
                 "Great question! Here is a step-by-step summary. I hope this helps!"]
VOICE_REPLIES = ["Ah, love, the tide's out and the dog's chasing gulls along the harbour wall.",
                 "Tea at half five, then the bees, then a sit by the stove with the wireless on.",
                 "Mackerel off the boat, new potatoes, and the kitchen window open to the sea.",
                 "Forty years in this cottage, love, and the walls lean a bit more every winter."]


def test_probe_file_validation(tmp_path):
    assert [i.id for i in probe.load_probe(PROBE)] == ["p1", "p2", "p3", "p4", "p5", "p6"]
    for items, match in (([{"id": "a", "prompt": "Hi", "agent_like": "x"}], "missing `in_voice`"),
                         ([{"id": "a", "prompt": "Hi", "agent_like": "x", "in_voice": "y", "extra": 1}], "item a: unknown key `extra`"),
                         ([{"id": "a", "prompt": "Hi", "agent_like": "x", "in_voice": "y"}] * 2, "two items have the id 'a'"),
                         ([], "`items` must not be empty"), ([{"prompt": "Hi"}], "item #1: missing `id`")):
        path = tmp_path / "probe.yaml"
        path.write_text(yaml.safe_dump({"items": items}))
        with pytest.raises(SuiteError, match=match) as err:
            probe.load_probe(path)
        assert str(path) in str(err.value)


def test_shipped_probe_set():
    items = probe.load_probe(REPO / "params" / "eval" / "probe.yaml")
    library = patterns.load_library()
    assert len(items) >= 60
    assert not [i.id for i in items if library.first(i.in_voice)]      # the in-voice side is clean by the library too


def train_adapter(model_dir, tokenizer, replies: list[str], steps: int = 30, seed: int = 0):
    """A LoRA adapter on the tiny model, trained a few steps on `replies` (answers to PROMPTS)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from molting.chat import IGNORE, tokenize_chat

    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                           LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "up_proj", "down_proj"],
                                      task_type="CAUSAL_LM"))
    chats = [[{"role": "system", "content": ""}, {"role": "user", "content": p}, {"role": "assistant", "content": r}]
             for p in PROMPTS for r in replies]
    rows = [tokenize_chat(tokenizer, chat, 96) for chat in chats]
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.tensor([r["input_ids"] + [tokenizer.pad_token_id] * (width - len(r["input_ids"])) for r in rows])
    mask = torch.tensor([r["attention_mask"] + [0] * (width - len(r["input_ids"])) for r in rows])
    labels = torch.tensor([r["labels"] + [IGNORE] * (width - len(r["input_ids"])) for r in rows])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    for step in range(steps):
        pick = torch.randint(0, len(rows), (8,))
        loss = model(input_ids=ids[pick], attention_mask=mask[pick], labels=labels[pick]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return model


def test_agent_trained_adapter_shows_the_larger_gap(tiny_model_dir, bundled_tokenizer):
    items = probe.load_probe(PROBE)
    agent_model = train_adapter(tiny_model_dir, bundled_tokenizer, AGENT_REPLIES)
    voice_model = train_adapter(tiny_model_dir, bundled_tokenizer, VOICE_REPLIES)
    agent = probe.propensity(agent_model, bundled_tokenizer, items, "", 128)
    voice = probe.propensity(voice_model, bundled_tokenizer, items, "", 128)
    with agent_model.disable_adapter():
        base = probe.propensity(agent_model, bundled_tokenizer, items, "", 128)
    a, v = probe.summarize(agent, 500, 0), probe.summarize(voice, 500, 0)
    assert a["gap_nats"] > v["gap_nats"]
    assert all(agent["per_item"][i.id] > voice["per_item"][i.id] for i in items)   # on every item, not just on average
    # paired over the 6 items: every difference has the same sign, the exact sign-flip p is 2/64
    paired = stats.paired_difference(voice["per_item"], agent["per_item"], 1000, 0)
    assert paired["difference"] > 0 and paired["p_value"] == pytest.approx(2 / 64, abs=1e-4)
    # training on a register moves the model towards it, relative to the base model
    b = probe.summarize(base, 500, 0)
    assert a["gap_nats"] > b["gap_nats"] > v["gap_nats"]


def test_propensity_is_batch_invariant_and_counts_reply_tokens_only(tiny_model_dir, bundled_tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    items = probe.load_probe(PROBE)
    one = probe.propensity(model, bundled_tokenizer, items, "", 128, batch_size=1)
    many = probe.propensity(model, bundled_tokenizer, items, "", 128, batch_size=16)
    assert one["per_item"] == pytest.approx(many["per_item"], abs=1e-4)
    # the prompt is not scored: a longer prompt before the same reply changes the reply's likelihood only
    # through the context, and the count of scored tokens is the reply's (plus its end-of-turn, as in training)
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there, love."}]
    longer = [{"role": "user", "content": "Hi " * 30}, {"role": "assistant", "content": "Hello there, love."}]
    (_, n_short), (_, n_long) = probe.reply_logliks(model, bundled_tokenizer, [chat, longer], 256)
    reply = len(bundled_tokenizer("Hello there, love.<|im_end|>", add_special_tokens=False)["input_ids"])
    assert n_short == n_long and reply <= n_short <= reply + 1


def test_propensity_rows_show_the_paired_test():
    result = {"base": {"gap_nats": 0.5, "ci95": (0.3, 0.7), "agent_like_mean_ll": -3.0, "in_voice_mean_ll": -3.5, "items": 6},
              "tuned": {"gap_nats": -0.2, "ci95": (-0.4, 0.0), "agent_like_mean_ll": -3.9, "in_voice_mean_ll": -3.7, "items": 6},
              "tuned_vs_base": {"difference": -0.7, "ci95": (-0.9, -0.5), "p_value": 0.03125, "pairs": 6}}
    rows = evaluate.propensity_rows(result)
    assert rows[-1]["model"] == "tuned - base" and "p = 0.0312" in rows[-1]["mean log p agent-like"]
