"""Generation: batched answers over the KV cache as `model.generate` gives them (ended rows leave the batch, a
prompt's copies share its forward pass, sampling seeded at the temperature), the adapter merged while answering,
and bf16 inference (molting.precision) that runs the model as one loaded in bf16."""

from __future__ import annotations

import pytest

from molting import generation, precision, suite

from conftest import REPO


@pytest.fixture(scope="module")
def questions():
    return suite.load_suite(REPO / "tests" / "data" / "suite_small.yaml")


def test_generation_marks_truncation(tiny_model_dir, bundled_tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    chats = [[{"role": "user", "content": "Hello?"}], [{"role": "user", "content": "Tell me a long story please"}]]
    out = generation.generate(model, bundled_tokenizer, chats, max_new_tokens=5, batch_size=2)
    again = generation.generate(model, bundled_tokenizer, chats, max_new_tokens=5, batch_size=1)
    assert [o["text"] for o in out] == [o["text"] for o in again]   # batching (left padding) changes nothing
    for o in out:
        assert o["truncated"] == (not o["ended_with_eos"])
        assert o["new_tokens"] <= 5


def test_bf16_inference_runs_the_model_as_loaded_in_bf16_and_puts_fp32_back(tiny_model_dir, bundled_tokenizer, questions):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    chats = [[{"role": "user", "content": q.prompt}] for q in questions[:4]]
    plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    loaded_bf16 = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).eval()
    seen = []    # whether the head's input is contiguous (a strided bf16 view makes matmul copy the head per row)
    watch = plain.get_output_embeddings().register_forward_hook(lambda _, args, out: seen.append(args[0].is_contiguous()))
    with precision.inference_precision(plain, True):
        held = generation.generate(plain, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)
    watch.remove()
    assert len(seen) == 8 and all(seen) and not plain.get_output_embeddings()._forward_pre_hooks   # its hook removed
    as_loaded = generation.generate(loaded_bf16, bundled_tokenizer, chats, max_new_tokens=8, batch_size=4)
    assert [a["text"] for a in held] == [a["text"] for a in as_loaded]

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"))
    model.requires_grad_(False)                                  # as loaded for evaluation
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    with generation.merged_adapter(model), precision.inference_precision(model, True):
        assert all(p.dtype == torch.bfloat16 for p in model.parameters())            # adapter and embeddings too
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight   # still tied
        rotary = model.base_model.model.model.rotary_emb.inv_freq
        assert rotary.dtype == torch.float32                     # buffers keep fp32, as in a model loaded in bf16
        logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
        assert logits.dtype == torch.bfloat16
    after = dict(model.named_parameters())
    # fp32 again; unmerging leaves fp32 rounding residue, so equal only to ~1e-6 after the merge
    assert all(after[n].dtype == torch.float32 and torch.allclose(after[n], w, atol=1e-6) for n, w in before.items())
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    with precision.inference_precision(model, True):             # no merge: the very fp32 tensors come back
        model(input_ids=torch.tensor([[1, 2, 3]]))
    assert all(torch.equal(p, before[n]) and p.dtype == torch.float32 for n, p in model.named_parameters())
    with precision.inference_precision(model, False):            # off: nothing changes dtype
        assert all(p.dtype == torch.float32 for p in model.parameters())


def _random_llama(vocab_size: int, eos: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    # initializer_range 0.3: the fixture's tiny model (0.02) answers every prompt with one repeated token
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=vocab_size, initializer_range=0.3, eos_token_id=eos,
                         pad_token_id=eos)
    return LlamaForCausalLM(config).eval()


