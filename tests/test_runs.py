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
