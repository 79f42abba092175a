"""Curation on the sample data: the funnel, every removal explained, overrides, determinism."""

from __future__ import annotations

import json

import pytest

from molting import curate, leakage, params, patterns, runs
from molting.data import load_chats
from molting.errors import DataError

from conftest import REPO

SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="module")
def library():
    v21 = params.resolve("v2.1", REPO)
    v21["root"] = str(REPO)
    return curate.library_for(v21)  # v2.1 switches the persona_format rules on: Fenna only chats


@pytest.fixture
def cfg():
    c = params.resolve("v2.1", REPO)
    c["root"] = str(REPO)
    return c


def fresh_chats():
    return load_chats(SAMPLE / "raw.jsonl").chats


def persona():
    return params.read_yaml(SAMPLE / "persona.yaml")


def sample_labels() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (SAMPLE / "labels.jsonl").read_text().splitlines())}


def test_sample_funnel_replays_the_lab_story(cfg, library):
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    funnel = {row["step"]: row for row in result.funnel}
    assert funnel["loaded"]["remaining"] == 484
    assert sum(r["removed"] for r in result.funnel) == 484 - len(result.kept)
    assert len(result.removed) == 484 - len(result.kept)       # every removal is recorded...
    for row in result.removed:                                  # ...with the rule, and the span for patterns
        assert row["rule"]
        if row["step"] == "agent_like":
            reply = row["chat"]["messages"][row["turn"]]["content"]
            assert reply[row["span"][0]:row["span"][1]] == row["matched"]
    labels = sample_labels()
    kept_ids = {c["id"] for c in result.kept}
    # the lab's ~480 -> ~150: each of the 150 clean chats (hard negatives included) is kept exactly once,
    # as itself or as one of its planted copies, and no planted copy survives beside its original
    clean = [i for i, r in labels.items() if r["noise"] == "clean" and r["duplicate_of"] is None]
    assert len(clean) == 150
    for original in clean:
        family = {original} | {i for i, r in labels.items() if r["duplicate_of"] == original}
        assert len(family & kept_ids) == 1, (original, family & kept_ids)
    # the library bank is what the patterns may be written from: the filter catches it; the held-out
    # bank only measures recall (benchmarks/bench_filter.py) and is asserted nowhere
    kept_library_noise = [i for i in kept_ids if labels[i]["noise_bank"] == "library"]
    assert len(kept_library_noise) <= 5, kept_library_noise
    assert len(result.heldout) >= cfg.curate.heldout_min and not {c["id"] for c in result.heldout} & {c["id"] for c in result.train}
    shared = leakage.sentence_leakage_summary(result.train, {"held-out": result.heldout})["held-out"]
    assert shared["sentences"] > 0 and shared["shared_with_train"] == 0 and shared["chats_sharing"] == 0


def reply_chat(chat_id: str, *sentences: str) -> dict:
    return {"id": chat_id, "source": "raw", "messages": [{"role": "user", "content": "Tell me something."},
                                                        {"role": "assistant", "content": " ".join(sentences)}]}


def test_split_keeps_chats_that_share_a_sentence_on_one_side():
    chats = [reply_chat(f"c{i:02d}", f"Here is sentence number {i} about the harbour.") for i in range(20)]
    chats[3] = reply_chat("c03", "When I looked round, the gulls had taken my whole pasty.", "And then they came back for more.")
    chats[7] = reply_chat("c07", "Honestly, I was furious.", "When I looked round the gulls had taken my whole pasty!")  # same words
    chats[12] = reply_chat("c12", "And then they came back for more!")                                   # linked through c03
    sides = set()
    for seed in range(12):
        train, heldout = curate.split(chats, 0.25, 2, seed)
        ids = {c["id"] for c in heldout}
        assert len(heldout) == 5 and len(ids & {"c03", "c07", "c12"}) in (0, 3)
        assert not leakage.sentence_leakage(train, {"held-out": heldout})
        sides.add(bool(ids & {"c03"}))
    assert sides == {True, False}                       # the group does land in held-out for some seeds
    assert curate.split(chats, 0.25, 2, 5) == curate.split(chats, 0.25, 2, 5)


