"""The experiment's verdict: each arm against the raw arm, with intervals and paired p-values, in plain words."""

from __future__ import annotations

import pytest

from molting import verdict
from molting.evaluate import ScoreWeights, aggregate, answer_score

FACTS = [f"f{i}" for i in range(8)]
TRIGGERS = [f"t{i}" for i in range(10)]
SAMPLES = 3


def answers(trigger_agent_like: int, factual: float, detector_extra: int = 0) -> list[dict]:
    """Greedy + SAMPLES sampled answers: the first `trigger_agent_like` trigger questions agent-like every time."""
    rows = []
    for decoding, n in (("greedy", 1), ("sampled", SAMPLES)):
        for sample in range(n):
            for qid in FACTS + TRIGGERS:
                trigger = qid.startswith("t")
                library = trigger and int(qid[1:]) < trigger_agent_like
                detector = library or (trigger and int(qid[1:]) < trigger_agent_like + detector_extra)
                v = {"agent_like": float(library), "agent_like_detector": float(detector), "agent_like_either": float(detector),
                     "factual": None if trigger else factual, "contradicted": 0.0, "forbidden": 0.0, "truncated": 0.0,
                     "in_character": 1.0, "on_topic": 1.0, "in_voice": float(not detector), "empty": 0.0, "distinct_2": 1.0}
                rows.append({"model": "tuned", "question_id": qid, "category": "trigger" if trigger else "facts",
                             "decoding": decoding, "sample": sample, "verdict": v, "score": answer_score(v, ScoreWeights())})
    return rows


def run(version: str, params: dict, trigger_agent_like: int, factual: float, gap: float, steps: int | None = 120,
        detector_extra: int = 0) -> dict:
    tuned = aggregate(answers(trigger_agent_like, factual, detector_extra), 200, 0)
    per_item = {f"p{i}": gap + (0.01 * i) for i in range(12)}
    tuned["propensity"] = {"gap_nats": round(sum(per_item.values()) / 12, 4), "ci95": (gap - 0.05, gap + 0.15), "per_item": per_item}
    train = {"trained": False, "global_steps": 0} if steps is None else {"global_steps": steps}
    return {"version": version, "params": {"seed": 42, **params}, "eval": {"models": {"tuned": tuned}, "config": {"bootstrap": 200, "seed": 0}},
            "train": train, "curation": {"counts": {"train": 100}}}


RAW = {"curate": {"enabled": False}}
CURATED = {"curate": {"enabled": True, "mode": "filter"}}


def test_arm_roles_come_from_the_params():
    assert verdict.arm_role({"train": {"enabled": False}, **RAW}) == "prompt-only"
    assert verdict.arm_role(RAW) == "raw" and verdict.arm_role(CURATED) == "curated"
    assert verdict.arm_role({"curate": {"enabled": True, "mode": "strip"}}) == "strip"
    assert verdict.arm_role({"curate": {"enabled": True, "random_subset": "curated_size"}}) == "random subset"
    assert verdict.arm_role({"curate": {"enabled": True, "detector_drops": True}}) == "detector"
    assert verdict.arm_role({"curate": {"enabled": True, "train_fraction": 0.58}}) == "curated subset"
    assert verdict.arm_role({"curate": {"enabled": True, "train_fraction": 1.0, "detector_drops": False}}) == "curated"


