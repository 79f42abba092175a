"""Report tables: model text is inert in HTML and Markdown."""

from __future__ import annotations

from molting.report import Table, escape_html, escape_markdown

NASTY = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) a|b **bold**"


def test_html_escaping_leaves_no_live_markup():
    out = escape_html(NASTY)
    assert "<script>" not in out and "<img" not in out and "&lt;script&gt;" in out


def test_markdown_escaping_breaks_links_tables_and_html():
    out = escape_markdown(NASTY)
    assert "<script>" not in out and "<img" not in out
    assert "[x](javascript:" not in out and "\\[x\\]" in out
    assert "a\\|b" in out and "\\*\\*bold\\*\\*" in out
    assert escape_markdown("it's a (fine) day #1") == "it's a (fine) day #1"   # plain text stays readable


def test_table_renders_both_ways():
    table = Table([{"answer": NASTY, "n": 1.23456}], caption="c")
    html, md = table._repr_html_(), table._repr_markdown_()
    assert "<td>&lt;script&gt;" in html and "1.235" in md and md.count("\n|") == 3
