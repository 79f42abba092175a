"""The four notebooks through papermill on a tiny version, end to end, and the runner's guarantees."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from molting import runner, runs, suite, sweep
from molting.errors import RunError
from molting.runs import STAGES, RunPaths, read_jsonl

from conftest import ESCAPED, make_project, render_gfm


@pytest.fixture
def finished(finished_tiny):
    """The session's finished tiny run (see conftest): its project folder and the first run's stage timings."""
    return finished_tiny.root, finished_tiny.timings


@contextlib.contextmanager
def held_elsewhere(lock_file: Path):
    """Another process holds the lock file (as a running `molt run` would) until the block ends, then is killed."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from filelock import FileLock; "
                               f"lock = FileLock({str(lock_file)!r}); lock.acquire(); print('held', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_all_stages_leave_their_outputs(finished):
    root, timings = finished
    paths = RunPaths(root, "tiny")
    assert set(timings) == {*STAGES, "render"}
    for stage in STAGES:
        assert paths.notebook(stage).is_file() and paths.done_marker(stage).is_file()
    curation = json.loads(paths.curation_json.read_text())
    assert curation["counts"]["raw"] == 484 and curation["counts"]["kept"] == 40
    assert curation["funnel"][0] == {"step": "loaded", "remaining": 484, "removed": 0}
    assert sum(curation["removed_by_rule"].values()) == 484 - 40
    assert curation["sentence_leakage"]["held-out"]["chats"] == curation["counts"]["heldout"]
    assert curation["sentence_leakage"]["held-out"]["shared_with_train"] == 0     # the split is leakage-aware
    train = json.loads(paths.train_json.read_text())
    assert train["epochs_run"] == 1 and train["train_loss"] and train["heldout_loss"]
    # readable as the umask allows, like any file the user makes (not tempfile's private 0600 / 0700)
    for path, folder in ((paths.train_json, False), (paths.eval_json, False), (paths.params_file, False),
                         (paths.report_dir, True), (paths.report_dir / "report.html", False)):
        assert path.stat().st_mode & 0o777 == runs.default_mode(folder), path
    assert (paths.adapter_dir / "adapter_config.json").is_file()
    summary = json.loads(paths.eval_json.read_text())
    assert set(summary["models"]) == {"base", "tuned"}
    tuned = summary["models"]["tuned"]
    assert 0 <= tuned["score"]["mean"] <= 10
    questions = len(suite.load_suite(root / "params" / "eval" / "personality.yaml"))
    answers = read_jsonl(paths.answers_jsonl)
    assert len(answers) == 2 * questions * (1 + 2) and all("verdict" in a for a in answers)   # greedy + 2 samples each
    for metric in ("agent_like", "agent_like_detector", "contradicted", "in_character", "truncated"):
        low, high = tuned[metric]["ci95"]                                  # separate rates with Wilson intervals
        assert tuned[metric]["n"] == 2 * questions and low <= tuned[metric]["mean"] <= high and high > low
    assert set(tuned["by_category"]) == {"facts", "trigger", "control"} and len(tuned["per_question"]) == questions
    assert {a["verdict"]["agent_like_detector"] for a in answers} <= {0.0, 1.0}            # both detectors' verdicts
    assert summary["tuned_vs_base"]["score"]["p_value"] is not None                        # the paired comparison
    assert tuned["propensity"]["items"] >= 60 and summary["propensity_comparison"]["pairs"] >= 60
    assert tuned["test_perplexity"] and summary["models"]["base"]["test_perplexity"]
    kept = read_jsonl(paths.train_jsonl)
    coverage = summary["fact_coverage"]                                    # how often the trained chats state each fact
    facts = [q for q in suite.load_suite(root / "params" / "eval" / "personality.yaml") if q.category == "facts"]
    assert coverage["chats"] == len(kept) and set(coverage["questions"]) == {q.id for q in facts}
    assert all(0 <= c["stated_in"] <= len(kept) for c in coverage["questions"].values())
    assert list((root / "runs" / "_cache" / "base-answers").glob("*.json"))                # reused by the next version
    assert (root / "runs" / "tiny" / "params.yaml").is_file()


def test_library_noise_stays_out_of_the_executed_notebooks(finished):
    # peft's deprecated-API FutureWarning and bitsandbytes' request for an optional hub kernel, at every model load,
    # read as if something were wrong; nothing is, and nothing is for the user to do
    root, _ = finished
    for stage in STAGES:
        text = RunPaths(root, "tiny").notebook(stage).read_text()
        assert "is_gradient_checkpointing" not in text and "pip install kernels" not in text, stage


