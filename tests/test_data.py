"""Loading raw chats: every common format, and clear errors naming file and line."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from molting.data import load_chats, with_system_prompt
from molting.errors import DataError

from conftest import REPO

CHAT = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, love."}]}


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_sample_data_loads_whole():
    loaded = load_chats(REPO / "data" / "sample" / "raw.jsonl")
    assert len(loaded.chats) == 484 and loaded.skipped == []
    assert loaded.chats[0]["id"] == "s0001"
    assert any(c["messages"][0]["role"] == "system" for c in loaded.chats)
    assert any(len(c["messages"]) >= 4 for c in loaded.chats)


@pytest.fixture(scope="module")
def generator():
    """data/sample/make_sample.py as a module (it is a stdlib script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "data" / "sample" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(generator):
    return generator.build()      # runs the generator's own checks too


def test_sample_files_are_what_the_generator_writes(built):
    for name, rows in zip(("raw.jsonl", "labels.jsonl"), built):
        written = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        assert (REPO / "data" / "sample" / name).read_text(encoding="utf-8") == written, f"rerun data/sample/make_sample.py ({name})"


def test_sample_states_every_suite_fact_in_a_few_dozen_chats(built):
    """Facts stated in fewer than 10 training chats were almost never sampled (benchmarks/RESULTS.md): the sample
    states each fact of the personality suite, as the answer must (every pattern of an "all" question in one
    chat), in a few dozen raw chats, and a dozen or more of them clean."""
    from molting import coverage, suite

    raw, labels = built
    questions = suite.load_suites(["params/eval/personality.yaml"], REPO)
    every = coverage.fact_coverage(questions, raw)["questions"]
    clean = coverage.fact_coverage(questions, [c for c, lab in zip(raw, labels) if lab["noise"] == "clean"])["questions"]
    assert len(every) == 23
    assert {q: n["stated_in"] for q, n in every.items() if n["stated_in"] < 25} == {}
    assert {q: n["stated_in"] for q, n in clean.items() if n["stated_in"] < 12} == {}


def test_sample_noise_follows_the_question_and_is_a_large_share_of_the_words(built):
    _, labels = built
    unique = [lab for lab in labels if lab["duplicate_of"] is None]
    noisy = [lab for lab in unique if lab["noise"] != "clean"]
    rate = {}
    for trigger in ("plain", "lookup", "identity", "plan", "task", "awkward"):
        chats = [lab for lab in unique if lab["turns"][lab["noisy_turn"] or 0]["trigger"] == trigger]
        rate[trigger] = sum(lab["noise"] != "clean" for lab in chats) / len(chats)
    assert all(rate[t] >= rate["plain"] + 0.25 for t in rate if t != "plain"), rate
    assert sum(lab["noise_words"] for lab in noisy) / sum(lab["reply_words"] for lab in noisy) >= 0.5
    assert {lab["shape"] for lab in noisy} == {"pure", "mixed"}
    banks = [lab["noise_bank"] for lab in noisy]
    assert abs(banks.count("library") - banks.count("heldout")) <= 12


def test_sample_generator_refuses_sentences_shared_with_test_chats(generator, built, tmp_path):
    raw, labels = built
    reply = next(m["content"] for m in raw[0]["messages"] if m["role"] == "assistant")
    test_file = jsonl(tmp_path / "test.jsonl", [{"messages": [{"role": "user", "content": "Hm?"},
                                                              {"role": "assistant", "content": "Well now. " + reply}]}])
    with pytest.raises(AssertionError, match="sentences shared with test.jsonl"):
        generator.check(raw, labels, test_file)
    jsonl(test_file, [{"messages": [{"role": "user", "content": "Hm?"},
                                    {"role": "assistant", "content": "Nothing here was ever said in the sample chats."}]}])
    generator.check(raw, labels, test_file)


def test_heldout_noise_bank_never_appears_in_the_pattern_library(generator):
    # the held-out bank only measures recall: a pattern example copied from it would make that figure a lie
    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("''", "'"))) + " "

    library = words((REPO / "lib" / "molting" / "patterns" / "agent_like.yaml").read_text(encoding="utf-8"))
    chunks = [words(chunk) for phrase in generator.bank_phrases("heldout") for chunk in re.split(r"\{\w+\}", phrase)]
    chunks = [c for c in chunks if len(c.split()) >= 4]
    assert len(chunks) > 100
    assert not [c.strip() for c in chunks if c in library]