def test_decode_answers_as_model_generate_does_and_drops_ended_rows(bundled_tokenizer):
    import torch

    model = _random_llama(len(bundled_tokenizer))
    bundled_tokenizer.padding_side = "left"
    prompts = ["Hello?", "Tell me a long story please", "What is your name and where do you live?", "Tea or coffee?"]
    texts = [bundled_tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                   add_generation_prompt=True) for p in prompts]
    enc = bundled_tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    assert enc["attention_mask"].min() == 0                                    # rows of different lengths: left padding
    with torch.inference_mode():
        free = model.generate(**enc, max_new_tokens=10, do_sample=False, eos_token_id=None, pad_token_id=0)
    eos = free[0, enc["input_ids"].shape[1] + 2].item()      # a token the first row says third: it ends there
    batch_sizes = []
    watch = model.register_forward_pre_hook(lambda _, args, kwargs: batch_sizes.append(kwargs["input_ids"].shape[0]),
                                            with_kwargs=True)
    with torch.inference_mode():
        ours = generation.decode(model, enc, max_new_tokens=10, eos=eos)
        watch.remove()
        theirs = model.generate(**enc, max_new_tokens=10, do_sample=False, eos_token_id=eos, pad_token_id=eos)
    theirs = [row[: row.index(eos) + 1] if eos in row else row for row in theirs[:, enc["input_ids"].shape[1]:].tolist()]
    assert ours == theirs                                     # token for token, the rows that kept going too
    assert len(ours[0]) == 3 and ours[0][-1] == eos and [len(row) for row in ours[1:]] == [10, 10, 10]
    assert batch_sizes == [4, 4, 4] + [3] * 7                 # the ended row left the batch (and its cache)

    class Plain(torch.nn.Module):   # a forward that reads neither position_ids nor logits_to_keep (older remote code)
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def forward(self, input_ids, attention_mask, past_key_values, use_cache):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                              use_cache=use_cache)

    with torch.inference_mode():
        assert generation.decode(Plain(model), enc, max_new_tokens=10, eos=eos) == theirs


def test_copies_of_a_prompt_share_its_forward_pass_and_answer_as_repeated_rows_do(bundled_tokenizer):
    import torch

    model = _random_llama(len(bundled_tokenizer))
    bundled_tokenizer.padding_side = "left"
    prompts = ["Hello?", "Tell me a long story please", "Tea or coffee?"]
    copies = [2, 1, 3]
    texts = [bundled_tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                   add_generation_prompt=True) for p in prompts]
    once = bundled_tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    repeated = bundled_tokenizer([t for t, n in zip(texts, copies) for _ in range(n)], return_tensors="pt",
                                 padding=True, add_special_tokens=False)
    batch_sizes = []
    watch = model.register_forward_pre_hook(lambda _, args, kwargs: batch_sizes.append(kwargs["input_ids"].shape),
                                            with_kwargs=True)
    with torch.inference_mode():
        for temperature in (None, 1.0):
            torch.manual_seed(3)
            shared = generation.decode(model, once, max_new_tokens=6, eos=0, temperature=temperature, copies=copies)
            batch_sizes.append("-")
            torch.manual_seed(3)
            assert shared == generation.decode(model, repeated, max_new_tokens=6, eos=0, temperature=temperature)
            batch_sizes.append("|")
    watch.remove()
    first = batch_sizes[: batch_sizes.index("-")]
    assert first[0] == (3, once["input_ids"].shape[1]) and all(shape == (6, 1) for shape in first[1:])  # prompts once
    assert len(set(map(tuple, shared))) > 1                              # sampled copies differ from each other
    answers = generation.generate(model, bundled_tokenizer, [[{"role": "user", "content": p}] for p, n in zip(prompts, copies)
                                                           for _ in range(n)], max_new_tokens=6, batch_size=4, do_sample=True,
                                temperature=1.0)
    assert len(answers) == 6                                              # a question's copies may straddle batches


def test_decode_samples_the_model_distribution_at_the_temperature_seeded():
    import torch

    model = _random_llama(5)
    enc = {"input_ids": torch.tensor([[1, 2, 3]]).repeat(20_000, 1), "attention_mask": torch.ones(20_000, 3, dtype=torch.long)}
    with torch.inference_mode():
        logits = model(input_ids=enc["input_ids"][:1]).logits[0, -1]
        for temperature in (1.0, 0.5):
            expected = torch.softmax(logits / temperature, dim=-1)
            torch.manual_seed(0)
            drawn = generation.decode(model, enc, max_new_tokens=1, eos=0, temperature=temperature)
            counts = torch.bincount(torch.tensor([row[0] for row in drawn]), minlength=5).float() / 20_000
            assert torch.allclose(counts, expected, atol=0.015)          # 3+ standard errors at n = 20,000
            torch.manual_seed(0)
            assert generation.decode(model, enc, max_new_tokens=1, eos=0, temperature=temperature) == drawn   # seeded
    assert expected.max() > 0.4 and expected.min() < 0.1      # a distribution the test can tell from uniform
