"""`molt sweep`: a version on nested subsets of its data, drawn as a learning curve (the run itself: test_pipeline)."""

from __future__ import annotations

import pytest

from molting import curate, sweep
from molting.errors import ParamsError


def test_subsets_are_nested():
    chats = [{"id": f"c{i:03d}"} for i in range(100)]
    small = {c["id"] for c in curate.subset(chats, 0.25, 7)}
    large = {c["id"] for c in curate.subset(chats, 0.5, 7)}
    assert len(small) == 25 and len(large) == 50 and small < large


def test_sweep_points_are_versions_and_the_own_value_is_the_version_itself(project):
    assert sweep.point_versions("tiny", "train_fraction", [0.25, 1.0], project) == ["tiny-frac025", "tiny"]
    assert sweep.point_versions("tiny", "duplicate_fraction", [0.0, 0.5], project) == ["tiny", "tiny-dup050"]
    assert sorted(p.name for p in (project / "params").glob("tiny-*.yaml")) == ["tiny-dup050.yaml", "tiny-frac025.yaml"]


def test_a_value_out_of_range_is_refused_before_any_point_is_written(project):
    with pytest.raises(ParamsError, match="(?s)train_fraction value 1.5 is not between 0 and 1.*0.25,0.5,1.0"):
        sweep.point_versions("tiny", "train_fraction", [0.5, 1.5], project)
    assert not list((project / "params").glob("tiny-*.yaml"))   # not even the valid 0.5 point