@pytest.mark.parametrize("row,expected", [
    ({"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey"}]},
     [("system", "Be kind."), ("user", "Hi"), ("assistant", "Hey")]),
    ({"instruction": "Name a fish", "input": "A small one", "output": "A sprat."},
     [("user", "Name a fish\n\nA small one"), ("assistant", "A sprat.")]),
    ({"prompt": "Tea?", "completion": "Always."}, [("user", "Tea?"), ("assistant", "Always.")]),
    (CHAT, [("user", "Hi"), ("assistant", "Hello, love.")]),
    (CHAT["messages"], [("user", "Hi"), ("assistant", "Hello, love.")]),                 # a bare list of turns
    ({"conversation_id": "c9", "model": "vicuna-13b", "conversation": CHAT["messages"], "language": "English"},
     [("user", "Hi"), ("assistant", "Hello, love.")]),                                    # LMSYS-Chat-1M, WildChat
])
def test_formats_are_normalised(tmp_path, row, expected):
    chats = load_chats(jsonl(tmp_path / "d.jsonl", [row])).chats
    assert [(m["role"], m["content"]) for m in chats[0]["messages"]] == expected


@pytest.mark.parametrize("row,expected", [
    ({"question": "Where do you live?", "answer": "Gull Cottage."}, [("user", "Where do you live?"), ("assistant", "Gull Cottage.")]),
    ({"query": "Tea?", "response": "Always."}, [("user", "Tea?"), ("assistant", "Always.")]),            # MetaMathQA
    ({"instruction": "Name a fish", "context": "", "response": "A sprat.", "category": "open_qa"},    # Dolly
     [("user", "Name a fish"), ("assistant", "A sprat.")]),
    ({"instruction": "Sum it up", "context": "Bees make honey.", "response": "Honey."},
     [("user", "Sum it up\n\nBees make honey."), ("assistant", "Honey.")]),
    ({"instruction": "Name a fish", "input": "A small one", "response": "A sprat."},
     [("user", "Name a fish\n\nA small one"), ("assistant", "A sprat.")]),
    ({"id": "niv.1", "system_prompt": "Be brief.", "question": "Hi", "response": "Hey"},                # OpenOrca
     [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hey")]),
    ({"input": "Hi", "output": "Hey"}, [("user", "Hi"), ("assistant", "Hey")]),
])
def test_one_exchange_per_row_under_common_names_is_read_as_a_pair(tmp_path, row, expected):
    loaded = load_chats(jsonl(tmp_path / "d.jsonl", [row]))
    assert loaded.detected_formats == {"pair": 1}
    assert [(m["role"], m["content"]) for m in loaded.chats[0]["messages"]] == expected


def test_a_pair_csv_loads_and_names_that_leave_a_doubt_point_to_data_columns(tmp_path):
    (tmp_path / "faq.csv").write_text("question,answer\nWhere do you live?,Gull Cottage.\nA dog?,\"No, a cat.\"\n")
    chats = load_chats(tmp_path / "faq.csv").chats
    assert [c["messages"][1]["content"] for c in chats] == ["Gull Cottage.", "No, a cat."]
    with pytest.raises(DataError, match=r"unknown chat format \(keys: input, output, response\)") as err:
        load_chats(jsonl(tmp_path / "two.jsonl", [{"input": "a", "output": "b", "response": "c"}]))   # which reply?
    assert "data.columns" in err.value.fix
    with pytest.raises(DataError, match="already written out by a chat template"):
        load_chats(jsonl(tmp_path / "t.jsonl", [{"text": "<|user|>hi<|assistant|>hello"}]))


def test_data_columns_name_the_fields_of_a_format_of_ones_own(tmp_path):
    rows = [{"q": "Tea?", "a": "Always.", "persona": "Be warm."}, {"q": "Coffee?", "a": "Never."}]
    path = jsonl(tmp_path / "own.jsonl", rows)
    chats = load_chats(path, columns={"prompt": "q", "response": "a", "system": "persona", "messages": None}).chats
    assert [[(m["role"], m["content"]) for m in c["messages"]] for c in chats] == [
        [("system", "Be warm."), ("user", "Tea?"), ("assistant", "Always.")], [("user", "Coffee?"), ("assistant", "Never.")]]
    turns = [{"dialog": CHAT["messages"]}, {"dialog": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey"}]}]
    loaded = load_chats(jsonl(tmp_path / "dialog.jsonl", turns), columns={"messages": "dialog"})
    assert loaded.detected_formats == {"columns": 2} and loaded.chats[1]["messages"][1] == {"role": "assistant", "content": "Hey"}
    with pytest.raises(DataError, match=r"own.jsonl:1: the row has no field `answer` \(data.columns.response\)") as err:
        load_chats(path, columns={"prompt": "q", "response": "answer"})
    assert err.value.fix == "check data.columns in the version's params: this row's fields are a, persona, q"


@pytest.mark.parametrize("columns,match", [
    ({"prompt": "q"}, "names `prompt` but not `response`"),
    ({"messages": "dialog", "response": "a"}, "names both `messages` and `prompt`/`response`"),
    ({"system": "s"}, "names only `system`"),
    ({"promt": "q"}, "promt"),
])
def test_data_columns_that_cannot_be_read_are_params_errors(tmp_path, columns, match):
    from molting import params
    from molting.errors import ParamsError

    with pytest.raises(ParamsError, match=match) as err:
        params.schema.check({"data": {"columns": columns}}, "params/mine.yaml")
    assert "data.columns" in str(err.value)
    with pytest.raises(ParamsError, match="both say how to read a row"):
        params.schema.check({"data": {"format": "alpaca", "columns": {"prompt": "q", "response": "a"}}}, "params/mine.yaml")


WEATHER = '{"name": "get_weather", "arguments": {"city": "Whitby"}}'
CALL = f"<tool_call>\n{WEATHER}\n</tool_call>"


@pytest.mark.parametrize("row,expected", [
    # OpenAI content parts: the text parts kept, an image left out
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "What's this?"},
                                                {"type": "image_url", "image_url": {"url": "data:..."}}]},
                   {"role": "assistant", "content": [{"type": "text", "text": "A gull, love."}]}]},
     [("user", "What's this?"), ("assistant", "A gull, love.")]),
    # OpenAI tool calls (content null, arguments a JSON string), two results in parallel, then the reply
    ({"messages": [{"role": "user", "content": "Weather in Whitby and Leeds?"},
                   {"role": "assistant", "content": None, "tool_calls": [
                       {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Whitby"}'}},
                       {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Leeds"}'}}]},
                   {"role": "tool", "tool_call_id": "a", "content": "sunny"},
                   {"role": "tool", "tool_call_id": "b", "content": "rain"},
                   {"role": "assistant", "content": "Sun here, rain there."}]},
     [("user", "Weather in Whitby and Leeds?"),
      ("assistant", CALL + '\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Leeds"}}\n</tool_call>'),
      ("user", "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response>"),
      ("assistant", "Sun here, rain there.")]),
    # OpenAI's older function_call / function role
    ({"messages": [{"role": "user", "content": "Weather?"},
                   {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": '{"city": "Whitby"}'}},
                   {"role": "function", "name": "get_weather", "content": "sunny"},
                   {"role": "assistant", "content": "Sunny."}]},
     [("user", "Weather?"), ("assistant", CALL), ("user", "<tool_response>\nsunny\n</tool_response>"), ("assistant", "Sunny.")]),
    # Anthropic: the system prompt beside the turns, tool_use and tool_result content parts
    ({"system": "You are Fenna.", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
                                          {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Whitby"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "sunny"}]}]},
        {"role": "assistant", "content": "Sunny."}]},
     [("system", "You are Fenna."), ("user", "Weather?"), ("assistant", "Let me look.\n" + CALL),
      ("user", "<tool_response>\nsunny\n</tool_response>"), ("assistant", "Sunny.")]),
    # ShareGPT with LLaMA-Factory's function_call / observation turns
    ({"conversations": [{"from": "human", "value": "Weather?"}, {"from": "function_call", "value": WEATHER},
                        {"from": "observation", "value": "sunny"}, {"from": "gpt", "value": "Sunny."}]},
     [("user", "Weather?"), ("assistant", CALL), ("user", "<tool_response>\nsunny\n</tool_response>"), ("assistant", "Sunny.")]),
])
def test_agent_logs_keep_their_tool_use_as_text(tmp_path, row, expected):
    chats = load_chats(jsonl(tmp_path / "d.jsonl", [row])).chats
    assert [(m["role"], m["content"]) for m in chats[0]["messages"]] == expected


def test_a_tool_call_turn_is_what_the_agent_like_filter_removes(tmp_path):
    from molting import curate
    from molting.patterns import load_library

    tool_chat = {"messages": [{"role": "user", "content": "Weather?"},
                              {"role": "assistant", "content": None, "tool_calls": [
                                  {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                              {"role": "tool", "tool_call_id": "a", "content": "sunny"},
                              {"role": "assistant", "content": "Sunny out, go and sit by the harbour."}]}
    chats = load_chats(jsonl(tmp_path / "d.jsonl", [tool_chat, CHAT])).chats
    cur = curate.Curation(kept=[])
    kept = curate.filter_agent_like(chats, load_library(), cur)
    assert [c["messages"] for c in kept] == [CHAT["messages"]]
    assert cur.removed[0]["rule"] == "tool_call_syntax" and cur.removed[0]["turn"] == 1


def test_one_chat_saved_as_a_json_list_of_turns_loads_and_a_turn_per_line_is_explained(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(CHAT["messages"]))
    assert [c["messages"] for c in load_chats(tmp_path / "one.json").chats] == [CHAT["messages"]]
    with pytest.raises(DataError, match=r"(?s)d.jsonl:1: unknown chat format \(keys: content, role\).*each row must be a whole chat"):
        load_chats(jsonl(tmp_path / "d.jsonl", CHAT["messages"]))


def test_a_row_id_is_kept_under_either_name(tmp_path):
    rows = [{"id": "a1", **CHAT}, {"conversation_id": "b2", "conversation": CHAT["messages"]}, CHAT]
    assert [c["id"] for c in load_chats(jsonl(tmp_path / "d.jsonl", rows)).chats] == ["a1", "b2", "raw-00003"]


def test_json_csv_parquet_and_datasets_folder(tmp_path):
    import datasets
    import pandas as pd

    (tmp_path / "d.json").write_text(json.dumps([CHAT, CHAT]))
    assert len(load_chats(tmp_path / "d.json").chats) == 2
    pd.DataFrame([{"prompt": "Tea?", "completion": "Always."}]).to_csv(tmp_path / "d.csv", index=False)
    assert load_chats(tmp_path / "d.csv").chats[0]["messages"][1]["content"] == "Always."
    pd.DataFrame([{"instruction": "Hi", "output": "Hello"}]).to_parquet(tmp_path / "d.parquet")
    assert load_chats(tmp_path / "d.parquet").chats[0]["messages"][0]["content"] == "Hi"
    datasets.Dataset.from_list([CHAT]).save_to_disk(str(tmp_path / "ds"))
    assert load_chats(tmp_path / "ds").chats[0]["messages"] == CHAT["messages"]


@pytest.mark.parametrize("codec,suffix", [("gzip", ".gz"), ("bz2", ".bz2"), ("lzma", ".xz")])
def test_compressed_jsonl_json_and_csv_load_as_their_plain_files(tmp_path, codec, suffix):
    import importlib

    compress = importlib.import_module(codec).compress
    plain = {"d.jsonl": b"\xef\xbb\xbf" + (json.dumps(CHAT) + "\r\n").encode() * 2, "d.json": json.dumps([CHAT]).encode(),
             "d.csv": b'prompt,completion\r\nTea?,"Always,\r\nand strong."\r\n'}
    for name, data in plain.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / (name + suffix)).write_bytes(compress(data))
        assert load_chats(tmp_path / (name + suffix)).chats == load_chats(tmp_path / name).chats
    assert load_chats(tmp_path / f"d.csv{suffix}").chats[0]["messages"][1]["content"] == "Always,\r\nand strong."
    # a bad line is named by its line in the decompressed text
    (tmp_path / f"bad.jsonl{suffix}").write_bytes(compress((json.dumps(CHAT) + "\n{broken\n").encode()))
    with pytest.raises(DataError, match="line 2 is not valid JSON") as err:
        load_chats(tmp_path / f"bad.jsonl{suffix}")
    assert f"bad.jsonl{suffix}:2" in str(err.value)


def test_a_damaged_or_unknown_compressed_file_is_named(tmp_path):
    import gzip

    whole = gzip.compress((json.dumps(CHAT) + "\n").encode() * 50)
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cannot decompress this \.gz file") as err:
        load_chats(tmp_path / "cut.jsonl.gz")
    assert "cut.jsonl.gz" in str(err.value) and "gzip -t cut.jsonl.gz" in str(err.value)
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress(b"hi"))
    with pytest.raises(DataError, match=r"(?s)unknown file type `\.txt\.gz`.*\.gz, \.bz2 or \.xz"):
        load_chats(tmp_path / "d.txt.gz")


def test_malformed_line_is_named_by_its_file_line(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [CHAT, CHAT, "", '{"messages": [broken', CHAT])
    with pytest.raises(DataError) as err:
        load_chats(path)
    assert f"{path}:4" in str(err.value) and "not valid JSON" in str(err.value) and "on_bad_lines: skip" in str(err.value)


def test_skip_mode_counts_and_lists_bad_lines(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [CHAT, '{"messages": [broken', {"foo": 1}, CHAT])
    loaded = load_chats(path, on_bad_lines="skip")
    assert len(loaded.chats) == 2
    assert [s["line"] for s in loaded.skipped] == [2, 3]


@pytest.mark.parametrize("content,match", [
    (json.dumps(CHAT).encode() + b'\n\xff\xfe bad\n', r"line 2 is not UTF-8"),
    (b'', r"the file is empty"),
    (b'{"text": "hello"}\n', r"unknown chat format \(keys: text\)"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}\n', r"no assistant turn"),
    (b'{"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "yo"}]}\n', r"roles out of order"),
    (b'{"conversations": "human: hi gpt: hello"}\n', r"single string, not a list"),
    (b'{"messages": [{"role": "wizard", "content": "hi"}]}\n', r"unknown role `wizard`"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null}]}\n',
     r"`messages\[1\].content` should be text or a list of content parts but is NoneType"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"', r"not valid JSON"),
])
def test_bad_rows_name_file_line_and_remedy(tmp_path, content, match):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match) as err:
        load_chats(path)
    assert str(path) in str(err.value) and "What to do:" in str(err.value)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(CHAT).encode() + b"\n")
    assert len(load_chats(path).chats) == 1


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "d.txt").write_text("hi")
    with pytest.raises(DataError, match="unknown file type"):
        load_chats(tmp_path / "d.txt")
    with pytest.raises(DataError, match="file not found"):
        load_chats(tmp_path / "nope.jsonl")


