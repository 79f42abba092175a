"""What the figures say to do next: the paired comparison with the version before, the points each credit and
penalty costs, the fit of the loss curves, and the next-step rules built on them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from molting import coverage, stats
from molting.evaluate import ScoreWeights, compare, rate_rows, score_parts


def comparison(run: dict, previous: dict | None = None) -> tuple[str, dict]:
    """The label of what this version is compared with, and the paired comparison (this minus that) per metric."""
    ev = run["eval"]
    if previous is None:
        return "base", ev.get("tuned_vs_base") or {}
    config = ev.get("config", {})
    return f"{previous['version']} (tuned)", compare(previous["eval"]["models"]["tuned"], ev["models"]["tuned"],
                                                     config.get("bootstrap", 1000), config.get("seed", 0))


# what the fit verdict calls a rise, a real gap and "still high": see fit_diagnosis
OVERFIT_RISE = 0.05          # held-out loss above its minimum by more than 5% of it (and 0.02 nats) is rising
UNDERFIT_GAP = 0.15          # train loss within 15% of held-out loss: the model has not begun to fit the training set


def fit_diagnosis(train_json: dict) -> dict:
    """Underfit, overfit or fit, from train.json's loss curves, with the numbers behind the verdict.

    overfit: the last held-out loss is above its minimum by more than OVERFIT_RISE (relative) and
    0.02 nats. underfit: not overfit, and the train loss is still high: within UNDERFIT_GAP of the
    held-out loss, so no train/held-out gap has opened (typically with held-out loss still falling at
    the end, as when a schedule decays before the model fits; more updates or a higher learning rate
    would lower both). Otherwise fit: a gap has opened and held-out loss has not turned up.
    """
    heldout = [p["loss"] for p in train_json.get("heldout_loss", [])]
    train_points = [p["loss"] for p in train_json.get("train_loss", [])]
    figures: dict[str, Any] = {"evaluations": len(heldout),
                               "thresholds": {"overfit_rise": OVERFIT_RISE, "underfit_gap": UNDERFIT_GAP}}
    if len(heldout) < 2 or not train_points:
        return {"verdict": "unknown", "reason": "fewer than two held-out evaluations or no train loss logged", **figures}
    best_index = min(range(len(heldout)), key=heldout.__getitem__)
    best, final = heldout[best_index], heldout[-1]
    # the last few logged train losses: one logged batch is noisy
    train_final = sum(train_points[-3:]) / len(train_points[-3:])
    rise = final - best
    gap = (final - train_final) / final if final > 0 else 0.0
    figures.update({"heldout_first": round(heldout[0], 4), "heldout_best": round(best, 4),
                    "heldout_best_at_evaluation": best_index + 1, "heldout_final": round(final, 4),
                    "heldout_last_change": round(heldout[-1] - heldout[-2], 4), "heldout_rise_from_best": round(rise, 4),
                    "heldout_still_falling": best_index == len(heldout) - 1,
                    "train_final": round(train_final, 4), "train_heldout_gap": round(gap, 4)})
    if rise > max(OVERFIT_RISE * best, 0.02):
        reason = (f"held-out loss rose from {best:.3f} (evaluation {best_index + 1}) to {final:.3f}: "
                  "fewer updates, a lower learning rate or more data")
        return {"verdict": "overfit", "reason": reason, **figures}
    if gap < UNDERFIT_GAP:
        trend = (f"still falling at the end ({heldout[-2]:.3f} -> {final:.3f})" if best_index == len(heldout) - 1
                 else f"flat at {final:.3f} (best {best:.3f})")
        reason = (f"train loss {train_final:.3f} still high, within {gap:.0%} of the held-out loss, which is {trend}: "
                  "more updates, a higher learning rate or more LoRA capacity (all-linear, rank)")
        return {"verdict": "underfit", "reason": reason, **figures}
    reason = (f"held-out loss {final:.3f} (best {best:.3f}), train loss {train_final:.3f}: "
              f"a train/held-out gap of {gap:.0%} without held-out loss rising")
    return {"verdict": "fit", "reason": reason, **figures}


def gap_rows(run: dict) -> list[dict]:
    """Points of the score /10 each credit misses and each penalty costs, over the tuned model's rated answers."""
    ev = run["eval"]
    weights = ScoreWeights(**ev["weights"])
    rows_used = rate_rows([r for r in run["answers"] if r["model"] == "tuned"])
    lost = {"in_voice": 0.0, "facts": 0.0, **{k: 0.0 for k in weights.penalties()}, "floor": 0.0}
    for row in rows_used:
        parts = score_parts(row["verdict"], weights)
        no_facts = row["verdict"]["factual"] is None
        lost["in_voice"] += (1.0 if no_facts else weights.in_voice) - parts["in_voice"]
        lost["facts"] += (0.0 if no_facts else weights.facts) - parts["facts"]
        for key in weights.penalties():
            lost[key] -= parts[key]
        lost["floor"] -= row["score"] - sum(parts.values())   # points the floor at 0 gives back
    n = max(len(rows_used), 1)
    labels = {"in_voice": "credit missed: in voice", "facts": "credit missed: facts", "agent_like_either": "penalty: agent-like",
              "contradicted": "penalty: contradicted facts", "forbidden": "penalty: forbidden", "truncated": "penalty: truncated",
              "floor": "floor at 0 (gives back)"}
    rows = [{"metric": labels[k], "points lost": round(10 * v / n, 2)} for k, v in lost.items() if abs(v) > 1e-9]
    rows.sort(key=lambda r: -r["points lost"])
    tuned = ev["models"]["tuned"]
    rows.append({"metric": "gap to target", "points lost": round(max(0.0, ev["target_score"] - tuned["score"]["mean"]), 2)})
    return rows


