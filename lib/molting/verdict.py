"""The experiment's verdict: each arm against the raw-data arm on the three figures that answer "did curation
help?": the agent-like rate on trigger questions, factual accuracy and the propensity gap, each with its
interval and the p-value of a paired test on the same questions (or probe items).

Nothing here picks thresholds from the answers: the figures come from eval.json as 03-evaluate wrote them,
and the wording only says "lowered"/"raised" when the paired p-value is below stats.ALPHA.
"""

from __future__ import annotations

from molting import seeds, stats
from molting.display import pct

TRIGGER = "trigger"
# the lab's target for the default run (issue 12): raw >= 40% trigger agent-like, curated <= 10% with p < 0.05,
# curated factual accuracy >= 60%; reported as met or not, never used to choose anything
TARGET = {"raw_agent_like_min": 0.40, "curated_agent_like_max": 0.10, "curated_factual_min": 0.60}
ROLE_PHRASES = {"prompt-only": "the persona prompt alone", "raw": "the raw data", "curated": "curation",
                "random subset": "a random subset of the curated size", "strip": "strip mode",
                "detector": "curation with the detector dropping too", "curated subset": "a random share of the curated data"}


def arm_role(params: dict) -> str:
    """What an arm is, from its params: prompt-only, raw, curated, random subset (of the raw data, the curated
    size), strip, detector (curated, and the detector drops what it flags) or curated subset (curated, then
    cut at random with curate.train_fraction)."""
    curate = params.get("curate", {})
    if params.get("train", {}).get("enabled", True) is False:
        return "prompt-only"
    if curate.get("random_subset") is not None:
        return "random subset"
    if not curate.get("enabled", True):
        return "raw"
    if curate.get("mode") == "strip":
        return "strip"
    if curate.get("detector_drops"):
        return "detector"
    return "curated subset" if curate.get("train_fraction", 1) < 1 else "curated"


def reference_run(runs: list[dict]) -> dict:
    """The arm every other one is compared with: the (first) trained arm on raw data, else the first version."""
    return next((run for run in runs if arm_role(run["params"]) == "raw"), runs[0])


def _tuned(run: dict) -> dict:
    return run["eval"]["models"]["tuned"]


def _config(run: dict) -> tuple[int, int]:
    config = run["eval"].get("config", {})
    return config.get("bootstrap", 1000), config.get("seed", 0)


def trigger_rate(run: dict, metric: str = "agent_like") -> dict | None:
    """The tuned model's rate of `metric` over its answers to trigger questions: {mean, count, n, ci95}."""
    return _tuned(run).get("by_category", {}).get(TRIGGER, {}).get(metric)


def per_question(run: dict, metric: str, category: str | None = None) -> dict[str, float | None]:
    """Each question's mean of `metric` for the tuned model (only one category's questions when given)."""
    return {qid: entry.get(metric) for qid, entry in _tuned(run).get("per_question", {}).items()
            if category is None or entry.get("category") == category}


def paired(a: dict, b: dict, metric: str, category: str | None = None) -> dict:
    """b vs a on the questions both answered: the paired permutation test, and exact McNemar on greedy answers."""
    resamples, seed = _config(a)
    result = stats.paired_difference(per_question(a, metric, category), per_question(b, metric, category), resamples, seed)
    greedy_a, greedy_b = _tuned(a).get("greedy", {}), _tuned(b).get("greedy", {})
    if greedy_a and greedy_b and metric != "factual":
        keep = set(per_question(a, metric, category))
        result["mcnemar_greedy"] = stats.mcnemar_exact({q: v.get(metric) for q, v in greedy_a.items() if q in keep},
                                                       {q: v.get(metric) for q, v in greedy_b.items() if q in keep})
    return result


def paired_propensity(a: dict, b: dict) -> dict | None:
    """b vs a on the probe items: the paired permutation test of the per-item gap (None without a probe)."""
    pa, pb = _tuned(a).get("propensity"), _tuned(b).get("propensity")
    if not (pa and pb):
        return None
    return stats.paired_difference(pa["per_item"], pb["per_item"], *_config(a))


def rate_text(rate: dict | None) -> str:
    """'45% [36%, 55%] (43/95)'."""
    if not rate or rate.get("mean") is None:
        return "n/a"
    low, high = rate.get("ci95") or (None, None)
    count = f" ({rate['count']}/{rate['n']})" if rate.get("count") is not None else f" (n={rate.get('n')})"
    return f"{pct(rate['mean'])} [{pct(low)}, {pct(high)}]{count}"


def gap_text(probe: dict | None) -> str:
    """'+0.412 [0.30, 0.52]' nats/token."""
    if not probe:
        return "n/a"
    low, high = probe.get("ci95") or (None, None)
    return f"{probe['gap_nats']:+.3f} [{low:+.3f}, {high:+.3f}]" if low is not None else f"{probe['gap_nats']:+.3f}"


