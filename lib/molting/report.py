"""The version and phase reports: their tables and summaries (rendering helpers: molting.display; the
next-step rules: molting.advice)."""

from __future__ import annotations

import html
import platform
import subprocess
import time
from pathlib import Path

from molting import seeds, stats
from molting.advice import comparison, gap_rows, next_steps
from molting.evaluate import METRIC_LABELS, PRIMARY, compare, greedy_factual
from molting.display import Bullets, Table, escape_html, escape_markdown, fenced_code, fmt, summary_markdown
from molting.runs import previous_version




def prompt_only(run: dict) -> bool:
    """Whether the version trained nothing (train.enabled: false): its "tuned" model is the base model prompted."""
    return run["train"].get("trained") is False


def model_label(run: dict) -> str:
    """How the report names the model under test: "prompt-only" or "tuned"."""
    return "prompt-only" if prompt_only(run) else "tuned"


def header(run: dict) -> Table:
    """Version, date, git commit, hardware, model and seed."""
    train = run["train"]
    what = (run["eval"].get("tuned_model") or {}).get("what") or (
        "no training: the base model with the persona card as its system prompt" if prompt_only(run)
        else "the base model with this version's LoRA adapter")
    rows = [
        {"": "version", "value": run["version"]},
        {"": "description", "value": run["params"].get("description", "")},
        {"": "model under test", "value": f"{model_label(run)}: {what}"},
        {"": "compared with", "value": previous_version(run) or "(none)"},
        {"": "date", "value": time.strftime("%Y-%m-%d %H:%M")},
        {"": "git commit", "value": git_commit(Path(run.get("root", ".")))},
        {"": "hardware", "value": "no training (prompt-only)" if prompt_only(run) else f"{train.get('device_name')} ({train.get('device')})"},
        {"": "python / platform", "value": f"{platform.python_version()} / {platform.platform(terse=True)}"},
        {"": "model", "value": run["params"].get("model", {}).get("source")},
        {"": "trust_remote_code", "value": "ON: the model repository's own code ran" if run["params"].get("model", {}).get("trust_remote_code") else "off"},
        {"": "seed", "value": run["params"].get("seed")},
    ]
    return Table(rows)


def git_commit(root: Path) -> str:
    """Short commit of the project, with '+changes' if tracked files other than rendered reports differ (the
    committed sample reports under reports/ are rewritten by the run itself and say nothing of the code)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return (commit.stdout.strip() or "unknown") + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _interval(agg: dict) -> str:
    ci = agg.get("ci95")
    return "" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


REPORTED = (*PRIMARY, "in_voice", "forbidden")


def _value(agg: dict, metric: str) -> str:
    m = agg.get(metric) or {}
    if m.get("mean") is None:
        return "n/a"
    return f"{m['count']}/{m['n']}" if m.get("count") is not None else f"{m['mean']:.2f}"


def _change_words(paired: dict | None, digits: int = 2) -> str:
    """'change +0.25 [0.10, 0.40], p = 0.003' (or 'p < 0.001', '... (within noise)') for a sentence."""
    change, _ = _change(paired, digits=digits)
    if not change:
        return "no paired change"
    return f"change {change}, {stats.p_clause(paired['p_value'])}" + (" (within noise)" if stats.within_noise(paired) else "")


def _change(paired: dict | None, scale: float = 1.0, digits: int = 2) -> tuple[str, str]:
    """('+0.25 [0.10, 0.40]', '0.003' or '0.41 (within noise)'): a paired comparison's change and p-value."""
    if not paired or paired.get("difference") is None:
        return "", ""
    low, high = paired["ci95"]
    change = f"{paired['difference'] * scale:+.{digits}f} [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
    return change, f"{stats.format_p(paired['p_value'])}" + (" (within noise)" if stats.within_noise(paired) else "")