def test_split_falls_back_chat_by_chat_and_the_leak_is_reported():
    chats = [reply_chat(f"c{i:02d}", "Everyone round here says the very same thing.", f"Then sentence {i} is mine alone.")
             for i in range(20)]
    train, heldout = curate.split(chats, 0.25, 2, 0)
    assert len(heldout) == 5 and len(train) == 15
    rows = leakage.sentence_leakage(train, {"held-out": heldout})
    assert [r["text"].split(": ", 1)[1] for r in rows] == ["everyone round here says the very same thing"]
    assert leakage.sentence_leakage_summary(train, {"held-out": heldout})["held-out"] == \
        {"chats": 5, "sentences": 6, "shared_with_train": 1, "chats_sharing": 5}


def test_check_leakage_names_shared_sentences_in_heldout_and_test_chats(cfg, tmp_path):
    train = [reply_chat("t1", "Pilchard stole a sock off the line this morning.", "The tide was right out.")]
    heldout = [reply_chat("h1", "The tide was right out.", "I picked winkles for tea."),
               reply_chat("h2", "Nothing in this reply was ever trained on.")]
    test_file = tmp_path / "test.jsonl"
    test_file.write_text(json.dumps({"id": "x1", "messages": [{"role": "user", "content": "Morning?"}, {"role": "assistant",
                         "content": "Grand. Pilchard stole a sock off the line this morning!"}]}) + "\n")
    cfg["data"]["test_chats"] = str(test_file)
    cur = curate.Curation(kept=train + heldout, train=train, heldout=heldout)
    rows = [r for r in leakage.check_leakage(cur, cfg) if r["set"].endswith("sentences")]
    assert rows == [{"set": "held-out sentences", "text": "h1: the tide was right out", "train_id": "t1", "similarity": 1.0},
                    {"set": "test sentences", "text": "x1: pilchard stole a sock off the line this morning", "train_id": "t1",
                     "similarity": 1.0}]
    summary = leakage.sentence_leakage_summary(cur.train, leakage.leakage_sets(cur, cfg))
    assert summary["held-out"]["chats_sharing"] == 1 and summary["test"]["shared_with_train"] == 1


def test_duplicates_keep_the_best_ranked_member(cfg, library):
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    kept_ids = {c["id"] for c in result.kept}
    assert result.clusters
    for cluster in result.clusters:
        assert cluster["kept"] in kept_ids and not set(cluster["removed"]) & kept_ids


def test_curation_off_keeps_everything(cfg, library):
    cfg["curate"]["enabled"] = False
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    assert len(result.kept) == 484 and not result.removed


def test_everything_removed_names_the_top_rule(cfg, library):
    chats = [{"id": f"c{i}", "source": "raw", "messages": [{"role": "user", "content": "hi"},
             {"role": "assistant", "content": f"As an AI language model, I cannot say {i}."}]} for i in range(5)]
    with pytest.raises(DataError, match="removed all 5 chats.*`as_an_ai` \\(5 chats\\)"):
        curate.curate(chats, cfg, library=library, persona=persona())


def test_keep_drop_list_overrides_every_rule(cfg, library):
    baseline = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    removed_id = next(r["id"] for r in baseline.removed if r["step"] == "agent_like")
    kept_id = baseline.kept[0]["id"]
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona(),
                           keep_drop={"keep": [removed_id], "drop": [kept_id]})
    ids = {c["id"] for c in result.kept}
    assert removed_id in ids and kept_id not in ids
    assert any(r["id"] == kept_id and r["rule"] == "manual_drop" for r in result.removed)
    with pytest.raises(DataError, match="not in the data: nope"):
        curate.curate(fresh_chats(), cfg, library=library, persona=persona(), keep_drop={"keep": ["nope"]})


@pytest.mark.parametrize("text,match", [
    ("kep: [s0001]\n", "unknown key `kep`\nWhat to do: did you mean `keep`"),
    ("keep: s0001\n", "keep = 's0001' should be"),
    ("- s0001\n", "must be a mapping of keys to values"),
])
def test_malformed_keep_drop_file_names_file_and_key(tmp_path, text, match):
    (tmp_path / "kd.yaml").write_text(text)
    with pytest.raises(DataError, match=match) as err:
        curate.load_keep_drop("kd.yaml", tmp_path)
    assert str(tmp_path / "kd.yaml") in str(err.value)
    (tmp_path / "ok.yaml").write_text("keep: [s0001, 7]\n")
    assert curate.load_keep_drop("ok.yaml", tmp_path) == {"keep": ["s0001", 7], "drop": []}