def test_report_is_rendered_with_figures_and_no_code(finished):
    root, _ = finished
    html = (root / "reports" / "tiny" / "report.html").read_text()
    md = (root / "reports" / "tiny" / "report.md").read_text()
    assert "Molting report: tiny" in html and "Answers side by side" in html
    assert "data:image/png;base64" in html                       # figures embedded: self-contained
    assert "runs.mark_done" not in html and "import" not in md    # code hidden
    figures = list((root / "reports" / "tiny" / "figures").glob("*.png"))
    assert len(figures) >= 3 and all(f"figures/{f.name}" in md for f in figures)
    # each figure has its description as alt text (plots.show), in both reports, not nbconvert's placeholder
    alts = [img["alt"] for img in BeautifulSoup(html, "html.parser").find_all("img")]
    assert len(alts) == len(figures) and "No description" not in html
    assert alts[0].startswith("Agent-like (library), Agent-like (detector), ") and alts[0].endswith(": bars for base, tuned")
    assert "Curation funnel: bars for loaded, " in alts[1] and alts[2] == "Loss: train loss, held-out loss; loss against step"
    assert re.findall(r"!\[([^\]]*)\]\(figures/", md)[2] == "Loss: train loss, held-out loss; loss against step"


def test_completed_version_is_not_overwritten_without_force(finished):
    root, _ = finished
    with pytest.raises(RunError, match="(?s)already complete.*--force"):
        runner.run_version("tiny", root, progress=False, log=lambda _: None)
    assert runner.run_version("tiny", root, skip_complete=True, log=lambda _: None) == {}


def test_model_text_is_escaped_in_both_reports(finished):
    root, _ = finished                          # a greedy tuned answer is ESCAPED, and the report re-rendered
    assert ESCAPED in [a["text"] for a in read_jsonl(RunPaths(root, "tiny").answers_jsonl)]
    html = (root / "reports" / "tiny" / "report.html").read_text()
    md = (root / "reports" / "tiny" / "report.md").read_text()
    assert "<script>window.pwned" not in html and "&lt;script&gt;window.pwned" in html
    assert "<img src=x" not in html
    rendered = render_gfm(md)                                    # Markdown keeps it as text: \<script> shows <script>
    assert "<script>window" not in rendered and "<img src=x" not in rendered and 'href="javascript' not in rendered
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in rendered and "\\[click\\]" in md


def test_a_version_another_process_is_running_is_left_alone(tmp_path, tiny_model_dir, monkeypatch):
    """A second `molt run` of a version that is running stops before writing anything; once that process has
    ended (here: killed, as by a power cut), the lock is gone and nothing stands in the way."""
    root = make_project(tmp_path, tiny_model_dir)
    paths = RunPaths(root, "tiny")
    paths.run_dir.mkdir(parents=True)
    with held_elsewhere(paths.lock_file):
        with pytest.raises(RunError, match="(?s)version tiny is being run by another process.*wait for that run"):
            runner.run_version("tiny", root, progress=False, log=lambda _: None)
        assert sorted(p.name for p in paths.run_dir.iterdir()) == [".lock"]    # no params.yaml, no stage started
        # a notebook stepped through by hand stops at its setup cell too; one the runner executes (its kernel inherits
        # the variable) goes on
        with pytest.raises(RunError, match=r"(?s)\(`molt run` or `molt train`\).*then run this notebook"):
            runs.open_version("tiny", "", str(root))
        monkeypatch.setenv(runs.HOLDER_ENV, str(paths.lock_file))
        cfg, opened = runs.open_version("tiny", "", str(root))
        assert cfg.version == "tiny" and cfg.train.epochs == 1 and opened.run_dir == paths.run_dir
        monkeypatch.delenv(runs.HOLDER_ENV)
    runs.check_not_running(paths)                                             # only looks: leaves the lock free
    with runs.exclusive(paths):                                               # free again
        assert paths.lock_file.is_file() and os.environ[runs.HOLDER_ENV] == str(paths.lock_file)
    assert runs.HOLDER_ENV not in os.environ