def test_a_clear_drop_is_reported_with_intervals_and_the_paired_p():
    raw = run("v1", RAW, trigger_agent_like=8, factual=0.25, gap=0.5)
    curated = run("v2.1", CURATED, trigger_agent_like=0, factual=0.75, gap=0.1)
    rows = {r["version"]: r for r in verdict.arm_rows([raw, curated])}
    assert rows["v1"]["p vs v1"] == "reference" and rows["v1"]["arm"] == "raw"
    assert rows["v1"]["trigger agent-like (library)"] == "80% [63%, 90%] (24/30)"        # Wilson interval on 30 samples
    assert rows["v2.1"]["trigger agent-like (library)"].startswith("0% [0%, 11%] (0/30)")
    assert rows["v2.1"]["p vs v1"] == "0.00781"                     # exact sign flip: 8 changed questions, 2 of 2**8
    assert rows["v2.1"]["p vs v1 (factual)"] == "0.00781"
    assert rows["v2.1"]["propensity gap (nats/token)"].startswith("+0.155 [")
    line = next(x for x in verdict.verdict_lines([raw, curated]) if x.startswith("Curation (v2.1, against v1): "))
    assert "lowered the trigger agent-like rate (pattern library) from 80% to 0% (p = 0.00781, 10 paired items" in line
    assert "raised factual accuracy from 25% to 75% (p = 0.00781, 8 paired items: better)" in line
    assert "lowered the propensity gap from +0.555 to +0.155" in line and "paired items: worse" not in line
    worse = verdict.arm_sentence(curated, raw)                        # the same pair the other way round
    assert "raised the trigger agent-like rate (pattern library) from 0% to 80% (p = 0.00781, 10 paired items: worse)" in worse
    assert "lowered factual accuracy from 75% to 25% (p = 0.00781, 8 paired items: worse)" in worse


def test_no_difference_is_said_with_the_evidence():
    raw = run("v1", RAW, trigger_agent_like=3, factual=0.5, gap=0.3)
    random_subset = run("v2.1-random", {"curate": {"enabled": True, "random_subset": "curated_size"}},
                        trigger_agent_like=2, factual=0.5, gap=0.3)
    line = verdict.arm_sentence(raw, random_subset)
    assert line.startswith("A random subset of the curated size (v2.1-random, against v1): no difference")
    assert "no difference shown in the trigger agent-like rate (pattern library) (30% vs 20%, p = 1" in line
    assert "no difference shown in factual accuracy (50% vs 50%, p = 1" in line


def test_the_phase_verdict_separates_cleaner_from_smaller_and_states_the_target_and_caveats():
    arms = [run("v0", {"train": {"enabled": False}, **RAW}, 9, 0.1, 0.6, steps=None),
            run("v1", RAW, 8, 0.5, 0.5), run("v2.1", CURATED, 0, 0.75, 0.1),
            run("v2.1-random", {"curate": {"enabled": True, "random_subset": "curated_size"}}, 8, 0.5, 0.5),
            run("v2.1-strip", {"curate": {"enabled": True, "mode": "strip"}}, 1, 0.75, 0.15)]
    lines = verdict.verdict_lines(arms)
    text = "\n".join(lines)
    assert lines[0] == "Reference arm: v1 (the raw data); 10 trigger questions, 30 rated answers to them per arm."
    assert "The persona prompt alone (v0, against v1): " in text
    assert "Cleaner or just smaller (same size): v2.1 vs v2.1-random: lowered the trigger agent-like rate from 80% to 0%" in text
    assert "Strip or filter: v2.1-strip vs v2.1: no difference shown in the trigger agent-like rate (0% vs 10%" in text
    assert ("Target (v1 vs v2.1): met: raw trigger agent-like 80% >= 40% (yes); curated 0% <= 10% (yes); "
            "p = 0.00781 < 0.05 (yes); curated factual 75% >= 60% (yes).") in text
    assert "Every trained arm ran 120 optimizer steps." in text          # the prompt-only arm trains nothing
    assert "Cleaner or just smaller (the detector's size)" not in text   # no detector arm and no subset of v2.1 here
    assert lines[-1].startswith("One training seed per arm (seed 42)")
    rows = {r["version"]: r for r in verdict.arm_rows(arms)}
    assert rows["v0"]["model"].startswith("prompt-only") and rows["v0"]["train chats"] == 0
    arms[2]["train"]["global_steps"] = 80
    assert "Optimizer steps differ between the trained arms (v1 120, v2.1 80" in "\n".join(verdict.verdict_lines(arms))


def test_the_headline_is_the_curated_arm_the_target_and_the_seeds():
    arms = [run("v1", RAW, 8, 0.5, 0.5), run("v2.1-random", {"curate": {"enabled": True, "random_subset": "curated_size"}}, 8, 0.5, 0.5),
            run("v2.1", CURATED, 0, 0.75, 0.1)]
    lines = verdict.headline(arms)
    assert len(lines) == 3 and lines[0].startswith("Curation (v2.1, against v1): lowered the trigger agent-like rate")
    assert lines[1].startswith("Target (v1 vs v2.1): met") and lines[2].startswith("One training seed per arm")
    assert verdict.headline(arms[:2])[0].startswith("A random subset of the curated size (v2.1-random, against v1)")
    assert len(verdict.headline(arms[:2])) == 2 and verdict.headline(arms[:1]) == []