def test_top_k_and_duplicate_fraction(cfg, library):
    cfg["curate"]["top_k"] = 100
    cfg["curate"]["duplicate_fraction"] = 0.25
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    assert len(result.kept) == 100
    originals = [c for c in result.train if "#dup" not in c["id"]]
    dups = [c for c in result.train if "#dup" in c["id"]]
    assert len(dups) == round(0.25 * len(originals))
    best = sorted(originals, key=lambda c: (-c["quality"], c["id"]))[: len(dups)]
    assert {d["id"].split("#")[0] for d in dups} == {c["id"] for c in best}
    assert all(d["source"] == "raw+duplicate" for d in dups)


def test_synthetic_chats_are_filtered_deduped_and_tagged(cfg, library):
    raw = fresh_chats()
    clean = next(c for c in curate.curate(fresh_chats(), cfg, library=library, persona=persona()).kept)
    synthetic = [
        {"id": "syn-1", "source": "synthetic", "messages": clean["messages"]},   # repeats a raw chat
        {"id": "syn-2", "source": "synthetic", "messages": [{"role": "user", "content": "Favourite hymn?"},
         {"role": "assistant", "content": "I'm sorry, but I can't help with that."}]},                     # agent-like
        {"id": "syn-3", "source": "synthetic", "messages": [{"role": "user", "content": "What do gulls eat?"},
         {"role": "assistant", "content": "Anything a visitor drops, love. I once saw one take a whole pasty off a pram at the harbour wall."}]},
    ]
    result = curate.curate(raw, cfg, library=library, persona=persona(), synthetic=synthetic)
    train_ids = {c["id"] for c in result.train}
    assert "syn-3" in train_ids and "syn-2" not in train_ids and "syn-3" not in {c["id"] for c in result.heldout}
    assert "syn-1" not in train_ids or clean["id"] not in train_ids
    assert curate.source_mix(result.train)["synthetic"] == 1


def test_same_input_gives_byte_identical_outputs(cfg, library, tmp_path, monkeypatch):
    digests = []
    for attempt in range(2):
        if attempt == 1:   # the second time in two worker processes, as an input of 20,000 chats or more would be
            monkeypatch.setattr(curate, "PARALLEL_MIN_CHATS", 1)
            monkeypatch.setenv(curate.WORKERS_ENV, "2")
            assert curate.scan_workers(484) == 2
        loaded = load_chats(SAMPLE / "raw.jsonl")
        result = curate.curate(loaded.chats, cfg, library=library, persona=persona())
        paths = runs.RunPaths(tmp_path / str(attempt), "v")
        curate.save(result, paths, loaded, cfg)
        digests.append([runs.file_sha256(p) for p in (paths.train_jsonl, paths.heldout_jsonl, paths.removed_jsonl, paths.curation_json)])
    assert digests[0] == digests[1]
    summary = json.loads(paths.curation_json.read_text())
    assert summary["sentence_leakage"]["held-out"]["shared_with_train"] == 0 and summary["sentence_leakage"]["min_words"] == 4


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_worker_count_names_the_variable(value, monkeypatch):
    monkeypatch.setenv(curate.WORKERS_ENV, value)
    with pytest.raises(DataError, match=r"(?s)MOLTING_WORKERS: .* is not a number of worker processes.*whole number >= 1"):
        curate.scan_workers(100_000)


def test_where_worker_processes_cannot_start_the_scan_runs_here_and_says_so(library, monkeypatch):
    import joblib

    def refuse(*args, **kwargs):
        raise OSError(38, "Function not implemented")      # e.g. a sandbox without POSIX semaphores

    monkeypatch.setattr(joblib, "Parallel", refuse)
    chats, terms = fresh_chats()[:40], curate.persona_terms(persona())
    with pytest.warns(RuntimeWarning, match="could not scan in 2 worker processes.*MOLTING_WORKERS=1"):
        scans = curate.scan_chats(chats, library, terms, workers=2)
    assert scans == curate.scan_chats(chats, library, terms, workers=1) and any(scan.hit for scan in scans)


class MarksRepos:
    """A stand-in detector: a reply mentioning a repository scores 0.9 (on that sentence), anything else 0.1."""

    threshold = 0.5

    def explain(self, texts):
        return [(0.9, "the repo sentence") if "repo" in t else (0.1, t) for t in texts]


