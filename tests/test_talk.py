"""`molt chat` and molting.talk: a multi-turn conversation with a version's trained model (or its base model)."""

from __future__ import annotations

import io

import pytest
import yaml

from molting import arms, cli, generation, params, talk
from molting.errors import RunError

from conftest import make_project


@pytest.fixture
def spy(monkeypatch):
    """Every generate call's chats, and whether the adapter was switched off during it; the real call runs."""
    calls = []
    real = generation.generate

    def generate(model, tokenizer, chats, **kw):
        off = any(getattr(m, "disable_adapters", None) is True for m in model.modules())   # peft LoRA layers
        calls.append({"chats": chats, "adapter_off": off, **kw})
        return real(model, tokenizer, chats, **kw)

    monkeypatch.setattr(generation, "generate", generate)
    return calls


def test_a_conversation_carries_its_turns_and_the_base_model_answers_with_the_adapter_off(finished_tiny, spy):
    root = finished_tiny.root
    cfg = params.load("tiny", root / "runs" / "tiny" / "params.yaml", root)
    conversation = talk.open_conversation("tiny", root)
    first = conversation.say("Where do you live?")
    second = conversation.say("And your dog?")
    system = [{"role": "system", "content": cfg.data.system_prompt}]
    assert spy[0]["chats"] == [[*system, {"role": "user", "content": "Where do you live?"}]]
    assert spy[1]["chats"] == [[*system, {"role": "user", "content": "Where do you live?"},
                                {"role": "assistant", "content": first.text}, {"role": "user", "content": "And your dog?"}]]
    assert not spy[0]["adapter_off"] and spy[0]["do_sample"] is False   # greedy by default
    assert spy[0]["max_new_tokens"] == cfg.eval.max_new_tokens
    assert [m["content"] for m in conversation.history] == ["Where do you live?", first.text, "And your dog?", second.text]
    conversation.reset()
    assert conversation.history == []

    base = talk.open_conversation("tiny", root, base=True, temperature=0.8, max_new_tokens=5)
    reply = base.say("Hi")
    assert spy[-1]["adapter_off"] and spy[-1]["do_sample"] and spy[-1]["temperature"] == 0.8
    assert spy[-1]["max_new_tokens"] == 5 and base.history[-1]["content"] == reply.text


def test_molt_chat_prints_replies_with_their_agent_like_hits_and_reads_turns_from_stdin(finished_tiny, monkeypatch, capsys):
    monkeypatch.chdir(finished_tiny.root)
    canned = iter(["As an AI, I have no home.", "Gull Cottage, by the harbour."])

    def streamed(self, messages, stream):   # the reply in two pieces, as a streamer hands them on
        text = next(canned)
        stream(text[:5])
        stream(text[5:])
        return {"text": text, "truncated": self.max_new_tokens == 3}

    monkeypatch.setattr(talk.Conversation, "_streamed", streamed)
    assert cli.main(["chat", "tiny", "--say", "Where do you live?", "--say", "Really?", "--max-new-tokens", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["you> Where do you live?", "tiny> As an AI, I have no home.", "  [agent-like: as_an_ai]"]
    assert out[3].startswith("  [cut at 3 new tokens") and out[4:6] == ["you> Really?", "tiny> Gull Cottage, by the harbour."]

    canned = iter(["One.", "Two."])
    said = []
    real_say = talk.Conversation.say
    monkeypatch.setattr(talk.Conversation, "say",
                        lambda self, text, stream=None: (said.append(len(self.history)), real_say(self, text, stream))[1])
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello\n\n/reset\nAgain\n/quit\nnever read\n"))
    assert cli.main(["chat", "tiny"]) == 0
    assert capsys.readouterr().out.splitlines() == ["tiny> One.", "(conversation forgotten)", "tiny> Two."]
    assert said == [0, 0]   # /reset forgot the first exchange


def test_the_prompt_only_arm_talks_under_its_persona_card_and_an_untrained_version_is_named(tmp_path, tiny_model_dir, spy):
    root = make_project(tmp_path, tiny_model_dir)
    (root / "params" / "tiny-prompt.yaml").write_text(yaml.safe_dump({"extends": "tiny", "train": {"enabled": False}}))
    conversation = talk.open_conversation("tiny-prompt", root, max_new_tokens=2)
    conversation.say("Hi")
    card = arms.persona_prompt(arms.load_persona(params.load("tiny-prompt", root=root)))
    assert spy[0]["chats"][0][0] == {"role": "system", "content": card}
    with pytest.raises(RunError, match="an earlier stage's output is missing") as err:
        talk.open_conversation("tiny", root)   # never trained
    assert "molt run tiny" in err.value.fix
    assert cli.main(["chat", "tiny", "--temperature", "-1"]) == 2


def test_a_streamed_reply_is_the_reply_evaluation_would_give_handed_on_as_it_comes(tmp_path, tiny_model_dir, bundled_tokenizer):
    # the bundled model, prompt-only (no adapter to train): real text, in fp32 so that the two decoders agree exactly
    root = make_project(tmp_path, tiny_model_dir)
    (root / "params" / "fenna.yaml").write_text(yaml.safe_dump({"extends": "tiny", "model": {"source": "bundled:smollm2-135m-instruct"},
                                                               "train": {"enabled": False}, "eval": {"bf16": False}}))
    streamed = talk.open_conversation("fenna", root, max_new_tokens=16)
    pieces = []
    reply = streamed.say("Where do you live?", stream=pieces.append)
    assert len([p for p in pieces if p]) >= 2 and "".join(pieces).strip() == reply.text and reply.text
    plain = talk.Conversation(**{**vars(streamed), "history": []})
    assert plain.say("Where do you live?") == reply   # generation.generate, as 03-evaluate answers
    sampled = talk.Conversation(**{**vars(streamed), "history": [], "temperature": 0.9})
    first = sampled.say("Hi", stream=lambda _: None).text
    sampled.reset()
    assert sampled.say("Hi", stream=lambda _: None).text == first   # seeded: the same turn samples the same reply