def test_system_prompt_is_added_only_where_missing():
    msgs = CHAT["messages"]
    assert with_system_prompt(msgs, "")[0] == {"role": "system", "content": ""}
    assert with_system_prompt(msgs, None) == msgs
    own = [{"role": "system", "content": "x"}, *msgs]
    assert with_system_prompt(own, "y") == own


def test_a_version_reads_its_raw_data_with_its_own_columns(tmp_path):
    import yaml

    from molting import params
    from molting.data import load_setting

    from conftest import make_project

    root = make_project(tmp_path, tmp_path / "model")
    (root / "data" / "notes.csv").write_text("asked,said,mood\nBees?,Two hives.,calm\n")
    (root / "params" / "mine.yaml").write_text(yaml.safe_dump(
        {"extends": "tiny", "data": {"raw": "data/notes.csv", "columns": {"prompt": "asked", "response": "said"}}}))
    loaded = load_setting(params.load("mine", root=root), "data.raw")
    assert loaded.detected_formats == {"columns": 1}
    assert loaded.chats[0]["messages"] == [{"role": "user", "content": "Bees?"}, {"role": "assistant", "content": "Two hives."}]


def test_several_raw_files_load_as_one_each_chat_keeping_its_file(tmp_path):
    import yaml

    from molting import curate, params
    from molting.data import load_setting

    from conftest import make_project

    root = make_project(tmp_path, tmp_path / "model")
    jsonl(root / "data" / "logs.jsonl", [CHAT, {**CHAT, "id": "a"}])
    (root / "data" / "notes.csv").write_text("id,question,answer\n,Tea?,Always.\na,Dog?,No.\n,Only a question\n")
    (root / "params" / "mine.yaml").write_text(yaml.safe_dump(
        {"extends": "tiny", "data": {"raw": ["data/logs.jsonl", "data/notes.csv"], "on_bad_lines": "skip"}}))
    cfg = params.load("mine", root=root)
    loaded = load_setting(cfg, "data.raw")
    assert [(c["id"], c["origin"]) for c in loaded.chats] == [
        ("logs-00001", "data/logs.jsonl"), ("a", "data/logs.jsonl"),
        ("notes-00002", "data/notes.csv"), ("a@notes.csv", "data/notes.csv")]   # ids stay unique across files
    assert loaded.detected_formats == {"messages": 2, "pair": 2}
    assert [(s["file"], s["line"]) for s in loaded.skipped] == [("data/notes.csv", 4)]   # the row without an answer
    assert [(r["file"], r["chats"], r["skipped lines"]) for r in loaded.file_rows()] == [
        ("data/logs.jsonl", 2, 0), ("data/notes.csv", 2, 1)]
    files = curate.raw_files(loaded, root)
    assert files["raw_file"] == ["data/logs.jsonl", "data/notes.csv"] and len(set(files["raw_sha256"])) == 2
    assert curate.source_mix(loaded.chats) == {"raw: data/logs.jsonl": 2, "raw: data/notes.csv": 2}
    assert curate.public_row(loaded.chats[2])["origin"] == "data/notes.csv"
    with pytest.raises(params.ParamsError, match="data.raw"):
        params.schema.check({"data": {"raw": []}}, "params/mine.yaml")
