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


def test_every_base_key_is_commented():
    for number, line in enumerate((REPO / "params" / "base.yaml").read_text().splitlines(), 1):
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert "#" in line, f"base.yaml line {number} has no comment: {line}"


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
