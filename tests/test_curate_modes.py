"""Curation arms: strip mode (cut only the agent-like sentences) and the random subset of the curated size."""

from __future__ import annotations

import json
import re

import pytest

from molting import curate, params, patterns, runs
from molting.data import load_chats
from molting.errors import DataError, ParamsError
from molting.patterns import PatternHit

from conftest import REPO

SAMPLE = REPO / "data" / "sample"


class RegexLibrary:
    """A two-rule stand-in for the pattern library, so these tests pin the cutting, not the library's wording."""

    rules = {"as_an_ai": r"(?i)as an ai\b", "tool_talk": r"(?i)\b(?:searching the web|checking the files)\b",
             "sign_off": r"(?i)hope (?:this|that) helps"}

    def scan(self, text: str) -> list[PatternHit]:
        hits = [PatternHit(rule=name, category="test", start=m.start(), end=m.end(), matched=m.group())
                for name, rx in self.rules.items() for m in re.finditer(rx, text)]
        return sorted(hits, key=lambda h: (h.start, h.rule))

    def first(self, text: str) -> PatternHit | None:
        hits = self.scan(text)
        return hits[0] if hits else None


def chat(chat_id: str, *turns: str) -> dict:
    """A chat alternating user and assistant turns."""
    roles = ["user", "assistant"] * len(turns)
    return {"id": chat_id, "source": "raw", "messages": [{"role": r, "content": t} for r, t in zip(roles, turns)]}


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in curate.sentence_spans(text)]


def strip(chats: list[dict], min_words: int = 3) -> tuple[list[dict], curate.Curation]:
    cur = curate.Curation(kept=[])
    return curate.strip_agent_like(chats, RegexLibrary(), min_words, cur), cur


def test_strip_cuts_only_the_agent_like_sentences_of_a_mixed_reply():
    original = chat("m1", "Do you keep bees?",
                    "Searching the web for bees now. I keep three hives behind Gull Cottage! As an AI, I have no garden. "
                    "The honey goes in my marmalade (some of it).")
    kept, cur = strip([original])
    assert kept[0]["messages"][1]["content"] == ("I keep three hives behind Gull Cottage! "
                                                 "The honey goes in my marmalade (some of it).")
    assert kept[0]["messages"][0] == original["messages"][0]                       # the question stays as it was
    assert original["messages"][1]["content"].startswith("Searching")               # the loaded chat is not edited in place
    assert [(r["rule"], r["turn"], r["sentence"]) for r in cur.cuts] == [
        ("tool_talk", 1, "Searching the web for bees now."), ("as_an_ai", 1, "As an AI, I have no garden.")]
    assert cur.cut_by_rule() == {"as_an_ai": 1, "tool_talk": 1} and not cur.removed
    assert cur.funnel[-1]["remaining"] == 1 and cur.funnel[-1]["removed"] == 0 and "2 sentences cut from 1 chats" in cur.funnel[-1]["step"]


def test_strip_edits_each_turn_of_a_multi_turn_chat_on_its_own():
    original = chat("m2", "Morning! Sleep well?", "Like a log, love, the gulls were quiet for once.",
                    "What's the weather doing?", "Checking the files for the forecast. Grey and blowing from the west. Hope this helps!",
                    "And the tide?", "Out by noon, so the winkles are mine.")
    kept, cur = strip([original])
    messages = kept[0]["messages"]
    assert [m["content"] for m in messages] == ["Morning! Sleep well?", "Like a log, love, the gulls were quiet for once.",
                                                "What's the weather doing?", "Grey and blowing from the west.",
                                                "And the tide?", "Out by noon, so the winkles are mine."]
    assert {r["turn"] for r in cur.cuts} == {3} and len(cur.cuts) == 2


