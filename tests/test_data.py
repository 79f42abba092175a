"""Loading raw chats: every common format, and clear errors naming file and line."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("row,expected", [
    ({"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey"}]},
     [("system", "Be kind."), ("user", "Hi"), ("assistant", "Hey")]),
    ({"instruction": "Name a fish", "input": "A small one", "output": "A sprat."},
     [("user", "Name a fish\n\nA small one"), ("assistant", "A sprat.")]),
    ({"prompt": "Tea?", "completion": "Always."}, [("user", "Tea?"), ("assistant", "Always.")]),
    (CHAT, [("user", "Hi"), ("assistant", "Hello, love.")]),
])
def test_formats_are_normalised(tmp_path, row, expected):
    chats = load_chats(jsonl(tmp_path / "d.jsonl", [row])).chats
    assert [(m["role"], m["content"]) for m in chats[0]["messages"]] == expected


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
