"""A person's decisions on the chats curation marked for review (runs/<v>/data/review.jsonl: kept chats the detector
finds agent-like), written as the keep/drop file curation reads (`curate.keep_drop_file`). `molt review <version>`
asks about each undecided candidate; decisions already in the file stay, so a review can stop and go on later."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = ("# Keep/drop decisions (curate.keep_drop_file): `drop` ids leave the curated data, `keep` ids stay whatever\n"
          "# the rules say. Written by `molt review`, which keeps every id already here; a comment after an id is\n"
          "# rewritten from the review candidates at each run.\n")


@dataclass
class Decisions:
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)

    def decided(self) -> set[str]:
        return {*self.keep, *self.drop}

    def add(self, chat_id: str, verdict: str) -> None:
        (self.keep if verdict == "keep" else self.drop).append(chat_id)


def default_file(cfg: Any) -> str:
    """Where a version's decisions go: its curate.keep_drop_file, else data/<version>-keep-drop.yaml."""
    return cfg.curate.keep_drop_file or f"data/{cfg.version}-keep-drop.yaml"


def load_decisions(path: Path, root: Path) -> Decisions:
    """The decisions already in the file (none where it does not exist yet); a bad file is a DataError naming it."""
    from molting.curate import load_keep_drop

    if not path.is_file():
        return Decisions()
    found = load_keep_drop(str(path), root) or {}
    return Decisions([str(i) for i in found.get("keep", [])], [str(i) for i in found.get("drop", [])])


def pending(candidates: list[dict], decisions: Decisions) -> list[dict]:
    """The candidates no decision covers yet, most likely agent-like first (review.jsonl's order)."""
    return [row for row in candidates if str(row["id"]) not in decisions.decided()]


def render(decisions: Decisions, candidates: list[dict]) -> str:
    """The keep/drop YAML, each candidate id with its flagged sentence as a comment."""
    notes = {str(row["id"]): f"p {row['p_agent_like']}: {row['sentence']}" for row in candidates}

    def block(name: str, ids: list[str]) -> str:
        if not ids:
            return f"{name}: []\n"
        lines = [f"  - {json.dumps(i)}" + (f"   # {notes[i]}" if i in notes else "") for i in ids]
        return f"{name}:\n" + "\n".join(line.replace("\n", " ") for line in lines) + "\n"

    return HEADER + block("drop", decisions.drop) + block("keep", decisions.keep)


def save(path: Path, decisions: Decisions, candidates: list[dict]) -> None:
    """Write the file whole (a reader never sees half of it)."""
    from molting.runs import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render(decisions, candidates))
