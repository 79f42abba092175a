"""Showing things safely: tables, bullets and text that render as inert HTML (notebooks, report.html) and as
literal GitHub-flavoured Markdown (report.md), whatever the model wrote."""

from __future__ import annotations

import html
import re
from typing import Any


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
            lines.append("| " + " | ".join(escape_markdown(fmt(r.get(c))) for c in self.columns) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self._repr_markdown_()


def fmt(value: Any) -> str:
    """A cell value as text: None blank, floats to 4 significant digits."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def pct(value: float | None) -> str:
    """A share as a whole percentage ("42%"), "n/a" for None."""
    return "n/a" if value is None else f"{value:.0%}"


def _unix_newlines(text: str) -> str:
    # a lone \r would reach the page as a second line break next to the <br>
    return text.replace("\r\n", "\n").replace("\r", "\n")


def escape_html(value: Any) -> str:
    """Model text as inert HTML: tags, entities and quotes escaped, newlines kept."""
    return html.escape(_unix_newlines(fmt(value)), quote=True).replace("\n", "<br>")


# CommonMark shows any ASCII punctuation after a backslash literally. These can start code, emphasis,
# links, strikethrough, a table cell, raw HTML or (on GitHub) math: `$3 ... $5` must not become a formula
MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$<])")
# an & that would start an entity (&gt; &#36;) is escaped; a lone & ("R&D") reads better as it is
MD_ENTITY = re.compile(r"&(?=#?\w+;)")
# what opens a block at the start of a paragraph or list item: heading, quote, list, setext underline
# (table cells hold inline text only, so "-0.12" in a cell needs no backslash)
MD_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")


def escape_markdown(value: Any, starts_block: bool = False) -> str:
    """Model text as inert Markdown on one line: syntax backslashed (no HTML entities), newlines as <br>;
    `starts_block` for text that begins a paragraph or list item rather than a table cell."""
    text = MD_SPECIAL.sub(r"\\\1", fmt(value))
    text = MD_ENTITY.sub(r"\\&", text)
    if starts_block:
        text = MD_BLOCK_START.sub(_escape_block_start, text)
    return _unix_newlines(text).replace("\n", "<br>")


def _escape_block_start(match: re.Match) -> str:
    indent, marker = match.groups()
    # "1." opens an ordered list: the dot (or parenthesis) after the digits is what gets escaped
    return f"{indent}{marker}\\" if marker[0].isdigit() else f"{indent}\\{marker}"


def fenced_code(text: str, info: str = "") -> str:
    """Text as a fenced Markdown code block, shown verbatim: the fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


class Bullets:
    """A bulleted list (next steps) that renders as inert HTML and Markdown."""

    def __init__(self, items: list[str]):
        self.items = items

    def _repr_html_(self) -> str:
        return "<ul>" + "".join(f"<li>{escape_html(i)}</li>" for i in self.items) + "</ul>"

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {escape_markdown(i, starts_block=True)}" for i in self.items)


def summary_markdown(lines: list[str]) -> str:
    """Summary lines ("# title", "- item", "") as Markdown, the text after each marker escaped."""
    out = []
    for line in lines:
        marker = line[:2] if line.startswith(("# ", "- ")) else ""
        out.append(marker + escape_markdown(line[len(marker):], starts_block=True))
    return "\n".join(out)
