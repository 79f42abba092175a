"""Figures for the notebooks and reports. Each function returns a Figure; the theme is set once here."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://matplotlib_inline", "module://ipykernel")):
    matplotlib.use("Agg")  # headless outside Jupyter; inside it, keep the inline backend so figures show
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from molting.runs import atomic_write_bytes  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")

METRIC_LABELS = {"agent_like": "Agent-like (library)", "agent_like_detector": "Agent-like (detector)", "factual": "Factual accuracy",
                 "contradicted": "Contradicted facts", "forbidden": "Forbidden content", "truncated": "Truncated",
                 "distinct_2": "Distinct-2", "in_character": "In character", "in_voice": "In voice"}
PRIMARY = ("agent_like", "agent_like_detector", "factual", "contradicted", "in_character", "truncated")


def loss_curves(train: dict, title: str = "") -> Any:
    """Training loss per step and held-out loss per epoch (a note instead for a prompt-only version)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if train.get("trained") is False:
        ax.text(0.5, 0.5, "prompt-only: nothing was trained, so there are no loss curves", ha="center", va="center")
        ax.set_axis_off()
        ax.set_title(title or "Loss")
        return fig
    steps = [p["step"] for p in train.get("train_loss", [])]
    if steps:
        ax.plot(steps, [p["loss"] for p in train["train_loss"]], label="train loss", marker=".", alpha=0.8)
    held = train.get("heldout_loss", [])
    if held:
        ax.plot([p["step"] for p in held], [p["loss"] for p in held], label="held-out loss", marker="o", linewidth=2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title or "Loss")
    ax.legend()
    fig.tight_layout()
    return fig


def metric_bars(models: dict, metrics: tuple[str, ...] = PRIMARY) -> Any:
    """Base vs tuned bar per primary rate with its 95% interval (Wilson for rates, bootstrap for means)."""
    labels = list(models)
    metrics = tuple(m for m in metrics if all(models[label].get(m, {}).get("mean") is not None for label in labels))
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 3.2), sharey=True, squeeze=False)
    colors = sns.color_palette("colorblind", len(labels))
    for ax, metric in zip(axes[0], metrics):
        means = [models[m][metric]["mean"] for m in labels]
        lows = [max(0.0, models[m][metric]["mean"] - models[m][metric]["ci95"][0]) for m in labels]
        highs = [max(0.0, models[m][metric]["ci95"][1] - models[m][metric]["mean"]) for m in labels]
        ax.bar(labels, means, yerr=[lows, highs], capsize=4, color=colors)
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=10)
        ax.set_ylim(0, 1.05)
    fig.tight_layout()
    return fig


def funnel(steps: list[dict]) -> Any:
    """Chats remaining after each curation step."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(steps) + 1))
    names = [s["step"] for s in steps]
    ax.barh(names, [s["remaining"] for s in steps], color=sns.color_palette("colorblind")[0])
    for i, s in enumerate(steps):
        ax.text(s["remaining"], i, f" {s['remaining']}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("chats remaining")
    ax.set_title("Curation funnel")
    fig.tight_layout()
    return fig


def length_distributions(before: list[int], after: list[int]) -> Any:
    """Reply length (words) before and after curation."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = range(0, max([*before, *after, 10]) + 10, 5)
    ax.hist(before, bins=bins, alpha=0.5, label=f"raw ({len(before)})")
    ax.hist(after, bins=bins, alpha=0.7, label=f"curated ({len(after)})")
    ax.set_xlabel("words in assistant replies")
    ax.set_ylabel("chats")
    ax.set_title("Reply lengths before and after curation")
    ax.legend()
    fig.tight_layout()
    return fig


