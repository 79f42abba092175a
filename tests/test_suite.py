"""Question suites: the shipped ones load, and a malformed suite names the file, the question and the key."""

from __future__ import annotations

import pytest
import yaml

from molting import suite
from molting.errors import SuiteError

from conftest import REPO


def test_shipped_suites_load():
    for path in sorted((REPO / "params" / "eval").glob("*.yaml")):
        if path.stem != "probe":
            assert suite.load_suite(path), path


@pytest.mark.parametrize("question,match", [
    ({"id": "q", "prompt": "Hi?"}, "no expectations"),
    ({"id": "q", "prompt": "Hi?", "expected": {"patterns": ["(unclosed"]}}, "bad regex"),
    ({"id": "q", "prompt": "Hi?", "category": "trigger", "contradicts": ["(x"]}, "contradicts"),
    ({"id": "q", "expected": {"patterns": ["x"]}}, "missing `prompt`"),
    ({"id": "q", "prompt": "Hi?", "category": "vibes", "expected": {"patterns": ["x"]}}, "category = 'vibes' is not one of"),
    ({"id": "q", "prompt": "Hi?", "expected": {"patterns": ["x"]}, "expect": 1}, "unknown key `expect`"),
    ({"id": "q", "prompt": "  "}, "prompt: must be non-empty text"),
    ({"id": "q", "prompt": "Hi?", "expected": {"mode": "some", "patterns": ["x"]}}, "expected.mode = 'some' is not one of"),
])
def test_malformed_suite_names_file_and_question(tmp_path, question, match):
    # each error names the file, the question by its id and the key; the shapes are pydantic models (_Question)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "questions": [question]}))
    with pytest.raises(SuiteError, match=match) as err:
        suite.load_suite(path)
    assert str(path) in str(err.value) and "question q" in str(err.value)


def test_suite_with_a_repeated_id_names_it(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"questions": [{"id": "a", "prompt": "Hi?", "category": "trigger"}] * 2}))
    with pytest.raises(SuiteError, match="two questions have the id 'a'") as err:
        suite.load_suite(path)
    assert str(path) in str(err.value) and "give each question a unique `id`" in str(err.value)