def results_table(run: dict, previous: dict | None = None) -> Table:
    """Each primary rate for the base model, the compared version and this one, with the paired test of the change."""
    models = run["eval"]["models"]
    base, tuned = models["base"], models["tuned"]
    label, paired = comparison(run, previous)
    before = previous["eval"]["models"]["tuned"] if previous else None
    rows = []
    for metric in (*REPORTED, "score"):
        if metric not in tuned:
            continue
        change, p = _change(paired.get(metric))
        row = {"metric": METRIC_LABELS[metric], "base": _value(base, metric) if metric != "score" else f"{base['score']['mean']:.1f}",
               "this version": _value(tuned, metric) if metric != "score" else f"{tuned['score']['mean']:.1f}",
               "95% CI": _interval(tuned[metric]), f"change vs {label} (paired)": change, "p": p}
        if before is not None:
            row[label] = _value(before, metric) if metric != "score" else f"{before['score']['mean']:.1f}"
        rows.append(row)
    judge = run["eval"].get("judge")
    if judge:
        row = {"metric": "LLM judge /10 (greedy answers)", "base": fmt(judge.get("base", {}).get("mean_score")),
               "this version": fmt(judge.get("tuned", {}).get("mean_score"))}
        if previous:   # never keyed by `label` without one: that label is "base", and would blank the base column
            row[label] = fmt(((previous["eval"].get("judge") or {}).get("tuned") or {}).get("mean_score"))
        rows.append(row)
    for kind, name in (("test", "Perplexity, shared test chats"), ("heldout", "Perplexity, this version's held-out split")):
        key = f"{kind}_perplexity"
        if tuned.get(key) is None:
            continue
        row = {"metric": name, "base": fmt(base.get(key)), "this version": fmt(tuned.get(key))}
        if before is not None:
            row[label] = fmt(before.get(key)) if kind == "test" else "(another split)"
        rows.append(row)
    probe = tuned.get("propensity")
    if probe:
        probe_paired = (run["eval"].get("propensity_comparison") if previous is None else
                        stats.paired_difference(before["propensity"]["per_item"], probe["per_item"],
                                                run["eval"]["config"].get("bootstrap", 1000), run["eval"]["config"].get("seed", 0))
                        if before and before.get("propensity") else None)
        change, p = _change(probe_paired, digits=3)
        row = {"metric": "Propensity gap (nats/token; lower = less agent-like)", "base": f"{base['propensity']['gap_nats']:+.3f}",
               "this version": f"{probe['gap_nats']:+.3f}", "95% CI": _interval(probe), f"change vs {label} (paired)": change, "p": p}
        if before is not None:
            row[label] = f"{before['propensity']['gap_nats']:+.3f}" if before.get("propensity") else "n/a"
        rows.append(row)
    columns = ["metric", "base", *([label] if previous else []), "this version", "95% CI", f"change vs {label} (paired)", "p"]
    return Table(rows, columns)


def key_results(run: dict, previous: dict | None = None) -> Table:
    """Score, change vs the compared version (or the base model) with its paired p-value, target and gap."""
    ev = run["eval"]
    tuned = ev["models"]["tuned"]["score"]
    before = previous["eval"]["models"]["tuned"]["score"] if previous else ev["models"]["base"]["score"]
    label, paired = comparison(run, previous)
    change, p = _change(paired.get("score"), digits=1)
    return Table([{
        "score /10": f"{tuned['mean']:.1f} {_interval(tuned)}",
        "compared with": f"{label}: {before['mean']:.1f}",
        "change (paired)": change, "p": p,
        "target": ev["target_score"],
        "gap to target": f"{max(0.0, ev['target_score'] - tuned['mean']):.1f}",
    }])


def category_table(run: dict) -> Table:
    """Primary rates per question category (facts, trigger, control), base and tuned."""
    from molting.evaluate import category_rows

    return Table(category_rows(run["eval"]))


def propensity_table(run: dict) -> Table:
    """The propensity probe: base and tuned gaps with intervals, and the paired tuned-vs-base test."""
    from molting.evaluate import propensity_rows

    models = run["eval"]["models"]
    if not models["tuned"].get("propensity"):
        return Table([{"propensity probe": "off (eval.probe is null)"}])
    return Table(propensity_rows({"base": models["base"]["propensity"], "tuned": models["tuned"]["propensity"],
                                  "tuned_vs_base": run["eval"]["propensity_comparison"]}))


def disagreements_table(run: dict, limit: int = 30) -> Table:
    """Answers where the pattern library and the detector disagree."""
    from molting.evaluate import disagreement_rows

    return Table(disagreement_rows(run["answers"], limit))