def test_a_wholly_agent_like_reply_drops_its_chat_with_the_cut_sentences():
    whole = chat("w1", "Is the pub open?", "Hello, friend of Fenna's.",
                 "Can you look it up?", "Searching the web for opening hours. As an AI, I cannot go to pubs. Hope this helps!")
    short = chat("w2", "Tea?", "As an AI, I drink nothing. Yes please.")            # 2 words left < 3
    enough = chat("w3", "Tea?", "As an AI, I drink nothing. Yes please, love.")      # 3 words left
    clean = chat("c1", "Tea?", "Always, with the pot warmed first.")
    kept, cur = strip([whole, short, enough, clean])
    assert [c["id"] for c in kept] == ["w3", "c1"] and kept[1] is clean
    assert kept[0]["messages"][1]["content"] == "Yes please, love."
    removed = {r["id"]: r for r in cur.removed}
    assert set(removed) == {"w1", "w2"}
    assert removed["w1"]["step"] == "agent_like_strip" and removed["w1"]["rule"] == "tool_talk" and removed["w1"]["turn"] == 3
    assert removed["w1"]["cut"] == ["Searching the web for opening hours.", "As an AI, I cannot go to pubs.", "Hope this helps!"]
    assert "0 words < 3" in removed["w1"]["detail"] and "2 words < 3" in removed["w2"]["detail"]
    assert [r["id"] for r in cur.cuts] == ["w3"]                 # cuts of dropped chats live in their removed row
    assert cur.funnel[-1]["removed"] == 2 and cur.funnel[-1]["remaining"] == 2


def test_strip_keeps_lines_and_list_numbers_and_closes_gaps():
    reply = ("Here's what I'd do:\n1. Warm the pot first.\n2. Searching the web for tea facts.\n3. Two spoons, never one.\n\n"
             "As an AI, I can't brew.\n\nHope this helps!\n\n  - Milk after, always.")
    text, cut = curate.strip_reply(reply, RegexLibrary().scan(reply))
    assert text == "Here's what I'd do:\n1. Warm the pot first.\n3. Two spoons, never one.\n\n  - Milk after, always."
    assert [s for s, _ in cut] == ["2. Searching the web for tea facts.", "As an AI, I can't brew.", "Hope this helps!"]
    assert curate.strip_reply("Nothing to cut here. At all.", []) == ("Nothing to cut here. At all.", [])


@pytest.fixture(scope="module")
def library():
    return patterns.load_library()


@pytest.fixture
def cfg():
    c = params.resolve("v2.1", REPO)
    c["root"] = str(REPO)
    return c


def persona() -> dict:
    return params.read_yaml(SAMPLE / "persona.yaml")


def test_strip_mode_on_the_sample_keeps_more_chats_and_records_every_cut(cfg, library, tmp_path):
    filtered = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    cfg["curate"]["mode"] = "strip"
    loaded = load_chats(SAMPLE / "raw.jsonl")
    originals = {c["id"]: c for c in load_chats(SAMPLE / "raw.jsonl").chats}
    stripped = curate.curate(loaded.chats, cfg, library=library, persona=persona())
    assert len(stripped.kept) > len(filtered.kept)                # the facts of mixed replies stay
    assert stripped.cuts and stripped.funnel[1]["step"].startswith("agent-like strip")
    kept = {c["id"]: c for c in stripped.kept}
    for row in stripped.cuts:
        assert row["matched"] in originals[row["id"]]["messages"][row["turn"]]["content"]
        assert row["sentence"] in originals[row["id"]]["messages"][row["turn"]]["content"]
        if row["id"] in kept:
            assert row["sentence"] not in kept[row["id"]]["messages"][row["turn"]]["content"]
    for chat_id, chat in kept.items():                             # only assistant turns change, and only by cutting
        for new, old in zip(chat["messages"], originals[chat_id]["messages"]):
            if new["role"] == "user" or new["content"] == old["content"]:
                assert new == old
            else:
                before, after = (sentences(m["content"]) for m in (old, new))
                assert set(after) <= set(before) and len(after) < len(before)
    paths = runs.RunPaths(tmp_path, "strip")
    summary = curate.save(stripped, paths, loaded, cfg)
    cut_rows = [r for r in runs.read_jsonl(paths.removed_jsonl) if r.get("cut") and r.get("chat_kept") is not None]
    assert len(cut_rows) == len(stripped.cuts) == summary["sentences_cut"]
    assert summary["mode"] == "strip" and sum(summary["cut_by_rule"].values()) == len(stripped.cuts)
    assert all(r["chat_kept"] == (r["id"] in kept) for r in cut_rows)