def _first(names: list[str], limit: int = 5) -> str:
    """The first `limit` names, and how many more (the answers table lists every answer's rules)."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def next_steps(run: dict, previous: dict | None = None) -> list[str]:
    """Suggestions derived from the figures by fixed rules (each rule is documented in its message),
    the ones tied to the metrics that cost the most points first."""
    ev, train, curation = run["eval"], run["train"], run["curation"]
    tuned = ev["models"]["tuned"]
    params = run["params"]
    curate = params.get("curate", {})
    lost = {row["metric"]: row["points lost"] for row in gap_rows(run)[:-1]}
    steps: list[tuple[float, str]] = []
    if tuned["truncated"]["mean"]:
        now = params.get("eval", {}).get("max_new_tokens")
        steps.append((lost.get("penalty: truncated", 0), f"Truncation: {tuned['truncated']['count']}/{tuned['answers']} answers hit max_new_tokens ({now}) "
                     f"without ending; raise eval.max_new_tokens (e.g. to {int((now or 96) * 1.5)}) or train on shorter replies."))
    fit = train.get("fit") or fit_diagnosis(train)       # runs trained before train.json carried it
    if fit["verdict"] == "underfit":
        steps.append((lost.get("credit missed: facts", 0) + 0.5, f"Underfitting: {fit['reason']} (train.learning_rate, "
                      "train.max_steps or train.epochs, train.target_modules, train.lora_r)."))
    elif fit["verdict"] == "overfit":
        best = fit["heldout_best_at_evaluation"]
        steps.append((0.5, f"Overfitting: {fit['reason']}; stop at held-out evaluation {best} "
                      "(fewer train.epochs or train.max_steps) or keep early stopping on."))
    tuned_answers = [r for r in run["answers"] if r["model"] == "tuned"]
    hits = Counter(rule for r in tuned_answers for rule in set(r["verdict"].get("agent_like_rules", [])))
    rules = sorted(hits, key=lambda rule: (-hits[rule], rule))     # most answers first
    detector_only = [r for r in rate_rows(tuned_answers)
                     if r["verdict"].get("agent_like_detector") and not r["verdict"]["agent_like"]]
    if detector_only:
        steps.append((lost.get("penalty: agent-like", 0) / 2, f"The detector flags {len(detector_only)} answers the pattern library passes "
                      "(see the disagreements): read them, and where they are agent-like, add a pattern (curate.patterns_extra) so "
                      "curation removes that phrasing too."))
    if rules:
        removed = curation.get("removed_by_rule", {})
        caught = [f"{r} ({removed[r]} removed)" for r in rules if r in removed]
        missed = [r for r in rules if r not in removed]
        flagged = sum(1 for r in tuned_answers if r["verdict"].get("agent_like_rules"))
        line = (f"Agent-like answers remain: {flagged} of {len(tuned_answers)} tuned answers match the pattern library, "
                f"most often {_first([f'{r} ({hits[r]})' for r in rules])}.")
        if not curation.get("curation_enabled", True):
            line += " Curation was off for this version: turn it on (curate.enabled: true)."
        else:
            if caught:
                line += f" Curation removed these from the training data ({_first(caught)}), so the base model's habit survives: train longer or add in-voice examples for those questions."
            if missed:
                line += f" Curation removed nothing for {_first(missed)}: the training data has none, so the habit comes from the base model."
        steps.append((lost.get("penalty: agent-like", 0), line))
    marked, kept = (curation.get("review") or {}).get("marked", 0), curation["counts"].get("kept", 0)
    if kept and marked >= 0.1 * kept and not curate.get("detector_drops"):
        steps.append((lost.get("penalty: agent-like", 0) / 2 + 0.2, f"The detector marks {marked} of the {kept} kept chats as "
                      "agent-like (runs/<version>/data/review.jsonl): read some, and if they are, let it drop what it flags "
                      "(curate.detector_drops: true). On the sample that raised factual accuracy to 42%, against 21% for the raw "
                      "data and 15% for a random subset of the same size (p < 0.001 each, three training seeds per arm; "
                      "benchmarks/RESULTS.md, experiment)."))
    n_train = curation["counts"]["train"]
    if n_train < 200 and curate.get("duplicate_fraction", 0) == 0 and not curate.get("synthetic_file"):
        steps.append((0.1, f"Small dataset: {n_train} training chats. Add synthetic in-voice examples (curate.synthetic_file, "
                     f"50-100 chats) or repeat the best 25% (curate.duplicate_fraction: 0.25)."))
    if tuned["contradicted"]["mean"]:
        wrong = sorted({p for r in run["answers"] if r["model"] == "tuned" for p in r["verdict"].get("contradicted_found", [])})
        steps.append((lost.get("penalty: contradicted facts", 0), f"Wrong facts: {tuned['contradicted']['count']}/{tuned['contradicted']['n']} "
                      f"answers state a fact that contradicts the persona ({len(wrong)} different patterns); check the training data "
                      "for chats that say otherwise, and add in-voice examples stating the right fact."))
    if tuned["factual"]["mean"] is not None and tuned["factual"]["mean"] < 0.75:
        missing = sorted({p for r in run["answers"] if r["model"] == "tuned" for p in r["verdict"].get("facts_missing", [])})
        rare = coverage.rare_line(run["eval"])
        # more updates only while the held-out loss has not turned up: on the sample, 320 updates against 192 overfit the
        # detector arm's 141 chats and lowered its factual accuracy (two seeds; benchmarks/RESULTS.md, sweep)
        longer = (" Training longer will not add them: the held-out loss already rose (see the overfitting step)."
                  if fit["verdict"] == "overfit" else " Or train longer (train.max_steps), while the held-out loss keeps falling.")
        where = (f" {rare}: add in-voice chats that state them (to data.raw, or as curate.synthetic_file), a few dozen per "
                 "fact rather than a handful (on the sample, 4-5 more chats per fact did not help measurably, while facts "
                 "stated in 25 or more clean chats were stated in most greedy answers: the phase report's facts section)."
                 if rare else " Check that the training data states them often (curation funnel, kept chats).") + longer
        steps.append((lost.get("credit missed: facts", 0), f"Facts: factual accuracy is {tuned['factual']['mean']:.0%}; the tuned model misses "
                     f"{len(missing)} expected facts.{where}"))
    paired = comparison(run, previous)[1].get("score") if previous else None
    if paired and stats.within_noise(paired):
        steps.append((0.05, f"The score's change from {previous['version']} is within noise (paired test on the same questions, "
                     f"{stats.p_clause(paired['p_value'])}): add questions or samples per question (eval.samples), or train "
                     "more seeds, before drawing conclusions."))
    ordered = [text for _, text in sorted(steps, key=lambda step: -step[0])]
    return ordered or ["No rule fired: every metric is within its target."]