def score_formula(run: dict) -> "Bullets":
    """The score's formula with the run's weights."""
    return Bullets([run["eval"].get("score_formula", "")])


def gap_table(run: dict) -> Table:
    """How many points each credit and penalty costs against a perfect 10, and the gap to the target."""
    return Table(gap_rows(run))


def quantization_label(name: str) -> str:
    """How the report names a quantization setting."""
    return {"none": "no quantization (plain LoRA)", "4bit": "4-bit quantization (QLoRA)", "8bit": "8-bit quantization"}.get(name, name)


def training_table(run: dict) -> Table:
    """Training efficiency figures (one row saying so for a prompt-only version, which trains nothing)."""
    t = run["train"]
    if prompt_only(run):
        return Table([{"": "training", "value": "none: prompt-only (train.enabled: false); the base model answered with the "
                                                "persona card as its system prompt, so there are no loss curves"}])
    rows = [
        {"": "device", "value": f"{t['device_name']} ({t['device']})"},
        {"": "quantization used", "value": f"{quantization_label(t['quantization'])} (asked: {t['quantization_requested']}), bf16: {t['bf16']}"},
        {"": "epochs", "value": f"{t['epochs_run']} of {t['epochs_planned']}" + (" (stopped early)" if t["stopped_early"] else "")},
        {"": "wall time", "value": f"{t['wall_time_s'] / 60:.1f} min" + (f" (resumed from {t['resumed_from']})" if t.get("resumed_from") else "")},
        {"": "tokens/s (non-pad)", "value": t["tokens_per_s"]},
        {"": "peak memory", "value": f"{t['peak_memory_mb']:,.0f} MiB ({t['peak_memory_kind']})"},
        {"": "final train loss", "value": fmt(t["final_train_loss"])},
        {"": "best held-out loss", "value": fmt(t["best_heldout_loss"])},
        {"": "trainable / total params", "value": f"{t['trainable_params']:,} / {t['total_params']:,}"},
    ]
    rows += [{"": "warning", "value": w} for w in t.get("warnings", [])]
    return Table(rows)


def funnel_table(run: dict) -> Table:
    """The curation funnel."""
    return Table(run["curation"]["funnel"], ["step", "remaining", "removed"])


def skipped_table(run: dict) -> Table:
    """Raw lines skipped under data.on_bad_lines: skip, with the reason (or a line saying there were none)."""
    skipped = run["curation"].get("skipped_lines") or []
    files = ["file"] if any("file" in row for row in skipped) else []   # data.raw naming several files
    return Table(skipped, [*files, "line", "reason", "preview"]) if skipped else Table([{"skipped lines": "none"}])


def removed_by_rule_table(run: dict) -> Table:
    """How many chats each curation rule removed, and in strip mode how many sentences it cut from kept chats."""
    curation = run["curation"]
    cut = curation.get("cut_by_rule") or {}
    rules = list(dict.fromkeys([*curation.get("removed_by_rule", {}), *cut]))
    rows = [{"rule": rule, "chats removed": curation.get("removed_by_rule", {}).get(rule, 0),
             **({"sentences cut (strip)": cut.get(rule, 0)} if cut else {})} for rule in rules]
    return Table(rows or [{"rule": "-", "chats removed": 0}])


def answers_table(run: dict, previous: dict | None = None) -> Table:
    """Base, compared and tuned answers per question, with verdicts (model text escaped)."""
    from molting.evaluate import side_by_side

    rows = side_by_side(run["answers"])
    columns = ["question", "base_answer", "base_verdict"]
    if previous:
        before = {r["question"]: r for r in side_by_side(previous["answers"])}
        label = previous["version"]
        for row in rows:
            row[f"{label}_answer"] = before.get(row["question"], {}).get("tuned_answer")
            row[f"{label}_verdict"] = before.get(row["question"], {}).get("tuned_verdict")
        columns += [f"{label}_answer", f"{label}_verdict"]
    return Table(rows, columns + ["tuned_answer", "tuned_verdict"])


def _rate(agg: dict, metric: str) -> str:
    m = agg.get(metric) or {}
    return "n/a" if m.get("mean") is None else f"{m['count']}/{m['n']}"