def _p(result: dict | None) -> str:
    return "n/a" if not result or result.get("p_value") is None else stats.format_p(result["p_value"])


def arm_rows(runs: list[dict]) -> list[dict]:
    """One row per arm: the three figures with intervals, and each one's p-value against the reference arm."""
    ref = reference_run(runs)
    rows = []
    for run in runs:
        tuned, is_ref = _tuned(run), run is ref
        train = run.get("train") or {}
        rows.append({
            "version": run["version"], "arm": arm_role(run["params"]),
            "model": "prompt-only (base + persona card)" if train.get("trained") is False else "tuned (LoRA)",
            "train chats": run["curation"]["counts"]["train"] if train.get("trained") is not False else 0,
            "optimizer steps": train.get("global_steps", "n/a"),
            "trigger agent-like (library)": rate_text(trigger_rate(run)),
            f"p vs {ref['version']}": "reference" if is_ref else _p(paired(ref, run, "agent_like", TRIGGER)),
            "trigger agent-like (detector)": rate_text(trigger_rate(run, "agent_like_detector")),
            f"p vs {ref['version']} (detector)": "reference" if is_ref else _p(paired(ref, run, "agent_like_detector", TRIGGER)),
            "factual accuracy": rate_text(tuned.get("factual")),
            f"p vs {ref['version']} (factual)": "reference" if is_ref else _p(paired(ref, run, "factual")),
            "propensity gap (nats/token)": gap_text(tuned.get("propensity")),
            f"p vs {ref['version']} (propensity)": "reference" if is_ref else _p(paired_propensity(ref, run)),
        })
    return rows


def _change_sentence(what: str, before: str, after: str, result: dict | None, lower_is: str, unit: str = "") -> str:
    """'lowered X from A to B (p = ...)' when the paired test says so, else 'no difference shown (A vs B, p = ...)'."""
    if not result or result.get("p_value") is None or result.get("difference") is None:
        return f"{what}: {before} vs {after}, no paired test possible"
    if stats.within_noise(result):
        return (f"no difference shown in {what} ({before} vs {after}{unit}, {stats.p_clause(result['p_value'])} on "
                f"{result['pairs']} paired items)")
    lowered = result["difference"] < 0
    outcome = "better" if lowered == (lower_is == "better") else "worse"
    return (f"{'lowered' if lowered else 'raised'} {what} from {before} to {after}{unit} "
            f"({stats.p_clause(result['p_value'])}, {result['pairs']} paired items: {outcome})")


def _gap_sentence(a: dict, b: dict) -> list[str]:
    """The propensity gap's change from a to b as a sentence part, or nothing without a probe."""
    gap = paired_propensity(a, b)
    if gap is None:
        return []
    return [_change_sentence("the propensity gap", f"{_tuned(a)['propensity']['gap_nats']:+.3f}",
                             f"{_tuned(b)['propensity']['gap_nats']:+.3f}", gap, "better", " nats/token")]


def arm_sentence(ref: dict, run: dict) -> str:
    """The plain verdict for one arm against the reference: trigger agent-like rate, factual accuracy, propensity gap."""
    role = arm_role(run["params"])
    library = paired(ref, run, "agent_like", TRIGGER)
    detector = paired(ref, run, "agent_like_detector", TRIGGER)
    factual = paired(ref, run, "factual")
    a_rate, b_rate = trigger_rate(ref), trigger_rate(run)
    a_det, b_det = trigger_rate(ref, "agent_like_detector"), trigger_rate(run, "agent_like_detector")
    parts = [_change_sentence("the trigger agent-like rate (pattern library)", pct(a_rate and a_rate["mean"]),
                              pct(b_rate and b_rate["mean"]), library, "better"),
             _change_sentence("the independent detector's trigger rate", pct(a_det and a_det["mean"]),
                              pct(b_det and b_det["mean"]), detector, "better"),
             _change_sentence("factual accuracy", pct(_tuned(ref)["factual"]["mean"]), pct(_tuned(run)["factual"]["mean"]),
                              factual, "worse"), *_gap_sentence(ref, run)]
    # what an arm is ("curation", "strip mode") is said against the raw arm only; otherwise the versions speak
    label = (f"{ROLE_PHRASES.get(role, role).capitalize()} ({run['version']}, against {ref['version']})"
             if arm_role(ref["params"]) == "raw" else f"{run['version']} against {ref['version']}")
    return f"{label}: " + "; ".join(parts) + "."


