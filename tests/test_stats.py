"""Intervals and paired tests: known values, and that the paired test sees what overlapping intervals miss."""

from __future__ import annotations

import numpy as np
import pytest

from molting import stats


def test_wilson_interval_known_values():
    assert stats.wilson_interval(0, 8) == (0.0, pytest.approx(0.3244, abs=1e-4))
    low, high = stats.wilson_interval(4, 8)
    assert low == pytest.approx(0.2152, abs=1e-3) and high == pytest.approx(0.7848, abs=1e-3)
    assert stats.wilson_interval(0, 0) is None


def test_bootstrap_interval_brackets_the_mean_and_resamples_whole_questions():
    low, high = stats.bootstrap_ci([0, 1, 1, 0, 1, 1, 1, 0], 500, 0)
    assert low < 0.625 < high and 0 <= low and high <= 1
    assert stats.bootstrap_ci([1, 1, 1], 100, 0) == (1.0, 1.0)
    # two questions that always agree within themselves: resampling questions can only give 0, 0.5 or 1
    grouped = stats.bootstrap_ci([0, 0, 0, 1, 1, 1], 500, 0, ["a", "a", "a", "b", "b", "b"])
    assert grouped == (0.0, 1.0)


def test_paired_permutation_exact_p_and_interval():
    a = {f"q{i}": 0.0 for i in range(5)}
    b = {f"q{i}": 1.0 for i in range(5)}
    result = stats.paired_difference(a, b, 1000, 0)
    assert result["difference"] == 1 and result["pairs"] == 5
    assert result["p_value"] == pytest.approx(2 / 32)          # exact: 2 of the 2**5 sign flips are as extreme
    same = stats.paired_difference(a, dict(a), 1000, 0)
    assert same["p_value"] == 1 and stats.within_noise(same)
    assert stats.paired_difference({"x": None}, {"x": 1.0}, 100, 0)["pairs"] == 0     # no value: not a pair


def test_paired_test_finds_a_consistent_shift_that_intervals_hide():
    """Questions differ a lot in difficulty, the model change is small but consistent: the per-model
    intervals overlap, the paired test still calls it."""
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0, 8, 30)
    a = {f"q{i}": float(d) for i, d in enumerate(difficulty)}
    b = {f"q{i}": float(d + 0.3 + rng.normal(0, 0.1)) for i, d in enumerate(difficulty)}
    ia = stats.bootstrap_ci(list(a.values()), 1000, 0)
    ib = stats.bootstrap_ci(list(b.values()), 1000, 0)
    assert ia[1] > ib[0]                                        # the intervals overlap
    paired = stats.paired_difference(a, b, 2000, 0)
    assert paired["p_value"] < 0.001 and not stats.within_noise(paired)
    assert 0.2 < paired["ci95"][0] < paired["difference"] < paired["ci95"][1] < 0.4


def test_mcnemar_exact_counts_discordant_pairs_only():
    a = {f"q{i}": 1.0 for i in range(10)}
    b = {f"q{i}": 0.0 if i < 8 else 1.0 for i in range(10)}
    result = stats.mcnemar_exact(a, b)
    assert (result["a_only"], result["b_only"]) == (8, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5 ** 8, abs=1e-4)   # two-sided binomial, 8 of 8 discordant one way
    assert stats.mcnemar_exact(a, dict(a))["p_value"] == 1


def test_describe_shows_the_p_value():
    text = stats.describe({"difference": 0.25, "ci95": (0.1, 0.4), "p_value": 0.0004})
    assert text == "+0.25 [0.10, 0.40], p < 0.001"
    assert stats.describe({"difference": 0.1, "ci95": (-0.1, 0.3), "p_value": 0.41}).endswith("p = 0.41, within noise")
    assert [stats.p_clause(p) for p in (0.0004, 0.001, 0.0312, None)] == ["p < 0.001", "p = 0.001", "p = 0.0312", "p n/a"]
