"""plots.save: a figure lands whole or not at all."""

from __future__ import annotations

import pytest

from molting import plots


def _figure(title: str):
    fig, ax = plots.plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    ax.set_title(title)
    return fig


def test_save_writes_a_png_and_a_failed_render_keeps_the_figure_there(tmp_path):
    path = plots.save(_figure("first"), tmp_path / "figures", "loss")   # the folder is made
    assert path == tmp_path / "figures" / "loss.png"
    first = path.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")

    broken = _figure("second")

    def render_half_then_fail(target, **kwargs):   # a kernel stopped, or a figure that cannot render, mid-write
        target.write(first[:100])
        raise KeyboardInterrupt

    broken.savefig = render_half_then_fail
    with pytest.raises(KeyboardInterrupt):
        plots.save(broken, tmp_path / "figures", "loss")
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["loss.png"]   # no temporary file left

    assert plots.save(_figure("third"), tmp_path / "figures", "loss").read_bytes() != first