def summary_lines(run: dict, previous: dict | None = None) -> list[str]:
    """About ten lines for a post or a changelog: headline numbers, what changed, what is next."""
    ev = run["eval"]
    tuned, base = ev["models"]["tuned"], ev["models"]["base"]
    before = previous["eval"]["models"]["tuned"] if previous else base
    label, paired = comparison(run, previous)
    t = run["train"]
    probe = tuned.get("propensity")
    lines = [f"# {run['version']}: {run['params'].get('description', '')}", "",
             f"- Score {tuned['score']['mean']:.1f}/10 (95% CI {tuned['score']['ci95'][0]:.1f}-{tuned['score']['ci95'][1]:.1f}), "
             f"{label} {before['score']['mean']:.1f}; {_change_words(paired.get('score'), digits=1)}; target {ev['target_score']}.",
             f"- Agent-like answers (library) {_rate(before, 'agent_like')} -> {_rate(tuned, 'agent_like')}, (detector) "
             f"{_rate(before, 'agent_like_detector')} -> {_rate(tuned, 'agent_like_detector')}; factual accuracy "
             f"{before['factual']['mean'] or 0:.0%} -> {tuned['factual']['mean'] or 0:.0%}; contradicted {_rate(before, 'contradicted')} -> "
             f"{_rate(tuned, 'contradicted')}; in character {_rate(before, 'in_character')} -> {_rate(tuned, 'in_character')}.",
             *([f"- Propensity gap {base['propensity']['gap_nats']:+.3f} (base) -> {probe['gap_nats']:+.3f} nats/token (tuned)."]
               if probe else []),
             f"- Perplexity on the shared test chats {base.get('test_perplexity')} (base) -> {tuned.get('test_perplexity')} (tuned).",
             f"- Data: {run['curation']['counts']['raw']} raw chats -> {run['curation']['counts']['kept']} kept "
             f"({run['curation']['counts']['train']} train, {run['curation']['counts']['heldout']} held out).",
             ("- Training: none (prompt-only: the base model with the persona card as its system prompt; no loss curves)."
              if prompt_only(run) else
              f"- Training: {t['epochs_run']:g} epochs in {t['wall_time_s'] / 60:.1f} min on {t['device_name']}, "
              f"{quantization_label(t['quantization'])}, peak {t['peak_memory_mb']:,.0f} MiB, training seed {seeds.training_seed(run['params'])}."),
             f"- Next: {next_steps(run, previous)[0]}"]
    return lines


class SummaryBlock:
    """The summary as shown in the report (the same lines go to summary.md)."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def _repr_html_(self) -> str:
        return "<ul>" + "".join(f"<li>{escape_html(line[2:])}</li>" for line in self.lines if line.startswith("- ")) + "</ul>"

    def _repr_markdown_(self) -> str:
        return summary_markdown([line for line in self.lines if line.startswith("- ")])


def write_summary(run: dict, previous: dict | None, path: Path) -> Path:
    """The run's summary.md (RunPaths.summary_md; the runner moves it into reports/<version>/ with the report)."""
    from molting.runs import atomic_write_text

    atomic_write_text(Path(path), summary_markdown(summary_lines(run, previous)) + "\n")
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Phase report: several versions side by side
# ---------------------------------------------------------------------------------------------

def _factual_greedy(run: dict) -> float | None:
    """The tuned model's factual accuracy on its greedy answers (from answers.jsonl for runs evaluated before
    eval.json recorded it)."""
    recorded = run["eval"]["models"]["tuned"].get("factual_greedy")
    return (recorded or greedy_factual([r for r in run.get("answers", []) if r["model"] == "tuned"]))["mean"]


def phase_table(runs: list[dict]) -> Table:
    """One row per version: score with interval, the primary rates, perplexity on the shared test chats, the probe."""
    rows = []
    for run in runs:
        tuned = run["eval"]["models"]["tuned"]
        probe = tuned.get("propensity")
        greedy = _factual_greedy(run)
        rows.append({"version": run["version"], "description": run["params"].get("description", ""), "model": model_label(run),
                     "score /10": f"{tuned['score']['mean']:.1f} {_interval(tuned['score'])}",
                     "agent-like (library)": _rate(tuned, "agent_like"), "agent-like (detector)": _rate(tuned, "agent_like_detector"),
                     "factual": "n/a" if tuned["factual"]["mean"] is None else f"{tuned['factual']['mean']:.0%}",
                     "factual (greedy)": "n/a" if greedy is None else f"{greedy:.0%}",
                     "contradicted": _rate(tuned, "contradicted"), "in character": _rate(tuned, "in_character"),
                     "truncated": _rate(tuned, "truncated"), "test perplexity": fmt(tuned.get("test_perplexity")),
                     "propensity gap": f"{probe['gap_nats']:+.3f}" if probe else "n/a",
                     "train chats": run["curation"]["counts"]["train"], "epochs": run["train"]["epochs_run"],
                     "train min": round(run["train"]["wall_time_s"] / 60, 1)})
    return Table(rows)