def test_without_a_raw_arm_the_versions_speak_and_no_target_is_judged():
    curated = run("v2.1", CURATED, 1, 0.25, 0.1)
    more = run("v2.3", CURATED, 1, 0.75, 0.1)
    lines = verdict.verdict_lines([curated, more])
    assert lines[0].startswith("Reference arm: v2.1 (curation)")
    assert lines[1].startswith("v2.3 against v2.1: no difference shown in the trigger agent-like rate")
    assert not [line for line in lines if line.startswith("Target")]
    headline = verdict.headline([curated, more])
    assert headline[0].startswith("v2.3 against v2.1: ") and not [line for line in headline if line.startswith("Target")]
    prompt_first = [run("v0", {"train": {"enabled": False}, **RAW}, 9, 0.1, 0.6, steps=None), more]
    assert not [line for line in verdict.verdict_lines(prompt_first) if line.startswith("Target")]


def test_target_not_met_says_which_part_failed():
    raw = run("v1", RAW, 3, 0.5, 0.3)
    curated = run("v2.1", CURATED, 2, 0.4, 0.3)
    line = verdict.target_sentence(raw, curated)
    assert line.startswith("Target (v1 vs v2.1): not met: raw trigger agent-like 30% >= 40% (no); curated 20% <= 10% (no)")
    assert "curated factual 40% >= 60% (no)" in line


@pytest.mark.parametrize("extra, expect", [(0, "no difference shown in the independent detector's trigger rate"),
                                           (6, "raised the independent detector's trigger rate")])
def test_the_detector_is_reported_beside_the_library(extra, expect):
    raw = run("v1", RAW, 0, 0.5, 0.3)
    other = run("v2.1", CURATED, 0, 0.5, 0.3, detector_extra=extra)
    assert expect in verdict.arm_sentence(raw, other)


def test_the_phase_params_diff_shows_each_arm_against_its_parent():
    from molting import params
    from molting.report import phase_params_diff

    from conftest import REPO

    runs = [{"version": v, "params": params.resolve(v, REPO).to_dict()} for v in ("v0", "v1", "v2.1", "v2.1-random", "v2.1-strip")]
    rows = [(r["from -> to"], r["key"]) for r in phase_params_diff(runs).rows if r["key"] != "description"]
    assert rows == [("v1 -> v0", "train.enabled"), ("v1 -> v2.1", "curate.enabled"),
                    ("v2.1 -> v2.1-random", "curate.random_subset"), ("v2.1 -> v2.1-strip", "curate.mode")]


def test_the_detector_arm_is_named_and_set_against_a_curated_subset_of_its_size():
    detector = run("v2.1-detector", {"curate": {"enabled": True, "detector_drops": True}}, 0, 0.75, 0.0)
    subset = run("v2.1-subset", {"curate": {"enabled": True, "train_fraction": 0.58}}, 0, 0.25, 0.3)
    arms = [run("v1", RAW, 8, 0.25, 0.5), run("v2.1", CURATED, 1, 0.5, 0.1), detector, subset]
    lines = verdict.verdict_lines(arms)
    text = "\n".join(lines)
    assert "Curation with the detector dropping too (v2.1-detector, against v1): " in text
    assert "A random share of the curated data (v2.1-subset, against v1): " in text
    assert ("Cleaner or just smaller (the detector's size): v2.1-detector vs v2.1-subset: no difference shown in the "
            "trigger agent-like rate (0% vs 0%") in text
    assert ("raised factual accuracy from 25% to 75% (p = 0.00781, 8 paired items: better); lowered the propensity gap "
            "from +0.355 to +0.055 nats/token") in text
    assert "Target (v1 vs v2.1): not met" in text                        # the target stays v1 against plain curation
    assert {r["version"]: r["arm"] for r in verdict.arm_rows(arms)}["v2.1-subset"] == "curated subset"