def test_detector_marks_kept_chats_for_review_and_never_drops(cfg, library, tmp_path):
    chats = fresh_chats()
    flagged_id = chats[0]["id"]
    chats[0]["messages"][-1]["content"] += " My grandson keeps a repo of tide tables."
    loaded = load_chats(SAMPLE / "raw.jsonl")
    result = curate.curate(chats, cfg, library=library, persona=persona())
    kept_before = [c["id"] for c in result.kept]
    review = curate.mark_for_review(result, cfg, detector=MarksRepos())
    assert [c["id"] for c in result.kept] == kept_before                 # a second opinion, not a filter
    assert [r["id"] for r in review] == ([flagged_id] if flagged_id in kept_before else [])
    if review:
        assert review[0]["p_agent_like"] == 0.9 and review[0]["sentence"] == "the repo sentence"
    paths = runs.RunPaths(tmp_path, "v")
    summary = curate.save(result, paths, loaded, cfg)
    assert runs.read_jsonl(paths.review_jsonl) == review and summary["review"]["marked"] == len(review)
    cfg["curate"]["review_detector"] = False
    assert curate.mark_for_review(result, cfg, detector=MarksRepos()) == []


def test_detector_drops_what_it_flags_when_asked(cfg, library):
    chats = fresh_chats()
    clean_ids = [c["id"] for c in curate.curate(fresh_chats(), cfg, library=library, persona=persona()).kept]
    target = next(c for c in chats if c["id"] == clean_ids[0])
    target["messages"][-1]["content"] += " My grandson keeps a repo of tide tables."
    cfg["curate"]["detector_drops"] = True
    result = curate.curate(chats, cfg, library=library, persona=persona(), detector=MarksRepos())
    assert target["id"] not in {c["id"] for c in result.kept}
    [row] = [r for r in result.removed if r["rule"] == "detector"]
    assert (row["id"], row["step"], row["category"], row["matched"]) == (target["id"], "agent_like", "detector", "the repo sentence")
    assert row["detail"] == "p_agent_like 0.900"
    step = next(s for s in result.funnel if s["step"].startswith("detector"))
    assert step == {"step": "detector (p >= 0.5)", "remaining": step["remaining"], "removed": 1}
    # after the patterns: what the library removed is not scored again, and nothing else is lost
    assert sorted(c["id"] for c in result.kept) == sorted(i for i in clean_ids if i != target["id"])


def test_funnel_names_the_opt_in_rules_that_are_on(cfg, library):
    result = curate.curate(fresh_chats(), cfg, library=library, persona=persona())
    assert any(row["step"] == "agent-like filter (opt-in on: persona_format)" for row in result.funnel)
    plain = curate.curate(fresh_chats(), cfg, library=patterns.load_library(), persona=persona())
    assert any(row["step"] == "agent-like filter" for row in plain.funnel)
    opt_in_rules = {p.name for p in library.patterns if not p.on_by_default}
    removed_by_opt_in = [r for r in result.removed if r.get("category") == "persona_format"]
    assert removed_by_opt_in and {r["rule"] for r in removed_by_opt_in} <= opt_in_rules
    assert set(result.removed_by_rule()) & opt_in_rules


def test_the_shipped_synthetic_facts_survive_curation_and_ask_no_suite_question():
    # v2.3's synthetic chats: in voice (no agent-like hit), not copies of raw chats, never a suite question verbatim
    from molting import suite

    cfg = params.load("v2.3", root=REPO)
    synthetic = curate.load_synthetic(cfg)
    assert len(synthetic) == 73 and all(c["source"] == "synthetic" for c in synthetic)
    library = patterns.load_library()
    assert [c["id"] for c in synthetic if any(library.first(m["content"]) for m in c["messages"] if m["role"] == "assistant")] == []
    prompts = {q.prompt.strip().lower() for q in suite.load_suites(list(cfg.eval.suites), REPO)}
    assert not [c["id"] for c in synthetic if c["messages"][0]["content"].strip().lower() in prompts]
    raw = load_chats(REPO / cfg.data.raw).chats
    result = curate.curate(raw, cfg, library=library, persona=params.read_yaml(REPO / cfg.data.persona),
                           count_tokens=lambda chat: 50, synthetic=synthetic)
    assert sum(c["id"].startswith("syn-") for c in result.train) == 73          # all kept, in the training split
    assert not [c["id"] for c in result.heldout if c["id"].startswith("syn-")]  # held-out measures the real voice

