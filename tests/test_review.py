"""`molt review`: a person's keep/drop decisions on the chats curation marked for review, written as a keep/drop file."""

from __future__ import annotations

import io

import pytest
import yaml

from molting import cli, curate
from molting.runs import RunPaths, write_jsonl

from conftest import make_project

CANDIDATES = [{"id": "s0010", "p_agent_like": 1.0, "turn": 1, "sentence": "Let's steer towards a topic # I can assist with.",
               "reply": "I'd rather not. Let's steer towards a topic I can assist with."},
              {"id": "s0011", "p_agent_like": 0.93, "turn": 1, "sentence": "Everything on the list is now ticked off.",
               "reply": "Checkpoint reached. Everything on the list is now ticked off."},
              {"id": "s0021", "p_agent_like": 0.8, "turn": 1, "sentence": "I'll fill in the rest next.", "reply": "..."}]


@pytest.fixture
def reviewed(tmp_path, tiny_model_dir, monkeypatch):
    root = make_project(tmp_path, tiny_model_dir)
    monkeypatch.setenv("MOLTING_ROOT", str(root))
    write_jsonl(RunPaths(root, "tiny").review_jsonl, CANDIDATES)
    return root


def review(monkeypatch, capsys, answers: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    code = cli.main(["review", "tiny", *argv])
    return code, capsys.readouterr().out


def test_decisions_are_written_as_the_keep_drop_file_curation_reads(reviewed, monkeypatch, capsys):
    code, out = review(monkeypatch, capsys, "d\nwhat?\nk\nq\n")   # an answer it does not know is asked again
    assert code == 0 and "3 kept chats marked for review" in out
    assert "2 decision(s) written to data/tiny-keep-drop.yaml: 1 dropped, 1 kept" in out
    assert "a version extending tiny with `curate: {keep_drop_file: data/tiny-keep-drop.yaml}`" in out
    path = reviewed / "data" / "tiny-keep-drop.yaml"
    assert yaml.safe_load(path.read_text()) == {"drop": ["s0010"], "keep": ["s0011"]}   # the '#' in a sentence is no key
    assert curate.load_keep_drop("data/tiny-keep-drop.yaml", reviewed) == {"keep": ["s0011"], "drop": ["s0010"]}

    # a second review asks only about what is undecided, and keeps the decisions and the ids already there
    path.write_text(path.read_text().replace("keep:\n", "keep:\n  - s0400\n"))
    code, out = review(monkeypatch, capsys, "s\n")
    assert "1 not decided" in out and "s0021" in out and "s0010  p_agent_like" not in out and "0 decision(s)" in out
    code, out = review(monkeypatch, capsys, "d\n")
    assert yaml.safe_load(path.read_text()) == {"drop": ["s0010", "s0021"], "keep": ["s0400", "s0011"]}


def test_the_versions_own_keep_drop_file_is_used_and_a_bad_one_or_a_missing_review_is_named(reviewed, monkeypatch, capsys):
    (reviewed / "params" / "own.yaml").write_text(yaml.safe_dump({"extends": "tiny", "curate": {"keep_drop_file": "data/mine.yaml"}}))
    write_jsonl(RunPaths(reviewed, "own").review_jsonl, CANDIDATES)
    (reviewed / "data" / "mine.yaml").write_text("drop: [s0011]\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("d\n"))
    assert cli.main(["review", "own"]) == 0
    out = capsys.readouterr().out
    assert "2 not decided in data/mine.yaml" in out and "`molt run own --from 01-curate` applies them" in out
    assert yaml.safe_load((reviewed / "data" / "mine.yaml").read_text()) == {"drop": ["s0011", "s0010"], "keep": []}
    (reviewed / "data" / "mine.yaml").write_text("dorp: [s0011]\n")
    assert cli.main(["review", "own"]) == 1 and "dorp" in capsys.readouterr().err
    RunPaths(reviewed, "own").review_jsonl.unlink()
    assert cli.main(["review", "own", "--out", "data/other.yaml"]) == 1
    assert "molt run own" in capsys.readouterr().err
