"""The model resolver: bundled GGUF, local folder, .gguf path, hub id; clear errors for the rest."""

from __future__ import annotations

import pytest

from molting import models
from molting.errors import ModelError

from conftest import write_gguf


def test_bundled_model_is_found_and_converted_once():
    src = models.resolve_source("bundled:smollm2-135m-instruct")
    assert src.kind == "bundled" and src.location.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    folder = models.local_folder(src)
    assert (models.Path(folder) / "model.safetensors").is_file()
    assert models.local_folder(src) == folder            # cached: the second call converts nothing


def test_concurrent_conversions_convert_once_and_never_replace_a_folder_in_use(tmp_path, monkeypatch):
    """Two processes (here: threads) asking for the same GGUF at once: one converts, the other waits and reuses it."""
    import threading
    import time

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF fake")
    monkeypatch.setenv("MOLTING_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_convert(_gguf, target):
        calls.append(target)
        time.sleep(0.3)                       # the other caller arrives while this one converts
        target.mkdir(parents=True)
        (target / "molting-converted.txt").write_text("converted\n")

    monkeypatch.setattr(models, "_convert_into", fake_convert)
    results = []
    threads = [threading.Thread(target=lambda: results.append(models.convert_gguf(gguf))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results[0] == results[1] == calls[0]


def test_the_same_gguf_in_another_folder_reuses_the_conversion(tmp_path, monkeypatch):
    """The cache is keyed by the file's content: a new venv or clone (another path, another mtime) converts
    nothing again; a changed file converts anew."""
    monkeypatch.setenv("MOLTING_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_convert(_gguf, target):
        calls.append(target)
        target.mkdir(parents=True)
        (target / "molting-converted.txt").write_text("converted\n")

    monkeypatch.setattr(models, "_convert_into", fake_convert)
    first, second = tmp_path / "venv-a" / "m.gguf", tmp_path / "venv-b" / "m.gguf"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(b"GGUF the same weights")
    assert models.convert_gguf(first) == models.convert_gguf(second) and len(calls) == 1
    second.write_bytes(b"GGUF other weights")
    assert models.convert_gguf(second) != models.convert_gguf(first) and len(calls) == 2


def test_local_folder_and_gguf_path_and_hub_id(tiny_model_dir, tmp_path):
    assert models.resolve_source(str(tiny_model_dir)).kind == "folder"
    gguf = models.bundled_gguf("smollm2-135m-instruct")
    assert models.resolve_source(str(gguf)).kind == "gguf"
    hub = models.resolve_source("TinyLlama/TinyLlama-1.1B-Chat-v1.0", revision="main")
    assert (hub.kind, hub.location, hub.revision) == ("hub", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "main")


@pytest.mark.parametrize("source,match", [
    ("bundled:gpt-5", "unknown bundled model"),
    ("./models/missing", "local model folder not found"),
    ("/nowhere/model.gguf", "GGUF file not found"),
    ("just-a-name", "neither a hub id"),
    ("", "model.source is empty"),
])
def test_unresolvable_sources_say_what_to_do(source, match):
    with pytest.raises(ModelError, match=match) as err:
        models.resolve_source(source)
    assert "What to do:" in str(err.value)


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        models.resolve_source(str(tmp_path))


@pytest.mark.parametrize("load", [models.load_model, models.load_tokenizer], ids=["model", "tokenizer"])
def test_unreachable_hub_id_is_a_clear_error(monkeypatch, load):
    # curation loads the tokenizer first: offline, a hub id failed there with transformers' OSError
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = models.resolve_source("molting-test/does-not-exist")
    with pytest.raises(ModelError, match="cannot load the (model|tokenizer) of `molting-test/does-not-exist`") as err:
        load(src)
    assert err.value.where == "model.source" and "give model.source the folder" in err.value.fix


def test_a_conversion_parses_the_gguf_once_and_builds_each_name_map_once(tmp_path):
    import gguf
    import numpy as np

    path = write_gguf(tmp_path / "small.gguf", "llama", 2)
    with models._gguf_parsed_once():
        first, again = gguf.GGUFReader(str(path)), gguf.GGUFReader(str(path))
        assert first is again and first.fields["llama.block_count"].contents() == 2
        assert np.array_equal(first.tensors[0].data, np.ones((4, 4), dtype="float32"))
        name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
        assert name_map is gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
        assert name_map.get_name("model.layers.1.self_attn.q_proj") == "blk.1.attn_q"
    assert gguf.GGUFReader(str(path)) is not first, "outside a conversion gguf reads the file afresh"
    assert gguf.get_tensor_name_map is gguf.tensor_mapping.get_tensor_name_map


def test_a_generic_fast_tokenizer_loads_as_autotokenizer_would_without_torch(tiny_model_dir, tmp_path):
    import json
    import subprocess
    import sys

    from transformers import AutoTokenizer

    ours = models.load_tokenizer(models.resolve_source(str(tiny_model_dir)))
    auto = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert type(ours) is type(auto)
    chat = [{"role": "user", "content": "Where's home?"}, {"role": "assistant", "content": "Gull Cottage, love."}]
    text = ours.apply_chat_template(chat, tokenize=False)
    assert text == auto.apply_chat_template(chat, tokenize=False)
    assert ours(text, return_offsets_mapping=True).data == auto(text, return_offsets_mapping=True).data
    assert (ours.pad_token, ours.eos_token, ours.all_special_tokens) == (auto.pad_token, auto.eos_token, auto.all_special_tokens)
    # what it is for: curation counts tokens without importing torch
    code = ("import sys; from molting import models; "
            f"models.load_tokenizer(models.resolve_source({str(tiny_model_dir)!r})); print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
    # any other tokenizer class still goes through AutoTokenizer
    other = tmp_path / "other"
    ours.save_pretrained(other)
    (other / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    config = json.loads((other / "tokenizer_config.json").read_text())
    (other / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "GPT2Tokenizer"}))
    assert type(models.load_tokenizer(models.resolve_source(str(other)))).__name__ == "GPT2Tokenizer"


def test_bitsandbytes_asking_for_an_optional_hub_kernel_stays_out_of_the_output():
    import subprocess
    import sys

    def stderr(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stderr

    if "pip install kernels" not in stderr("import peft"):
        pytest.skip("bitsandbytes does not warn on this CPU (no AVX512-BF16): nothing to keep out")
    assert "pip install kernels" not in stderr("import molting, peft")


@pytest.fixture
def base_model_dir(tiny_model_dir, tmp_path):
    """The tiny model as a base model: its tokenizer without a chat template."""
    import json
    import shutil

    folder = tmp_path / "base"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_a_base_model_gets_a_chat_template_from_the_params(base_model_dir, tmp_path):
    import yaml

    from molting import chat, params, preflight
    from molting.errors import ParamsError

    from conftest import make_project

    root = make_project(tmp_path, base_model_dir)
    with pytest.raises(ModelError, match="the model has no chat template") as err:
        models.tokenizer_for(params.load("tiny", root=root))   # before: transformers' error at curation's first chat
    assert "model.chat_template: zephyr" in err.value.fix

    (root / "params" / "zephyr.yaml").write_text(yaml.safe_dump({"extends": "tiny", "model": {"chat_template": "zephyr"}}))
    tokenizer = models.tokenizer_for(params.load("zephyr", root=root))
    turns = [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "Fenna, love."}]
    example = chat.tokenize_chat(tokenizer, turns, 64)
    trained = tokenizer.decode([t for t, label in zip(example["input_ids"], example["labels"]) if label != chat.IGNORE])
    assert trained == "Fenna, love." + tokenizer.eos_token   # the reply and its end of turn, nothing of the prompt
    assert all(check.ok for check in preflight.check_template(tokenizer, example))

    (root / "mine.jinja").write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}"
                                     "{% if add_generation_prompt %}[assistant] {% endif %}")
    (root / "params" / "own.yaml").write_text(yaml.safe_dump({"extends": "tiny", "model": {"chat_template_file": "mine.jinja"}}))
    tokenizer = models.tokenizer_for(params.load("own", root=root))
    assert tokenizer.apply_chat_template(turns, tokenize=False) == f"[user] Who are you?{tokenizer.eos_token}" \
                                                                   f"[assistant] Fenna, love.{tokenizer.eos_token}"
    (root / "mine.jinja").write_text("{% for m in messages %}{{ m['content'] }{% endfor %}")   # a brace missing
    with pytest.raises(ModelError, match="the chat template does not render: TemplateSyntaxError") as err:
        models.tokenizer_for(params.load("own", root=root))
    assert err.value.where == "model.chat_template_file: mine.jinja"
    with pytest.raises(ParamsError, match="both chat_template and chat_template_file are set"):
        params.schema.check({"model": {"chat_template": "zephyr", "chat_template_file": "mine.jinja"}}, "params/x.yaml")