def test_a_stage_asked_for_before_its_inputs_exist_is_refused_before_params_yaml_is_written(tmp_path, tiny_model_dir):
    """`--only`/`--from` a stage whose earlier stages are not done stops before writing runs/<v>/params.yaml: written,
    it would make a later full run believe the params had not changed since the stages on disk were made."""
    root = make_project(tmp_path, tiny_model_dir)
    paths = RunPaths(root, "tiny")
    for kwargs in ({"only": "03-evaluate"}, {"from_stage": "02-train"}):
        with pytest.raises(RunError, match=r"(?s)needs 01-curate.* first.*molt run tiny` \(or --from 01-curate\)"):
            runner.run_version("tiny", root, progress=False, log=lambda _: None, **kwargs)
    assert sorted(p.name for p in paths.run_dir.iterdir()) == [".lock"]


def test_a_notebook_stepped_through_by_hand_holds_the_lock_while_its_calls_write(tmp_path, tiny_model_dir, monkeypatch):
    """In JupyterLab nothing holds the version's lock but the writing calls themselves (runs.writing: training, the
    stages' saves and markers): a `molt run` started while one writes stops, and a call stops where a run holds it.
    Under the runner, whose kernels inherit HOLDER_ENV, and in a non-main process of a distributed launch, they take
    nothing."""
    root = make_project(tmp_path, tiny_model_dir)
    paths = RunPaths(root, "tiny")
    monkeypatch.delenv(runs.HOLDER_ENV, raising=False)
    env = {**os.environ, "MOLTING_ROOT": str(root), "MOLTING_KERNEL": "python3"}
    with runs.writing(paths):                                       # e.g. train.train running in a notebook cell
        with runs.writing(paths):                                   # a writing call inside another: no deadlock
            runs.mark_done(paths, "01-curate")
        other = subprocess.run([str(Path(sys.executable).parent / "molt"), "run", "tiny", "--quiet"], cwd=root, env=env,
                               capture_output=True, text=True, timeout=120)
        assert other.returncode == 1 and "version tiny is being run by another process" in other.stderr
    assert runs.HOLDER_ENV not in os.environ and not (paths.run_dir / "params.yaml").exists()
    with held_elsewhere(paths.lock_file):
        with pytest.raises(RunError, match=r"(?s)being run by another process.*then run this cell again"):
            runs.mark_done(paths, "02-train")
        assert not runs.is_done(paths, "02-train")
        monkeypatch.setenv(runs.HOLDER_ENV, str(paths.lock_file))   # a kernel the runner started: its runner holds it
        runs.mark_done(paths, "02-train")
        monkeypatch.delenv(runs.HOLDER_ENV)
        monkeypatch.setenv("RANK", "1")                             # accelerate's other processes: rank 0 holds it
        runs.mark_done(paths, "03-evaluate")
    assert runs.is_done(paths, "02-train") and runs.is_done(paths, "03-evaluate")


def test_molt_report_re_renders_a_finished_version_and_says_what_to_do_otherwise(finished_tiny, monkeypatch, capsys):
    from molting import cli

    root = finished_tiny.root
    monkeypatch.setenv("MOLTING_ROOT", str(root))
    report = root / "reports" / "tiny" / "report.html"
    before = report.read_bytes()
    assert cli.main(["report", "tiny"]) == 0 and report.read_bytes() == before          # the same notebook, the same report
    assert str(report) in capsys.readouterr().out
    assert cli.main(["report", "tyni"]) == 1                                             # was a traceback
    err = capsys.readouterr().err
    assert "version tyni has no executed report notebook" in err and "molt run tyni" in err
    assert not (root / "runs" / "tyni").exists()
    with held_elsewhere(RunPaths(root, "tiny").lock_file):                              # a run of tiny at work
        assert cli.main(["report", "tiny"]) == 1
    assert "version tiny is being run by another process" in capsys.readouterr().err


def test_a_phase_report_another_process_is_making_is_left_alone(finished_tiny):
    """A second `molt report --phase` of a name being made stops before its kernel starts: the two would execute into
    the same notebook and swap in their own reports/<name>/ over each other's."""
    root = finished_tiny.root
    phase = runs.PhasePaths(root, "phase-t")
    lock_file = phase.lock_file
    assert lock_file == root / "runs" / "_phases" / "phase-t.lock"
    report = (root / "reports" / "phase-t" / "report.html").read_bytes()
    notebook = (root / "runs" / "_phases" / "phase-t.ipynb").read_bytes()
    with held_elsewhere(lock_file):
        with pytest.raises(RunError, match=r"(?s)phase report phase-t is being made by another process.*wait for it"):
            runner.run_phase("phase-t", ["tiny"], root, progress=False)
    assert (root / "reports" / "phase-t" / "report.html").read_bytes() == report       # nothing overwritten
    assert (root / "runs" / "_phases" / "phase-t.ipynb").read_bytes() == notebook
    with runs.exclusive_phase(phase):                                                  # free once the holder is gone
        assert lock_file.is_file()


