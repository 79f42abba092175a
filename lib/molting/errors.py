"""Errors Molting raises for bad input: each names where the problem is and what to do."""

from __future__ import annotations


class MoltingError(Exception):
    """A problem the user can fix; the message names the file/line/key and the remedy."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        parts = [f"{where}: {what}" if where else what]
        if fix:
            parts.append(f"What to do: {fix}")
        super().__init__("\n".join(parts))


def yaml_syntax_fix(problem: str, otherwise: str) -> str:
    """What to do about a YAML syntax error (PyYAML's message): a tab in the indentation has a fix of its own."""
    return "indent with spaces: YAML does not allow tabs" if "'\\t'" in problem else otherwise


class ParamsError(MoltingError):
    """A params file or key is wrong."""


class DataError(MoltingError):
    """Raw or curated data is malformed or empty."""


class ModelError(MoltingError):
    """A model source cannot be resolved or fails preflight."""


class SuiteError(MoltingError):
    """An evaluation suite is malformed."""


class RunError(MoltingError):
    """A run cannot proceed (already complete, failed stage, unsafe path)."""