def coherence_calibration(calibration: dict) -> Any:
    """Persona similarity of the raw data's in-persona and agent-like replies, with the threshold."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(calibration["positive_similarities"], bins=30, alpha=0.6, label="in-persona replies")
    ax.hist(calibration["negative_similarities"], bins=30, alpha=0.6, label="agent-like sentences")
    ax.axvline(calibration["threshold"], color="black", linestyle="--", label=f"threshold {calibration['threshold']:.3f}")
    ax.set_xlabel("persona similarity (mean of top-3 cosines)")
    ax.set_ylabel("replies")
    ax.set_title("Coherence calibration on the raw data")
    ax.legend()
    fig.tight_layout()
    return fig


def metric_trends(runs: list[dict], metrics: tuple[str, ...] = ("agent_like", "agent_like_detector", "factual", "in_character", "truncated")) -> Any:
    """Score /10 and key rates across the versions of a phase, with 95% intervals."""
    versions = [r["version"] for r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    scores = [r["eval"]["models"]["tuned"]["score"] for r in runs]
    axes[0].errorbar(versions, [s["mean"] for s in scores], marker="o", capsize=4, label="score",
                     yerr=[[s["mean"] - s["ci95"][0] for s in scores], [s["ci95"][1] - s["mean"] for s in scores]])
    axes[0].axhline(runs[-1]["eval"]["target_score"], color="grey", linestyle="--", label="target")
    axes[0].set_ylim(0, 10.2)
    axes[0].set_title("Score /10 (tuned)")
    axes[0].legend()
    for metric in metrics:
        means = [r["eval"]["models"]["tuned"].get(metric, {}).get("mean") for r in runs]
        if all(m is not None for m in means):
            axes[1].plot(versions, means, marker="o", label=METRIC_LABELS.get(metric, metric))
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_title("Rates (tuned)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_overlay(runs: list[dict]) -> Any:
    """Held-out loss per epoch of each trained version, overlaid (prompt-only versions have none: the title says so)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    untrained = [run["version"] for run in runs if run["train"].get("trained") is False]
    for run in runs:
        if run["version"] in untrained:
            continue
        held = run["train"].get("heldout_loss", [])
        ax.plot([p["epoch"] for p in held], [p["loss"] for p in held], marker="o", label=run["version"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out loss")
    ax.set_title("Held-out loss by version" + (f" ({', '.join(untrained)}: prompt-only, no training)" if untrained else ""))
    ax.legend()
    fig.tight_layout()
    return fig


def learning_curve(points: list[dict], x_label: str) -> Any:
    """Score /10 and held-out perplexity against the swept quantity (dataset size or duplication)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = [p["x"] for p in points]
    ax.errorbar(xs, [p["score"] for p in points], marker="o", capsize=4, color="C0", label="score /10",
                yerr=[[p["score"] - p["score_ci"][0] for p in points], [p["score_ci"][1] - p["score"] for p in points]])
    ax.set_xlabel(x_label)
    ax.set_ylabel("score /10", color="C0")
    ax.set_ylim(0, 10.2)
    other = ax.twinx()
    other.plot(xs, [p["perplexity"] for p in points], marker="s", color="C1", label="held-out perplexity")
    other.set_ylabel("held-out perplexity", color="C1")
    ax.set_title("Learning curve")
    fig.tight_layout()
    return fig


def _png(fig: Any) -> bytes:
    """The figure as PNG, as it is saved and shown."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def save(fig: Any, folder: Path, name: str, png: bytes | None = None) -> Path:
    """Save a figure as PNG under the run's figures/ folder and return its path. Written whole and renamed into
    place: a kernel stopped while it writes, or a figure that fails to render, leaves the figure that was there."""
    path = Path(folder) / f"{name}.png"
    atomic_write_bytes(path, png if png is not None else _png(fig))
    return path


def show(fig: Any, folder: Path | None = None, name: str = "") -> None:
    """Show a figure in the notebook with a text description (`describe`), which the rendered reports give the image
    as its alt text (nbconvert otherwise writes "No description has been provided for this image", and the Markdown
    report "png"); saved first as <folder>/<name>.png when a folder is given."""
    from IPython.display import Image, display

    if folder is not None and not name:
        raise ValueError("plots.show: a figure saved under a folder needs a name (the file is <folder>/<name>.png)")
    png = _png(fig)   # drawn: tick labels exist now, for the description
    if folder is not None:
        save(fig, folder, name, png)
    plt.close(fig)   # shown once, here, not again by the inline backend at the end of the cell
    display(Image(data=png, format="png", alt=describe(fig)))


def describe(fig: Any) -> str:
    """A figure in words, panel by panel: its title, then its series (legend) or bars (tick labels), and its axes."""
    panels = []
    for ax in fig.axes:
        parts = []
        if not ax.axison:   # a panel that is a note ("prompt-only: nothing was trained ...")
            parts = [t.get_text() for t in ax.texts]
        else:
            y, x = ax.get_ylabel(), ax.get_xlabel()
            series = [label for label in ax.get_legend_handles_labels()[1] if not label.startswith("_") and label != y]
            # bars without a legend: their categories are the tick labels of the axis that has no label
            ticks = ax.get_xticklabels() if not x else ax.get_yticklabels() if not y else []
            if series:
                parts.append(", ".join(series))
            elif ax.patches and [t.get_text() for t in ticks if t.get_text()]:
                parts.append("bars for " + ", ".join(t.get_text() for t in ticks if t.get_text()))
            if y and x:
                parts.append(f"{y} against {x}")
            elif y or x:
                parts.append(y or x)
            if ax.yaxis.get_label_position() == "right" and parts:   # a twin axis (twinx)
                parts[-1] = f"{parts[-1]} on the right axis"
        title, shown = ax.get_title(), "; ".join(parts)
        if panels and shown and panels[-1][1] == shown and title:   # panels that show the same: one sentence
            panels[-1] = (f"{panels[-1][0]}, {title}", shown)
        elif title or shown:
            panels.append((title, shown))
    return ". ".join(f"{title}: {shown}" if title and shown else title or shown for title, shown in panels) or "figure"
