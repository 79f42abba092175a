"""Figures for the notebooks and reports. Each function returns a Figure; the theme is set once here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://matplotlib_inline", "module://ipykernel")):
    matplotlib.use("Agg")  # headless outside Jupyter; inside it, keep the inline backend so figures show
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")

METRIC_LABELS = {"agent_like": "Agent-like rate", "factual": "Factual accuracy", "forbidden": "Forbidden content",
                 "truncated": "Truncated", "distinct_2": "Distinct-2", "coherence": "Personality coherence"}


def loss_curves(train: dict, title: str = "") -> Any:
    """Training loss per step and held-out loss per epoch."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
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


def metric_bars(models: dict, metrics: tuple[str, ...] = ("agent_like", "factual", "forbidden", "truncated")) -> Any:
    """Base vs tuned bar per metric with 95% bootstrap intervals."""
    labels = list(models)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 3.2), sharey=True)
    colors = sns.color_palette("colorblind", len(labels))
    for ax, metric in zip(axes, metrics):
        means = [models[m][metric]["mean"] for m in labels]
        lows = [models[m][metric]["mean"] - models[m][metric]["ci95"][0] for m in labels]
        highs = [models[m][metric]["ci95"][1] - models[m][metric]["mean"] for m in labels]
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


def save(fig: Any, folder: Path, name: str) -> Path:
    """Save a figure as PNG under the run's figures/ folder and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
