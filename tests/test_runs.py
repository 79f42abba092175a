"""What the run's file writers leave on disk: atomic, and with the permissions a plain open()/mkdir() would give."""

from __future__ import annotations

import os
import stat

import pytest

from molting import runs


@pytest.fixture
def umask_027():
    """The process umask set to 027 (group may read, others nothing) for one test, then put back."""
    old = os.umask(0o027)
    runs._umask.cache_clear()
    yield
    os.umask(old)
    runs._umask.cache_clear()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_files_and_report_folders_follow_the_umask_not_tempfiles_private_modes(tmp_path, umask_027):
    # tempfile's own modes are 0600 / 0700, which the renamed file or swapped-in folder would keep: a shared
    # report or run folder would then be unreadable to the group the umask lets read it
    runs.atomic_write_text(tmp_path / "runs" / "v" / "eval.json", "{}")
    assert mode(tmp_path / "runs" / "v" / "eval.json") == 0o640
    staging = runs.staging_folder(tmp_path / "reports" / "v")
    (staging / "report.html").write_text("<p>")
    runs.swap_in_folder(staging, tmp_path / "reports" / "v")
    assert mode(tmp_path / "reports" / "v") == 0o750 and mode(tmp_path / "reports" / "v" / "report.html") == 0o640
    assert not list((tmp_path / "reports").glob(".v.*"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_rewritten_file_keeps_the_permissions_it_had(tmp_path, umask_027):
    target = tmp_path / "params.yaml"
    target.write_text("a: 1\n")
    os.chmod(target, 0o604)
    runs.atomic_write_text(target, "a: 2\n")
    assert target.read_text() == "a: 2\n" and mode(target) == 0o604


def test_a_missing_earlier_output_names_the_command_that_makes_it(tmp_path):
    from molting import evaluate
    from molting.errors import RunError
    from molting.models import ModelSource

    project = tmp_path / "runs" / "elsewhere" / "project"          # a "runs" higher up the path is not the version's
    with pytest.raises(RunError, match=r"(?s)an earlier stage's output is missing.*molt run v2\.1$"):
        runs.read_jsonl(project / "runs" / "v2.1" / "data" / "train.jsonl")
    with pytest.raises(RunError, match=r"molt run v1$"):
        runs.read_json(project / "runs" / "v1" / "data" / "curation.json")
    assert runs.missing_output(tmp_path / "loose.json").fix.endswith("molt run <version>")
    # 03-evaluate stepped through before training: our message, before any model is loaded (this source would fail)
    nowhere = ModelSource("folder", str(tmp_path / "no-model"), "no model")
    with pytest.raises(RunError, match=r"(?s)adapter_config\.json.*molt run v2\.1$"):
        evaluate.load_tuned(nowhere, project / "runs" / "v2.1" / "adapter")
