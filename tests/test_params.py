"""Params: inheritance, strict validation with helpful errors, diff."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from molting import params
from molting.errors import ParamsError

from conftest import REPO


def write(root: Path, name: str, data) -> None:
    (root / "params").mkdir(parents=True, exist_ok=True)
    (root / "params" / "base.yaml").write_text((REPO / "params" / "base.yaml").read_text())
    (root / "params" / f"{name}.yaml").write_text(data if isinstance(data, str) else yaml.safe_dump(data))


def test_shipped_versions_resolve_and_inherit():
    v22 = params.resolve("v2.2", REPO)
    assert v22.train.max_steps == 448                 # its own value
    assert v22.curate.enabled is True                 # from v2.1
    assert v22.model.source == "bundled:smollm2-135m-instruct"   # from base
    assert params.resolve("v1", REPO).curate.enabled is False
    for path in sorted((REPO / "params").glob("*.yaml")):             # every shipped version resolves, its files there
        if path.stem != "base":
            assert params.resolve(path.stem, REPO).version == path.stem
            params.check_files(params.resolve(path.stem, REPO), REPO)


def test_base_yaml_is_the_rendered_schema():
    from molting import schema
    assert (REPO / "params" / "base.yaml").read_text() == schema.render(), \
        "params/base.yaml differs from lib/molting/schema.py: run `python -m molting.schema > params/base.yaml`"
    for number, line in enumerate(schema.render().splitlines(), 1):
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert "#" in line, f"base.yaml line {number} has no comment: {line}"
    assert params.resolve("v1", REPO).train.epochs == schema.defaults()["train"]["epochs"]


def test_exponent_without_a_dot_says_how_to_write_it(tmp_path):
    write(tmp_path, "lr", "train:\n  learning_rate: 1e-3\n")
    with pytest.raises(ParamsError, match="learning_rate: 0.001"):
        params.resolve("lr", tmp_path)


@pytest.mark.parametrize("tree,expect", [
    ({"trian": {"epochs": 2}}, "did you mean `train`?"),
    ({"epochs": 2}, "did you mean `train.epochs`?"),
    ({"zzz": 1}, "use only `description`, `seed`, `data`"),
])
def test_unknown_top_level_key_suggests_section_or_dotted_key(tmp_path, tree, expect):
    write(tmp_path, "typo", tree)
    with pytest.raises(ParamsError, match=expect.replace("?", "\\?").replace(".", "\\.")):
        params.resolve("typo", tmp_path)


def test_unknown_key_names_file_key_and_closest(tmp_path):
    write(tmp_path, "typo", {"train": {"epochs": 2, "learnin_rate": 0.1}})
    with pytest.raises(ParamsError) as err:
        params.resolve("typo", tmp_path)
    message = str(err.value)
    assert "typo.yaml" in message and "train.learnin_rate" in message and "train.learning_rate" in message


@pytest.mark.parametrize("section,key,value,expect", [
    ("train", "epochs", "five", "should be an integer"),
    ("train", "quantization", "3bit", "is not one of"),
    ("train", "bf16", 1, "is not one of"),
    ("curate", "duplicate_fraction", 1.5, "between 0 and 1"),
    ("train", "batch_size", 0, "must be positive"),
    ("curate", "enabled", "yes", "should be true/false"),
    ("eval", "coherence_threshold", 1.5, "between 0 and 1"),
    ("eval", "samples", -1, "must not be negative"),
    ("train", "target_modules", "foo", 'should be a list of layer names or "all-linear"'),
    ("train", "target_modules", ["q_proj", 1], 'should be a list of layer names or "all-linear"'),
    ("curate", "random_subset", 0, "should be `curated_size`, a positive number of chats, or null"),
    ("curate", "random_subset", "x", "should be `curated_size`"),
    ("model", "source", None, "must not be null"),
    ("train", "learning_rate", "1e-3", "should be a number"),
])
def test_bad_values_are_named(tmp_path, section, key, value, expect):
    write(tmp_path, "bad", {section: {key: value}})
    with pytest.raises(ParamsError) as err:
        params.resolve("bad", tmp_path)
    assert f"{section}.{key}" in str(err.value) and expect in str(err.value) and "bad.yaml" in str(err.value)


def test_extends_cycle_and_missing_parent(tmp_path):
    write(tmp_path, "a", {"extends": "b"})
    write(tmp_path, "b", {"extends": "a"})
    with pytest.raises(ParamsError, match="cycle: a -> b -> a"):
        params.resolve("a", tmp_path)
    write(tmp_path, "c", {"extends": "nothere"})
    with pytest.raises(ParamsError, match="no params file for version `nothere`.*named by `extends` in params/c.yaml"):
        params.resolve("c", tmp_path)


@pytest.mark.parametrize("name", ["../etc", "v1/x", "..", "", ".hidden", "a b"])
def test_version_names_cannot_escape(name):
    with pytest.raises(ParamsError, match="bad version name"):
        params.check_version_name(name)


def test_yaml_syntax_error_names_line(tmp_path):
    write(tmp_path, "broken", "train:\n  epochs: [1,\n")
    with pytest.raises(ParamsError, match=r"broken.yaml:\d+"):
        params.resolve("broken", tmp_path)


def test_a_tab_in_the_indentation_is_named_with_its_fix(tmp_path):
    write(tmp_path, "tabbed", "train:\n\tepochs: 2\n")
    with pytest.raises(ParamsError, match=r"(?s)tabbed.yaml:2: invalid YAML.*indent with spaces: YAML does not allow tabs"):
        params.resolve("tabbed", tmp_path)


def test_yaml_is_loaded_safely(tmp_path):
    write(tmp_path, "evil", "description: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ParamsError, match="invalid YAML"):
        params.resolve("evil", tmp_path)


def test_diff_lists_only_changes():
    rows = params.diff(params.resolve("v2.1", REPO), params.resolve("v2.2", REPO))
    assert [k for k, _, _ in rows] == ["description", "train.max_steps"]
    assert ("train.max_steps", 192, 448) in rows


def test_the_runs_params_file_is_read_and_validated(tmp_path):
    cfg = params.resolve("v2.1", REPO)
    snapshot = tmp_path / "params.yaml"
    snapshot.write_text(params.to_yaml(cfg))
    loaded = params.load("v2.1", snapshot, REPO)
    assert loaded == {**cfg, "root": str(REPO)} and loaded.train.epochs == 5
    tree = cfg.to_dict()
    tree["train"]["epochz"] = 3
    snapshot.write_text(yaml.safe_dump(tree))
    with pytest.raises(ParamsError, match="epochz") as err:
        params.load("v2.1", snapshot, REPO)
    assert str(snapshot) in str(err.value)


def test_paths_cannot_climb_out_of_project():
    cfg = params.load("v2.1", root=REPO)
    assert params.project_path(cfg, "data/sample/raw.jsonl") == REPO / "data" / "sample" / "raw.jsonl"
    with pytest.raises(ParamsError, match="outside the project"):
        params.project_path(cfg, "../../etc/passwd", "data.raw")
    assert params.project_path(cfg, "/tmp/x.jsonl") == Path("/tmp/x.jsonl")


def test_a_missing_file_in_any_version_stops_the_run_before_the_first_version_starts(tmp_path):
    from molting import runner

    from conftest import make_project

    root = make_project(tmp_path, tmp_path / "model")   # nothing may load it: the run stops before any stage
    write(root, "tiny-probe", {"extends": "tiny", "eval": {"probe": "params/eval/probe-typo.yaml"}})
    write(root, "tiny-child", {"extends": "tiny-probe", "description": "inherits the typo"})
    write(root, "tiny-suites", {"extends": "tiny", "eval": {"suites": ["params/eval/personality.yaml", "params/eval/nope.yaml"]}})

    def refused(versions):
        with pytest.raises(ParamsError) as err:
            runner.run(versions, root, progress=False, log=lambda _: None)
        assert not (root / "runs").exists()   # not even the first version's params.yaml or lock
        return err.value

    err = refused(["tiny", "tiny-probe"])
    assert err.what == "eval.probe names 'params/eval/probe-typo.yaml', which does not exist"
    assert err.where == f"{root / 'params' / 'tiny-probe.yaml'}: eval.probe" and str(root) in err.fix
    assert refused(["tiny-child"]).where == f"{root / 'params' / 'tiny-probe.yaml'}: eval.probe"   # the file that set it
    assert refused(["tiny", "tiny-suites"]).what == "eval.suites names 'params/eval/nope.yaml', which does not exist"
    assert "no params file for version `tiny-prob`" in refused(["tiny", "tiny-prob"]).what
    write(root, "tiny-compare", {"extends": "tiny", "report": {"compare_to": "tiny-prob"}})
    err = refused(["tiny-compare"])
    assert err.what == "report.compare_to names version `tiny-prob`, which has no params file"
    assert err.where == f"{root / 'params' / 'tiny-compare.yaml'}: report.compare_to" and "did you mean `tiny-probe`?" in err.fix
    write(root, "tiny-test", {"extends": "tiny", "eval": {"test_chats": "data/sample/tests.jsonl"}})
    assert refused(["tiny-test"]).where == f"{root / 'params' / 'tiny-test.yaml'}: eval.test_chats"
    (root / "data" / "sample" / "persona.yaml").unlink()
    assert refused(["tiny"]).where == f"{root / 'params' / 'base.yaml'}: data.persona"


def test_every_key_whose_default_is_a_file_is_checked_before_a_run():
    # check_files walks the keys the schema marks `path`: a new file key left unmarked would be read only at its stage
    from molting import schema

    defaults = params._flatten(schema.defaults())
    files = {k for k, v in defaults.items() for item in (v if isinstance(v, list) else [v])
             if isinstance(item, str) and item and (REPO / item).is_file()}
    assert files and files <= set(schema.path_keys())


def test_a_run_of_later_stages_asks_only_for_the_files_those_stages_read(tmp_path):
    from molting import schema

    from conftest import make_project

    assert schema.path_keys(["04-report"]) == []   # it reads the run's own files
    assert schema.path_keys(["02-train"]) == ["model.chat_template_file"]   # and the curated chats
    evaluate = set(schema.path_keys(["03-evaluate"]))
    assert {"data.raw", "data.persona", "eval.suites", "eval.probe", "eval.test_chats"} <= evaluate
    assert not {"curate.keep_drop_file", "curate.synthetic_file", "data.test_chats"} & evaluate
    assert set(schema.path_keys(["01-curate"])) | evaluate == set(schema.path_keys())

    root = make_project(tmp_path, tmp_path / "model")
    write(root, "tiny-keep", {"extends": "tiny", "curate": {"keep_drop_file": "data/keep-drop.yaml"}})
    cfg = params.resolve("tiny-keep", root)
    params.check_files(cfg, root, ["02-train", "03-evaluate", "04-report"])   # --from 02-train: curation is done
    with pytest.raises(ParamsError, match="curate.keep_drop_file names 'data/keep-drop.yaml'"):
        params.check_files(cfg, root, ["01-curate", "02-train"])
    (root / "data" / "sample" / "raw.jsonl").unlink()
    params.check_files(cfg, root, ["02-train"])
    with pytest.raises(ParamsError, match="data.raw names"):
        params.check_files(cfg, root, ["03-evaluate"])   # coherence is calibrated on the raw data