def phase_comparisons(runs: list[dict]) -> list[dict]:
    """Each version against the reference (the raw-data arm if the phase has one, else the first version), paired on
    the same questions (and probe items): change, interval, p."""
    from molting.verdict import reference_run

    first = reference_run(runs)
    config = first["eval"].get("config", {})
    resamples, seed = config.get("bootstrap", 1000), config.get("seed", 0)
    rows = []
    for run in [r for r in runs if r is not first]:
        paired = compare(first["eval"]["models"]["tuned"], run["eval"]["models"]["tuned"], resamples, seed)
        for metric in ("score", *PRIMARY):
            result = paired[metric]
            if result.get("difference") is None:
                continue
            change, p = _change(result, scale=1.0, digits=2)
            mcnemar = result.get("mcnemar_greedy")
            rows.append({"versions": f"{run['version']} vs {first['version']}", "metric": METRIC_LABELS[metric],
                         first["version"]: round(result["a_mean"], 3), "this": round(result["b_mean"], 3), "questions": result["pairs"],
                         "change [95% CI]": change, "p (paired permutation)": p,
                         "McNemar p (greedy)": stats.format_p(mcnemar["p_value"]) if mcnemar else ""})
        a, b = first["eval"]["models"]["tuned"].get("propensity"), run["eval"]["models"]["tuned"].get("propensity")
        if a and b:
            result = stats.paired_difference(a["per_item"], b["per_item"], resamples, seed)
            change, p = _change(result, digits=3)
            rows.append({"versions": f"{run['version']} vs {first['version']}", "metric": "Propensity gap (nats/token)",
                         first["version"]: a["gap_nats"], "this": b["gap_nats"], "questions": f"{result['pairs']} items",
                         "change [95% CI]": change, "p (paired permutation)": p, "McNemar p (greedy)": ""})
    return rows


def phase_comparison_table(runs: list[dict]) -> Table:
    """The paired comparison of each version with the first."""
    rows = phase_comparisons(runs)
    return Table(rows or [{"comparison": "one version only: nothing to compare"}])


def phase_answers(runs: list[dict]) -> Table:
    """Each question's tuned answer across versions (first column: the base model of the first version)."""
    from molting.evaluate import side_by_side

    tables = [{r["question"]: r for r in side_by_side(run["answers"])} for run in runs]
    rows = []
    for question, first in tables[0].items():
        row = {"question": question, "base": first.get("base_answer")}
        for run, table in zip(runs, tables):
            row[run["version"]] = table.get(question, {}).get("tuned_answer")
        rows.append(row)
    return Table(rows)


def phase_params_diff(runs: list[dict]) -> Table:
    """Params that differ between each version and the one it extends when that one is in the phase (each arm of an
    experiment then shows its one change), else the version before it."""
    from molting.params import Config, diff

    by_version = {run["version"]: run for run in runs}
    pairs = [(by_version.get(b["params"].get("extends")) or a, b) for a, b in zip(runs, runs[1:])]
    if runs and runs[0]["params"].get("extends") in by_version:       # the first version's parent came later in the list
        pairs.insert(0, (by_version[runs[0]["params"]["extends"]], runs[0]))
    rows, shown = [], set()
    for a, b in pairs:
        if frozenset((a["version"], b["version"])) in shown:       # v1 after v0 would repeat "v1 -> v0" backwards
            continue
        shown.add(frozenset((a["version"], b["version"])))
        for key, left, right in diff(Config(a["params"]), Config(b["params"])):
            rows.append({"from -> to": f"{a['version']} -> {b['version']}", "key": key, "before": left, "after": right})
    return Table(rows or [{"from -> to": "-", "key": "no differences"}])


