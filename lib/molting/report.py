"""Tables for the report notebook, and escaping of untrusted model text in HTML and Markdown."""

from __future__ import annotations

import html
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from molting.runs import RunPaths, read_json, read_jsonl


class Table:
    """Rows shown as an escaped HTML table in notebooks and HTML, and an escaped pipe table in Markdown."""

    def __init__(self, rows: list[dict], columns: list[str] | None = None, caption: str = ""):
        self.rows = rows
        self.columns = columns or (list(rows[0]) if rows else [])
        self.caption = caption

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape_html(r.get(c))}</td>" for c in self.columns) + "</tr>"
                       for r in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f'<table class="molting">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _repr_markdown_(self) -> str:
        lines = [f"*{escape_markdown(self.caption)}*", ""] if self.caption else []
        lines.append("| " + " | ".join(escape_markdown(str(c)) for c in self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        for r in self.rows:
            lines.append("| " + " | ".join(escape_markdown(_fmt(r.get(c))) for c in self.columns) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self._repr_markdown_()


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def escape_html(value: Any) -> str:
    """Model text as inert HTML: tags, entities and quotes escaped, newlines kept."""
    return html.escape(_fmt(value), quote=True).replace("\n", "<br>")


# what can form links, emphasis, code, tables or HTML inside a Markdown table cell
MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_markdown(value: Any) -> str:
    """Model text as inert Markdown: <, > and & as entities, link/emphasis/table syntax backslashed, one line."""
    text = html.escape(_fmt(value), quote=False)
    text = MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\r", " ").replace("\n", "<br>")


def load_run(paths: RunPaths) -> dict:
    """Everything the report needs from a run folder."""
    import yaml

    return {
        "version": paths.version,
        "params": yaml.safe_load(paths.params_file.read_text()) if paths.params_file.is_file() else {},
        "curation": read_json(paths.curation_json),
        "train": read_json(paths.train_json),
        "eval": read_json(paths.eval_json),
        "answers": read_jsonl(paths.answers_jsonl),
    }


def header(run: dict) -> Table:
    """Version, date, git commit, hardware and model."""
    train = run["train"]
    rows = [
        {"": "version", "value": run["version"]},
        {"": "description", "value": run["params"].get("description", "")},
        {"": "date", "value": time.strftime("%Y-%m-%d %H:%M")},
        {"": "git commit", "value": git_commit(Path(run.get("root", ".")))},
        {"": "hardware", "value": f"{train.get('device_name')} ({train.get('device')})"},
        {"": "python / platform", "value": f"{platform.python_version()} / {platform.platform(terse=True)}"},
        {"": "model", "value": run["params"].get("model", {}).get("source")},
        {"": "seed", "value": run["params"].get("seed")},
    ]
    return Table(rows)


def git_commit(root: Path) -> str:
    """Short commit of the project, with '+changes' if the tree is dirty."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, timeout=10)
        return (commit.stdout.strip() or "unknown") + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _interval(agg: dict) -> str:
    low, high = agg["ci95"]
    return f"[{low:.2f}, {high:.2f}]"


def results_table(run: dict) -> Table:
    """Base vs tuned for each metric, the lab's 'Agent-like 6/8 -> 2/8' style, with intervals."""
    models = run["eval"]["models"]
    base, tuned = models["base"], models["tuned"]
    n = tuned["answers"]
    rows = []
    for metric, label in (("agent_like", "Agent-like answers"), ("factual", "Factual accuracy"),
                          ("forbidden", "Forbidden content"), ("truncated", "Truncated answers"),
                          ("distinct_2", "Distinct-2 (repetition)")):
        b, t = base[metric], tuned[metric]
        as_count = metric in ("agent_like", "forbidden", "truncated")
        rows.append({
            "metric": label,
            "base": f"{b['count']}/{n}" if as_count else f"{b['mean']:.2f}",
            "tuned": f"{t['count']}/{n}" if as_count else f"{t['mean']:.2f}",
            "change": f"{t['mean'] - b['mean']:+.2f}",
            "tuned 95% CI": _interval(t),
        })
    rows.append({"metric": "Score /10", "base": f"{base['score']['mean']:.1f}", "tuned": f"{tuned['score']['mean']:.1f}",
                 "change": f"{tuned['score']['mean'] - base['score']['mean']:+.1f}", "tuned 95% CI": _interval(tuned["score"])})
    rows.append({"metric": "Held-out perplexity", "base": _fmt(base.get("heldout_perplexity")),
                 "tuned": _fmt(tuned.get("heldout_perplexity")),
                 "change": _fmt((tuned.get("heldout_perplexity") or 0) - (base.get("heldout_perplexity") or 0)),
                 "tuned 95% CI": ""})
    return Table(rows)


def key_results(run: dict) -> Table:
    """Score, change vs base, target and gap."""
    ev = run["eval"]
    tuned, base = ev["models"]["tuned"]["score"], ev["models"]["base"]["score"]
    return Table([{
        "score /10 (tuned)": f"{tuned['mean']:.1f} {_interval(tuned)}",
        "base": f"{base['mean']:.1f}",
        "change": f"{tuned['mean'] - base['mean']:+.1f}" + (" (within noise)" if ev.get("tuned_vs_base_within_noise") else ""),
        "target": ev["target_score"],
        "gap to target": f"{max(0.0, ev['target_score'] - tuned['mean']):.1f}",
    }])


def training_table(run: dict) -> Table:
    """Training efficiency figures."""
    t = run["train"]
    rows = [
        {"": "device", "value": f"{t['device_name']} ({t['device']})"},
        {"": "quantization used", "value": f"{t['quantization']} (asked: {t['quantization_requested']}), bf16: {t['bf16']}"},
        {"": "epochs", "value": f"{t['epochs_run']} of {t['epochs_planned']}" + (" (stopped early)" if t["stopped_early"] else "")},
        {"": "wall time", "value": f"{t['wall_time_s'] / 60:.1f} min"},
        {"": "tokens/s (non-pad)", "value": t["tokens_per_s"]},
        {"": "peak memory", "value": f"{t['peak_memory_mb']:,.0f} MiB ({t['peak_memory_kind']})"},
        {"": "final train loss", "value": _fmt(t["final_train_loss"])},
        {"": "best held-out loss", "value": _fmt(t["best_heldout_loss"])},
        {"": "trainable / total params", "value": f"{t['trainable_params']:,} / {t['total_params']:,}"},
    ]
    rows += [{"": "warning", "value": w} for w in t.get("warnings", [])]
    return Table(rows)


def funnel_table(run: dict) -> Table:
    """The curation funnel."""
    return Table(run["curation"]["funnel"], ["step", "remaining", "removed"])


def answers_table(run: dict) -> Table:
    """Base and tuned answers per question, with verdicts (model text escaped)."""
    from molting.evaluate import side_by_side

    return Table(side_by_side(run["answers"]),
                 ["question", "base_answer", "base_verdict", "tuned_answer", "tuned_verdict"])


class Title:
    """The report's title line for a version (a markdown heading in both renderings)."""

    def __init__(self, run: dict):
        self.text = f"Molting report: {run['version']}"
        self.description = run["params"].get("description", "")

    def _repr_html_(self) -> str:
        return f"<h1>{html.escape(self.text)}</h1><p>{html.escape(self.description)}</p>"

    def _repr_markdown_(self) -> str:
        return f"# {escape_markdown(self.text)}\n\n{escape_markdown(self.description)}"


class ParamsBlock:
    """The resolved params as YAML, collapsed under <details> (works in HTML and on code-hosting sites)."""

    def __init__(self, run: dict):
        import yaml

        self.text = yaml.safe_dump(run["params"], sort_keys=False, allow_unicode=True)

    def _repr_html_(self) -> str:
        return f"<details><summary>Resolved params</summary><pre>{html.escape(self.text)}</pre></details>"

    def _repr_markdown_(self) -> str:
        return f"<details><summary>Resolved params</summary>\n\n<pre>{html.escape(self.text)}</pre>\n\n</details>"
