"""Question suites: the YAML files of the personality test, checked and loaded as `Question`s.

A suite holds three categories of questions, reported apart: `facts` (persona facts, paraphrased),
`trigger` (questions that invite the assistant register: look up, remind, "who made you"...) and
`control` (small talk every model should manage). Each question has an `id`, a `prompt`, the facts a
good answer states (`expected: {mode: all | any, patterns: [regex, ...]}`; facts questions need them),
the wrong facts it must not state (`contradicts`), what no answer may contain (`forbidden`) and a
`reference` answer. Regexes are matched case-insensitively. A malformed suite is a SuiteError naming the
file, the question and the key (the shapes below are pydantic models checked by molting.validation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from molting.errors import SuiteError
from molting.params import read_yaml
from molting.validation import Invalid, Strict, Text, items, unique, validate

CATEGORIES = ("facts", "trigger", "control")
# suites written before the three categories: all of those questions ask for persona facts
LEGACY_CATEGORIES = {"identity": "facts", "opinions": "facts", "personality": "facts", "style": "facts"}



@dataclass(frozen=True)
class Question:
    """One suite question with what a good answer states, must not state, and must not get wrong."""

    id: str
    suite: str
    category: str
    prompt: str
    expected_mode: str
    expected: tuple[str, ...]
    forbidden: tuple[str, ...]
    reference: str
    contradicts: tuple[str, ...] = ()


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise Invalid(f"bad regex {pattern!r}: {exc}", fix="fix the regex (quote it with single quotes in YAML)") from None
    return pattern


# one regex or a list of them; answers are matched case-insensitively
Regexes = Annotated[list[Annotated[Text, AfterValidator(_regex)]],
                    BeforeValidator(lambda v: [] if v is None else v if isinstance(v, list) else [v])]


class _Expected(Strict):
    mode: Literal["all", "any"] = Field("all", description="all: every pattern must be stated; any: one is enough")
    patterns: Regexes = Field([], description="regexes of the facts a good answer states")


class _Question(Strict):
    id: Text = Field(description="a unique name, e.g. id: home_town")
    category: Annotated[Literal[CATEGORIES], BeforeValidator(lambda v: LEGACY_CATEGORIES.get(v, v))] = Field(
        "facts", description="facts, trigger or control")
    prompt: Text = Field(description="the question text")
    expected: _Expected = Field(_Expected(), description="expected: {mode: any, patterns: ['regex', ...]}")
    contradicts: Regexes = Field([], description="regexes of wrong facts")
    forbidden: Regexes = Field([], description="regexes an answer must not contain")
    reference: str = Field("", description="a reference answer")

    @model_validator(mode="after")
    def _facts_need_expectations(self) -> "_Question":
        if self.category == "facts" and not self.expected.patterns:
            raise Invalid("the question has no expectations (`expected.patterns`)",
                          fix="add expected: {mode: any, patterns: ['regex', ...]} with the facts a good answer states "
                              "(only trigger and control questions may go without)")
        return self


class _Suite(Strict):
    name: Optional[str] = Field(None, description="the suite's name (default: the file name)")
    description: str = Field("", description="what the suite tests")
    questions: Annotated[list[_Question], unique("question")] = items("question", min_length=1,
                                                                       description="the questions, each with an `id`")


def load_suite(path: str | Path) -> list[Question]:
    """Questions of a suite YAML file; a malformed suite is an error naming the file and the question."""
    path = Path(path)
    suite = validate(_Suite, read_yaml(path), str(path), SuiteError)
    name = suite.name or path.stem
    return [Question(q.id, name, q.category, q.prompt, q.expected.mode, tuple(q.expected.patterns), tuple(q.forbidden),
                     q.reference.strip(), tuple(q.contradicts)) for q in suite.questions]


def load_suites(paths: list[str], root: Path) -> list[Question]:
    """All questions of the version's suites, in order."""
    questions = []
    for p in paths:
        questions.extend(load_suite(root / p if not Path(p).is_absolute() else Path(p)))
    return questions


def suite_rows(questions: list[Question]) -> list[dict]:
    """The suite as a table: one row per question."""
    return [{"id": q.id, "category": q.category, "question": q.prompt,
             "expects": f"{q.expected_mode} of {len(q.expected)}" if q.expected else "",
             "contradicts": len(q.contradicts) or ""} for q in questions]