def head_to_head(a: dict, b: dict, question: str) -> str | None:
    """One comparison between two non-reference arms (e.g. curated vs random subset of its size)."""
    library = paired(a, b, "agent_like", TRIGGER)
    factual = paired(a, b, "factual")
    ra, rb = trigger_rate(a), trigger_rate(b)
    if not ra or not rb:
        return None
    parts = [_change_sentence("the trigger agent-like rate", pct(ra["mean"]), pct(rb["mean"]), library, "better"),
             _change_sentence("factual accuracy", pct(_tuned(a)["factual"]["mean"]), pct(_tuned(b)["factual"]["mean"]),
                              factual, "worse"), *_gap_sentence(a, b)]
    return f"{question} {b['version']} vs {a['version']}: " + "; ".join(parts) + "."


def target_sentence(ref: dict, curated: dict) -> str:
    """Whether the lab's target for the default run is met, with the figures."""
    raw_rate, cur_rate = trigger_rate(ref), trigger_rate(curated)
    if not raw_rate or not cur_rate or raw_rate.get("mean") is None or cur_rate.get("mean") is None:
        return "Target: not measurable (no trigger questions in the suite)."
    result = paired(ref, curated, "agent_like", TRIGGER)
    factual = _tuned(curated)["factual"]["mean"]
    checks = [(f"raw trigger agent-like {pct(raw_rate['mean'])} >= {TARGET['raw_agent_like_min']:.0%}",
               raw_rate["mean"] >= TARGET["raw_agent_like_min"]),
              (f"curated {pct(cur_rate['mean'])} <= {TARGET['curated_agent_like_max']:.0%}",
               cur_rate["mean"] <= TARGET["curated_agent_like_max"]),
              (f"{stats.p_clause(result and result.get('p_value'))} < {stats.ALPHA}", not stats.within_noise(result)),
              (f"curated factual {pct(factual)} >= {TARGET['curated_factual_min']:.0%}",
               factual is not None and factual >= TARGET["curated_factual_min"])]
    met = all(ok for _, ok in checks)
    return (f"Target ({ref['version']} vs {curated['version']}): {'met' if met else 'not met'}: "
            + "; ".join(f"{text} ({'yes' if ok else 'no'})" for text, ok in checks) + ".")


def headline(runs: list[dict]) -> list[str]:
    """The verdict in three sentences for the summary: the curated arm (else the first other arm) against the
    reference, the target, and the seeds; verdict_lines has the rest."""
    ref = reference_run(runs)
    others = [run for run in runs if run is not ref]
    if not others:
        return []
    curated = next((run for run in others if arm_role(run["params"]) == "curated"), None)
    lines = [arm_sentence(ref, curated or others[0])]
    if curated is not None and arm_role(ref["params"]) == "raw":      # the target is raw against curated
        lines.append(target_sentence(ref, curated))
    return [*lines, seeds.seed_sentence(runs)]


def verdict_lines(runs: list[dict]) -> list[str]:
    """The experiment's verdict in plain sentences: each arm against the reference, cleaner vs smaller, strip vs
    filter, the target, and what the figures cannot show (one seed; unequal optimizer steps, if any)."""
    ref = reference_run(runs)
    by_role: dict[str, dict] = {}
    for run in runs:
        by_role.setdefault(arm_role(run["params"]), run)
    trigger = _tuned(ref).get("by_category", {}).get(TRIGGER, {})
    lines = [f"Reference arm: {ref['version']} ({ROLE_PHRASES.get(arm_role(ref['params']), 'the first version')}); "
             f"{trigger.get('questions', 0)} trigger questions, {trigger.get('answers', 0)} rated answers to them per arm."]
    lines += [arm_sentence(ref, run) for run in runs if run is not ref]
    if "curated" in by_role and "random subset" in by_role:
        line = head_to_head(by_role["random subset"], by_role["curated"], "Cleaner or just smaller (same size):")
        lines += [line] if line else []
    if "curated" in by_role and "strip" in by_role:
        line = head_to_head(by_role["curated"], by_role["strip"], "Strip or filter:")
        lines += [line] if line else []
    if "detector" in by_role and "curated subset" in by_role:
        line = head_to_head(by_role["curated subset"], by_role["detector"], "Cleaner or just smaller (the detector's size):")
        lines += [line] if line else []
    if "curated" in by_role and arm_role(ref["params"]) == "raw":
        lines.append(target_sentence(ref, by_role["curated"]))
    steps = {run["version"]: (run.get("train") or {}).get("global_steps") for run in runs
             if (run.get("train") or {}).get("trained") is not False}
    if len(set(steps.values())) > 1:
        lines.append("Optimizer steps differ between the trained arms (" + ", ".join(f"{v} {s}" for v, s in steps.items())
                     + "): data and compute are confounded; give them equal train.max_steps.")
    elif steps:
        lines.append(f"Every trained arm ran {next(iter(steps.values()))} optimizer steps.")
    lines.append(seeds.seed_sentence(runs))
    return lines
