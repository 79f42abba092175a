"""`molt patterns`: list the library (on/off for a version), test a text, scan a chat file."""

from __future__ import annotations

import json

from molting import cli, patterns

from conftest import REPO

SAMPLE = REPO / "data" / "sample" / "raw.jsonl"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["patterns", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_shows_every_pattern_with_its_state(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    every = patterns.load_patterns()
    for p in every:
        line = next(line for line in out.splitlines() if line.startswith(p.name + " "))
        assert line.split()[1:3] == [p.category, "on" if p.on_by_default else "off"]
    assert f"{len(every)} patterns, {sum(p.on_by_default for p in every)} on for the defaults" in out


def test_list_for_a_version_switches_its_opt_in_rules_on(capsys):
    _, out, _ = run(capsys, "--version", "v2.1")
    code_fence = next(line for line in out.splitlines() if line.startswith("code_fence "))
    assert code_fence.split()[1:3] == ["persona_format", "on"] and "version v2.1" in out


def test_test_prints_hits_and_marks_rules_that_are_off(capsys):
    code, out, _ = run(capsys, "--test", "Let me check the git log.\n```\nx = 1\n```")
    assert code == 0
    assert "first_person_software_action (tool_narration) [0:24] 'Let me check the git log'" in out
    assert "code_fence (persona_format)" in out and "(off for the defaults" in out
    assert out.strip().endswith("agent-like")
    _, out, _ = run(capsys, "--test", "```\nx = 1\n```")
    assert "not agent-like for the defaults" in out
    _, out, _ = run(capsys, "--test", "I'll check the oven, the bread smells done.")
    assert out.startswith("no pattern matches")


def test_scan_counts_hits_per_rule(capsys, tmp_path):
    chats = [{"id": "a", "messages": [{"role": "user", "content": "hi"},
                                      {"role": "assistant", "content": "As an AI, I can't taste jam. Hope this helps!"}]},
             {"id": "b", "messages": [{"role": "user", "content": "and?"},
                                      {"role": "assistant", "content": "As an AI, truly. As an AI, again."}]},
             {"id": "c", "messages": [{"role": "user", "content": "tea?"},
                                      {"role": "assistant", "content": "Two sugars, love."}]}]
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in chats), encoding="utf-8")
    code, out, _ = run(capsys, "--scan", str(path))
    assert code == 0
    assert "3 chats, 2 with an agent-like hit" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert rows["as_an_ai"] == ["2", "3"] and rows["hope_this_helps"] == ["1", "1"]
    gzipped = tmp_path / "one.jsonl.gz"                     # a compressed agent log, one chat
    gzipped.write_bytes(__import__("gzip").compress((json.dumps(chats[1]) + "\n").encode()))
    code, out, _ = run(capsys, "--scan", str(gzipped))
    assert code == 0 and "one.jsonl.gz: 1 chat, 1 with an agent-like hit" in out


def test_scan_of_a_missing_file_says_what_to_do(capsys, tmp_path):
    code, _, err = run(capsys, "--scan", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "file not found" in err and "molt patterns --scan" in err


def test_unknown_name_in_params_points_at_a_real_command(capsys, tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "base.yaml").write_text((REPO / "params" / "base.yaml").read_text(), encoding="utf-8")
    (tmp_path / "params" / "typo.yaml").write_text("curate:\n  patterns_enabled: [persona_formt]\n", encoding="utf-8")
    import pytest

    from molting import params
    from molting.errors import ParamsError

    with pytest.raises(ParamsError) as err:
        params.resolve("typo", tmp_path)
    message = str(err.value)
    assert "typo.yaml" in message and "persona_format" in message and "`molt patterns`" in message
    assert cli.build_parser().parse_args(["patterns"]).func is not None  # the command the message names exists


class FlagsTides:
    """A stand-in for the shipped detector: a sentence about tide tables scores 0.9, anything else 0.2."""

    threshold = 0.7

    def explain(self, texts):
        return [(0.9, "the tide sentence") if "tide" in t else (0.2, t) for t in texts]


def test_detector_adds_its_second_opinion_to_test_and_scan(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_shipped_detector", lambda wanted: FlagsTides() if wanted else None)
    _, out, _ = run(capsys, "--test", "I'll fetch the tide tables for you.", "--detector")
    assert out.startswith("no pattern matches")
    assert "detector: agent-like, p_agent_like 0.900 (threshold 0.7), highest on 'the tide sentence'" in out
    _, out, _ = run(capsys, "--test", "I'll fetch the tide tables for you.")
    assert "detector" not in out
    chats = [{"id": "a", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "As an AI, no tides."}]},
             {"id": "b", "messages": [{"role": "user", "content": "and?"}, {"role": "assistant", "content": "Tides at six, I'll check the tide app."}]},
             {"id": "c", "messages": [{"role": "user", "content": "tea?"}, {"role": "assistant", "content": "Two sugars, love."}]}]
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in chats), encoding="utf-8")
    _, out, _ = run(capsys, "--scan", str(path), "--detector")
    assert "3 chats, 1 with an agent-like hit" in out
    assert "detector (threshold 0.7): 2 chats flagged, 1 of them with no pattern hit; 2 by either" in out


def test_scan_reads_a_file_as_the_version_says(capsys, tmp_path, monkeypatch):
    import yaml

    from conftest import make_project

    root = make_project(tmp_path, tmp_path / "model")
    monkeypatch.setenv("MOLTING_ROOT", str(root))
    (root / "params" / "mine.yaml").write_text(yaml.safe_dump(
        {"extends": "tiny", "data": {"columns": {"prompt": "asked", "response": "said"}}}))
    notes = tmp_path / "notes.csv"
    notes.write_text("asked,said\nJam?,\"As an AI, I can't taste jam.\"\nTea?,\"Two sugars, love.\"\n")
    code, _, err = run(capsys, "--scan", str(notes))
    assert code == 1 and "data.columns" in err                       # no format it knows, without the version
    code, out, _ = run(capsys, "--scan", str(notes), "--version", "mine")
    assert code == 0 and "2 chats, 1 with an agent-like hit (version mine)" in out
