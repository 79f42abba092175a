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


def test_a_figure_is_described_panel_by_panel():
    def described(fig):
        plots._png(fig)   # drawn, as show() draws it before describing
        return plots.describe(fig)

    assert described(plots.funnel([{"step": "loaded", "remaining": 484}, {"step": "agent-like", "remaining": 153}])) == \
        "Curation funnel: bars for loaded, agent-like; chats remaining"
    loss = {"train_loss": [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.0}], "heldout_loss": [{"step": 2, "loss": 2.5}]}
    assert described(plots.loss_curves(loss, "v2.1: loss")) == "v2.1: loss: train loss, held-out loss; loss against step"
    assert described(plots.loss_curves({"trained": False}, "v0: loss")) == \
        "v0: loss: prompt-only: nothing was trained, so there are no loss curves"
    rates = {m: {k: {"mean": r, "ci95": [r / 2, r * 1.5]} for k in ("agent_like", "factual")}
             for m, r in (("base", 0.4), ("tuned", 0.1))}
    assert described(plots.metric_bars(rates)) == "Agent-like (library), Factual accuracy: bars for base, tuned"
    points = [{"x": x, "score": 5.0, "score_ci": [4.0, 6.0], "perplexity": 9.0} for x in (0.5, 1.0)]
    assert described(plots.learning_curve(points, "share of the training split")) == \
        "Learning curve: score /10 against share of the training split. held-out perplexity on the right axis"


def test_show_saves_the_figure_and_displays_it_once_with_its_description(tmp_path, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig = plots.funnel([{"step": "loaded", "remaining": 484}, {"step": "kept", "remaining": 153}])
    plots.show(fig, tmp_path, "funnel")
    (image,) = shown
    assert image.data == (tmp_path / "funnel.png").read_bytes() and image.format == "png"
    assert image._repr_png_()[1] == {"alt": "Curation funnel: bars for loaded, kept; chats remaining"}   # as published
    assert not plots.plt.fignum_exists(fig.number)   # closed: the inline backend does not show it a second time
    plots.show(plots.funnel([{"step": "loaded", "remaining": 1}]))   # a report's figure: shown, not saved
    assert len(shown) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["funnel.png"]
    with pytest.raises(ValueError, match="needs a name"):
        plots.show(plots.funnel([{"step": "loaded", "remaining": 1}]), tmp_path)