def test_a_version_folder_that_cannot_be_written_says_so(tmp_path, tiny_model_dir, monkeypatch):
    root = make_project(tmp_path, tiny_model_dir)

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    with pytest.raises(RunError, match=r"(?s)runs/tiny/\.lock: cannot write the file: No space left on device\nWhat to do: free disk space"):
        runner.run_version("tiny", root, progress=False, log=lambda _: None)


@pytest.mark.pipeline
def test_failing_cell_is_named_and_its_notebook_kept(tmp_path, tiny_model_dir):
    root = make_project(tmp_path, tiny_model_dir, overrides={"data": {"raw": "data/broken.jsonl"}})
    (root / "data" / "broken.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n{oops\n')
    with pytest.raises(RunError) as err:
        runner.run_version("tiny", root, progress=False, log=lambda _: None)
    message = str(err.value)
    assert "01-curate failed in cell" in message and "DataError" in message and "broken.jsonl:2" in message
    assert (root / "runs" / "tiny" / "01-curate.ipynb").is_file()
    assert not (root / "runs" / "tiny" / ".done" / "01-curate.json").exists()


def test_sweep_over_train_fraction_draws_a_learning_curve(finished_tiny, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(finished_tiny.root, root)
    log: list[str] = []
    out = sweep.sweep("tiny", "train_fraction", [0.5, 1.0], root, progress=False, log=log.append)
    # the 1.0 point is tiny itself (train_fraction 1.0), already finished: reused, not run again
    assert any(line.startswith("[tiny] already complete, report in") for line in log) and not (root / "params" / "tiny-frac100.yaml").exists()
    assert (out.parent / "learning_curve.png").stat().st_size > 5_000
    text = out.read_text()
    assert "| tiny-frac050 |" in text and "| tiny |" in text
    points = sweep.curve_points(["tiny-frac050", "tiny"], "train_fraction", root)
    assert [p["version"] for p in points] == ["tiny-frac050", "tiny"]
    assert points[0]["x"] < points[1]["x"]                       # half the training chats, then all
    assert (root / "params" / "tiny-frac050.yaml").read_text().startswith("# generated by `molt sweep`")


def test_a_dry_run_says_what_would_run_and_writes_nothing(finished_tiny, tmp_path, tiny_model_dir, monkeypatch, capsys):
    from molting import cli

    root = make_project(tmp_path, tiny_model_dir)
    (root / "params" / "tiny-prompt.yaml").write_text("extends: tiny\ntrain:\n  enabled: false\n")
    (root / "params" / "tiny-typo.yaml").write_text("extends: tiny\neval:\n  probe: params/eval/nope.yaml\n")
    rows = runner.plan(["tiny", "tiny-prompt", "tiny-typo", "bad name"], root)
    assert not (root / "runs").exists()
    assert [(r["stage"], r["action"]) for r in rows if r["version"] == "tiny"] == [(s, "run") for s in STAGES]
    assert ("02-train", "nothing to train (prompt-only)") in [(r["stage"], r["action"]) for r in rows]
    refused = {r["version"]: r["action"] for r in rows if r["stage"] == "all"}
    assert "eval.probe names 'params/eval/nope.yaml', which does not exist" in refused["tiny-typo"]
    assert "bad version name" in refused["bad name"]
    assert [r["action"] for r in runner.plan(["tiny"], root, from_stage="03-evaluate")] == ["refused: needs 01-curate, 02-train first"]

    done = finished_tiny.root   # a finished version: refused without --force, passed over with --skip-complete
    assert runner.plan(["tiny"], done)[0]["action"].startswith("refused: already complete")
    assert runner.plan(["tiny"], done, skip_complete=True)[0]["action"].startswith("already complete: skipped")
    assert [r["action"] for r in runner.plan(["tiny"], done, force=True, only="04-report")] == ["run"]
    before = {p: p.stat().st_mtime_ns for p in (done / "runs" / "tiny").rglob("*") if p.is_file()}
    monkeypatch.setenv("MOLTING_ROOT", str(done))
    assert cli.main(["run", "tiny", "--force", "--dry-run"]) == 0
    assert "tiny  02-train     run" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (done / "runs" / "tiny").rglob("*") if p.is_file()} == before
