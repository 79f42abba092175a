"""Intervals for rates and means, and paired tests for two models answering the same questions.

- Rates (k of n binary verdicts): Wilson score interval (0/8 is [0, 0.32], never [0, 0]).
- Means of continuous per-answer values: percentile bootstrap, resampling whole questions.
- Two models on the same questions: the per-question differences (b - a) are tested with an exact or
  Monte-Carlo sign-flip permutation test (scipy.stats.permutation_test, paired), and their mean gets a
  paired bootstrap interval; binary verdicts of one answer per question (greedy) get an exact McNemar
  test (a binomial test on the discordant pairs). "Within noise" means p >= ALPHA.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ALPHA = 0.05
PERMUTATIONS = 9999


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (None when there is nothing to count)."""
    from scipy.stats import binomtest

    if n <= 0:
        return None
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (round(float(ci.low), 4), round(float(ci.high), 4))


def bootstrap_ci(values: list[float], resamples: int, seed: int, groups: list[str] | None = None) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling whole questions (with their samples) when grouped."""
    values_arr = np.asarray(values, dtype=float)
    if len(values_arr) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, len(values_arr), size=(resamples, len(values_arr)))
        means = values_arr[idx].mean(axis=1)
    else:
        keys = sorted(set(groups))
        index = {k: i for i, k in enumerate(keys)}
        # per-question sums and counts: a resample's mean is sum of picked sums / sum of picked counts
        sums = np.zeros(len(keys))
        counts = np.zeros(len(keys))
        for value, group in zip(values_arr, groups):
            sums[index[group]] += value
            counts[index[group]] += 1
        picks = rng.integers(0, len(keys), size=(resamples, len(keys)))
        means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (round(float(low), 4), round(float(high), 4))


def paired_difference(a: dict[str, float | None], b: dict[str, float | None], resamples: int, seed: int) -> dict[str, Any]:
    """b - a over the keys both have a value for: mean difference, paired bootstrap 95% CI, permutation p-value."""
    from scipy.stats import permutation_test

    keys = sorted(k for k in set(a) & set(b) if a[k] is not None and b[k] is not None)
    if not keys:
        return {"pairs": 0, "a_mean": None, "b_mean": None, "difference": None, "ci95": None, "p_value": None,
                "test": "paired sign-flip permutation"}
    x = np.array([a[k] for k in keys], dtype=float)
    y = np.array([b[k] for k in keys], dtype=float)
    diffs = y - x
    if np.allclose(diffs, 0):
        p_value, ci = 1.0, (0.0, 0.0)
    else:
        rng = np.random.default_rng(seed)
        # permutation_type="samples" swaps a and b within each pair: the sign-flip test of the mean difference;
        # with 2**n <= the resamples it enumerates every flip (exact). At least PERMUTATIONS flips, so a small
        # p-value is resolved (a Monte-Carlo p cannot go below 2/(resamples + 1)); they cost milliseconds.
        result = permutation_test((x, y), lambda u, v, axis: np.mean(v - u, axis=axis), permutation_type="samples",
                                  vectorized=True, n_resamples=max(resamples, PERMUTATIONS), alternative="two-sided", rng=rng)
        p_value = float(min(1.0, result.pvalue))
        idx = np.random.default_rng(seed).integers(0, len(diffs), size=(resamples, len(diffs)))
        low, high = np.percentile(diffs[idx].mean(axis=1), [2.5, 97.5])
        ci = (round(float(low), 4), round(float(high), 4))
    return {"pairs": len(keys), "a_mean": round(float(x.mean()), 4), "b_mean": round(float(y.mean()), 4),
            "difference": round(float(diffs.mean()), 4), "ci95": ci, "p_value": round(p_value, 5),
            "test": "paired sign-flip permutation"}


def mcnemar_exact(a: dict[str, float | None], b: dict[str, float | None]) -> dict[str, Any]:
    """Exact McNemar test on paired binary verdicts: only the pairs where the two models disagree count."""
    from scipy.stats import binomtest

    keys = [k for k in set(a) & set(b) if a[k] is not None and b[k] is not None]
    a_only = sum(1 for k in keys if a[k] >= 0.5 and b[k] < 0.5)
    b_only = sum(1 for k in keys if b[k] >= 0.5 and a[k] < 0.5)
    discordant = a_only + b_only
    p_value = 1.0 if discordant == 0 else float(binomtest(b_only, discordant, 0.5).pvalue)
    return {"pairs": len(keys), "a_only": a_only, "b_only": b_only, "p_value": round(p_value, 5), "test": "exact McNemar"}


def within_noise(comparison: dict | None) -> bool:
    """Whether a paired comparison's difference may be noise (p >= ALPHA, or nothing to compare)."""
    return comparison is None or comparison.get("p_value") is None or comparison["p_value"] >= ALPHA


def describe(comparison: dict, digits: int = 2, scale: float = 1.0) -> str:
    """'+0.25 [0.10, 0.40], p = 0.003' (or '... p = 0.41, within noise'; '... p < 0.001')."""
    if not comparison or comparison.get("difference") is None:
        return "n/a"
    low, high = comparison["ci95"]
    text = (f"{comparison['difference'] * scale:+.{digits}f} [{low * scale:.{digits}f}, {high * scale:.{digits}f}], "
            f"{p_clause(comparison['p_value'])}")
    return text + (", within noise" if within_noise(comparison) else "")


def p_clause(p: float | None) -> str:
    """A p-value in a sentence: 'p = 0.003', 'p < 0.001' (not 'p = <0.001'), 'p n/a'."""
    text = format_p(p)
    return f"p {text}" if text == "n/a" else f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def format_p(p: float | None) -> str:
    """A p-value for a table: 3 significant digits, '<0.001' below that."""
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3g}"