def test_strip_mode_in_worker_processes_writes_the_same_files(cfg, library, tmp_path, monkeypatch):
    """Strip mode's scan runs in worker processes from 20,000 chats up (here forced): the same files, byte for byte."""
    cfg["curate"]["mode"] = "strip"
    digests = []
    for attempt, workers in enumerate(("1", "2")):
        monkeypatch.setattr(curate, "PARALLEL_MIN_CHATS", 1)
        monkeypatch.setenv(curate.WORKERS_ENV, workers)
        loaded = load_chats(SAMPLE / "raw.jsonl")
        result = curate.curate(loaded.chats, cfg, library=library, persona=persona())
        paths = runs.RunPaths(tmp_path / str(attempt), "v")
        curate.save(result, paths, loaded, cfg)
        digests.append([runs.file_sha256(p) for p in (paths.train_jsonl, paths.heldout_jsonl, paths.removed_jsonl,
                                                         paths.curation_json)])
    assert result.cuts and digests[0] == digests[1]


def test_random_subset_takes_the_curated_size_from_the_raw_data(cfg, library):
    curated = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    cfg["curate"]["random_subset"] = "curated_size"
    result = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    assert len(result.kept) == len(curated.kept)
    assert len(result.train) == len(curated.train) and len(result.heldout) == len(curated.heldout)
    labels = {r["id"]: r for r in map(json.loads, (SAMPLE / "labels.jsonl").read_text().splitlines())}
    noisy = [c["id"] for c in result.kept if labels[c["id"]]["noise"] != "clean"]
    assert len(noisy) > len(result.kept) / 3            # the raw data's noise (~2/3 of chats) comes along, unfiltered
    assert result.funnel[-1]["remaining"] == len(curated.kept) and "random subset" in result.funnel[-1]["step"]
    assert result.random_subset["counted_funnel"] == curated.funnel and result.random_subset["size"] == len(curated.kept)
    assert {r["rule"] for r in result.removed} == {"not_sampled"} and len(result.removed) == 484 - len(curated.kept)
    again = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    assert [c["id"] for c in again.kept] == [c["id"] for c in result.kept]       # seeded
    cfg["seed"] = 7
    other = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    assert [c["id"] for c in other.kept] != [c["id"] for c in result.kept]


def test_random_subset_of_a_given_size_and_its_errors(cfg, library):
    cfg["curate"]["random_subset"] = 60
    result = curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    assert len(result.kept) == 60
    cfg["curate"]["random_subset"] = 999
    with pytest.raises(DataError, match="asks for 999 chats but only 484"):
        curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())
    cfg["curate"]["random_subset"] = "curated_size"
    cfg["curate"]["enabled"] = False
    with pytest.raises(DataError, match="curate.enabled is false"):
        curate.curate(load_chats(SAMPLE / "raw.jsonl").chats, cfg, library=library, persona=persona())


@pytest.mark.parametrize("value", ["half", 0, -3, 1.5, True])
def test_bad_random_subset_and_mode_values_are_named(tmp_path, value):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "base.yaml").write_text((REPO / "params" / "base.yaml").read_text())
    (tmp_path / "params" / "x.yaml").write_text(json.dumps({"curate": {"random_subset": value}}))
    with pytest.raises(ParamsError, match="curate.random_subset.*curated_size"):
        params.resolve("x", tmp_path)
    (tmp_path / "params" / "y.yaml").write_text(json.dumps({"curate": {"mode": "cut"}}))
    with pytest.raises(ParamsError, match="curate.mode = 'cut' is not one of \\['filter', 'strip'\\]"):
        params.resolve("y", tmp_path)


def test_the_report_counts_cut_sentences_beside_removed_chats():
    from molting.report import removed_by_rule_table

    rows = removed_by_rule_table({"curation": {"removed_by_rule": {"as_an_ai": 2, "exact_duplicate": 1},
                                                "cut_by_rule": {"as_an_ai": 5, "tool_talk": 3}}}).rows
    assert rows == [{"rule": "as_an_ai", "chats removed": 2, "sentences cut (strip)": 5},
                    {"rule": "exact_duplicate", "chats removed": 1, "sentences cut (strip)": 0},
                    {"rule": "tool_talk", "chats removed": 0, "sentences cut (strip)": 3}]
    assert removed_by_rule_table({"curation": {"removed_by_rule": {"as_an_ai": 2}, "cut_by_rule": {}}}).rows == [
        {"rule": "as_an_ai", "chats removed": 2}]