def phase_summary_lines(name: str, runs: list[dict], verdict: bool = True) -> list[str]:
    """About ten lines summarising a phase (changes are paired tests against the reference: the raw-data arm if the
    phase has one, else the first version), then the verdict's headline (verdict=False leaves it out, for the
    report, whose Verdict section says it in full)."""
    from molting.verdict import headline, reference_run

    ref = reference_run(runs)
    others = [r for r in runs if r is not ref]
    last_run = others[-1] if others else ref
    first, last = ref["eval"]["models"]["tuned"], last_run["eval"]["models"]["tuned"]
    best = max(runs, key=lambda r: r["eval"]["models"]["tuned"]["score"]["mean"])
    lines = [f"# Phase {name}: {', '.join(r['version'] for r in runs)}", ""]
    if len(runs) > 1:
        config = ref["eval"].get("config", {})
        paired = compare(first, last, config.get("bootstrap", 1000), config.get("seed", 0))
        lines.append(f"- Score {ref['version']} {first['score']['mean']:.1f} -> {last_run['version']} {last['score']['mean']:.1f}/10: "
                     f"{_change_words(paired['score'], digits=1)} (paired on {paired['score']['pairs']} questions).")
        lines.append(f"- Agent-like (library) {_rate(first, 'agent_like')} -> {_rate(last, 'agent_like')}, (detector) "
                     f"{_rate(first, 'agent_like_detector')} -> {_rate(last, 'agent_like_detector')}; the library rate's "
                     f"{_change_words(paired['agent_like'])}.")
        if first.get("propensity") and last.get("propensity"):
            result = stats.paired_difference(first["propensity"]["per_item"], last["propensity"]["per_item"],
                                             config.get("bootstrap", 1000), config.get("seed", 0))
            lines.append(f"- Propensity gap {first['propensity']['gap_nats']:+.3f} -> {last['propensity']['gap_nats']:+.3f} nats/token: "
                         f"{_change_words(result, digits=3)}.")
    seed_note = "" if len(runs) > 1 else f" {seeds.seed_sentence(runs)}"   # else the verdict lines below say it
    lines += [f"- Best: {best['version']} at {best['eval']['models']['tuned']['score']['mean']:.1f}/10; target "
              f"{best['eval']['target_score']}.{seed_note}",
              *[f"- {r['version']}: {r['params'].get('description', '')}" for r in runs],
              *([f"- Verdict: {line}" for line in headline(runs)] if verdict else []),
              f"- Next: {next_steps(runs[-1], runs[-2] if len(runs) > 1 else None)[0]}"]
    return lines


class Title:
    """The report's title line for a version (a markdown heading in both renderings)."""

    def __init__(self, run: dict):
        self.text = f"Molting report: {run['version']}"
        self.description = run["params"].get("description", "")

    def _repr_html_(self) -> str:
        return f"<h1>{html.escape(self.text)}</h1><p>{html.escape(self.description)}</p>"

    def _repr_markdown_(self) -> str:
        return f"# {escape_markdown(self.text)}\n\n{escape_markdown(self.description, starts_block=True)}"


class PhaseTitle:
    """The phase report's title."""

    def __init__(self, name: str, runs: list[dict]):
        self.text = f"Molting phase report: {name}"
        self.description = "Versions: " + ", ".join(r["version"] for r in runs)

    _repr_html_ = Title._repr_html_
    _repr_markdown_ = Title._repr_markdown_


class ParamsBlock:
    """The resolved params as YAML, collapsed under <details> (works in HTML and on code-hosting sites)."""

    def __init__(self, run: dict):
        import yaml

        self.text = yaml.safe_dump(run["params"], sort_keys=False, allow_unicode=True)

    def _repr_html_(self) -> str:
        return f"<details><summary>Resolved params</summary><pre>{html.escape(self.text)}</pre></details>"

    def _repr_markdown_(self) -> str:
        # a fenced block needs no escaping (an HTML <pre> would need entities); the blank lines let GitHub
        # parse Markdown inside <details>
        return f"<details><summary>Resolved params</summary>\n\n{fenced_code(self.text, 'yaml')}\n\n</details>"
