"""The bad-input suite: one test per kind of bad input. Each asserts a clear error naming the file and
line / key / question, saying what to do, and that nothing already on disk changed.

Kinds covered here (the README's "When things go wrong" lists them too):
 1 malformed JSON line          2 truncated last line          3 non-UTF-8 bytes
 4 UTF-8 BOM (accepted)         5 empty file                   6 unknown chat format
 7 chat without assistant turn  8 roles out of order           9 conversation given as a bare string
10 extremely long chat          11 everything removed           12 unknown params key
13 wrong type in params         14 `extends` cycle              15 missing `extends` parent
16 version name with / or ..    17 unknown model / missing path 18 GGUF of an unsupported architecture
19 incompatible rope_scaling    20 suite question without expectations
21 judge endpoint unreachable   22 disk full during a write      23 params path escaping the project
24 unsafe YAML tag              25 keep/drop list naming unknown ids
26 `molt sweep --fractions` that are not numbers
"""

from __future__ import annotations

import errno
import hashlib
import json
import socket
from pathlib import Path

import pytest
import yaml

from molting import curate, judge, models, params, patterns, preflight, runs, suite
from molting.data import load_chats
from molting.errors import DataError, ModelError, MoltingError, ParamsError, RunError, SuiteError

from conftest import REPO, write_gguf

CHAT = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, love."}]}


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file below a folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path):
    """A folder with finished work in it that no error may touch."""
    (tmp_path / "runs" / "v0" / "data").mkdir(parents=True)
    (tmp_path / "runs" / "v0" / "data" / "train.jsonl").write_text(json.dumps(CHAT) + "\n")
    (tmp_path / "reports" / "v0").mkdir(parents=True)
    (tmp_path / "reports" / "v0" / "report.html").write_text("<html>finished</html>")
    return tmp_path


def expect(error: type, call, workdir: Path, *fragments: str) -> str:
    """Run `call`, require `error` whose message holds every fragment and a remedy, and an untouched workdir."""
    before = snapshot(workdir)
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "What to do:" in message
    assert snapshot(workdir) == before
    return message


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def line(obj) -> str:
    return json.dumps(obj) + "\n"


# -- data files --------------------------------------------------------------------------------

def test_01_malformed_json_line(workdir):
    path = write(workdir / "d.jsonl", line(CHAT) + '{"messages": [}\n' + line(CHAT))
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:2", "not valid JSON")


def test_02_truncated_last_line(workdir):
    path = write(workdir / "d.jsonl", line(CHAT) + line(CHAT) + '{"messages": [{"role": "user", "cont')
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:3", "not valid JSON")


def test_03_non_utf8_bytes(workdir):
    path = write(workdir / "d.jsonl", line(CHAT).encode() + b'{"messages": "caf\xe9"}\n')
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:2", "not UTF-8")


def test_04_utf8_bom_is_accepted(workdir):
    path = write(workdir / "d.jsonl", b"\xef\xbb\xbf" + line(CHAT).encode())
    assert len(load_chats(path).chats) == 1


def test_05_empty_file(workdir):
    path = write(workdir / "d.jsonl", b"")
    expect(DataError, lambda: load_chats(path), workdir, str(path), "empty")


def test_06_unknown_chat_format(workdir):
    path = write(workdir / "d.jsonl", line({"asked": "hi", "said": "yo"}))   # question/answer would be read as a pair
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:1", "unknown chat format", "asked", "data.columns")


def test_07_chat_without_assistant_turn(workdir):
    path = write(workdir / "d.jsonl", line({"messages": [{"role": "user", "content": "hi"}]}))
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:1", "no assistant turn")


def test_08_roles_out_of_order(workdir):
    msgs = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]
    path = write(workdir / "d.jsonl", line({"messages": msgs}))
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:1", "roles out of order")


def test_09_conversation_as_bare_string(workdir):
    path = write(workdir / "d.jsonl", line({"conversations": "human: hi\ngpt: hello"}))
    expect(DataError, lambda: load_chats(path), workdir, f"{path}:1", "single string, not a list")


def test_10_extremely_long_chat_is_dropped_and_counted(bundled_tokenizer):
    from molting import chat

    cfg = params.resolve("v2.1", REPO)
    cfg["root"] = str(REPO)
    chats = load_chats(REPO / "data" / "sample" / "raw.jsonl").chats
    long_reply = "I love the harbour at dawn, love, " * 3000      # ~25k tokens
    chats.append({"id": "huge", "source": "raw", "messages": [{"role": "user", "content": "Tell me everything."},
                                                              {"role": "assistant", "content": long_reply}]})
    result = curate.curate(chats, cfg, library=patterns.load_library(), persona={},
                           count_tokens=chat.token_counter(bundled_tokenizer, ""))
    dropped = [r for r in result.removed if r["id"] == "huge"]
    assert dropped and dropped[0]["rule"] == "too_long" and "tokens >" in dropped[0]["detail"]
    cut = chat.tokenize_chat(bundled_tokenizer, chats[-1]["messages"], 256)      # and in training: cut, counted
    assert cut["cut"] and len(cut["input_ids"]) == 256


def test_11_everything_removed_by_curation(workdir):
    cfg = params.resolve("v2.1", REPO)
    cfg["root"] = str(REPO)
    chats = [{"id": f"c{i}", "source": "raw", "messages": [{"role": "user", "content": "hi"},
             {"role": "assistant", "content": "As an AI language model, I cannot."}]} for i in range(3)]
    expect(DataError, lambda: curate.curate(chats, cfg, library=patterns.load_library(), persona={}), workdir,
           "removed all 3 chats", "as_an_ai", "curate.patterns_disabled")


# -- params ------------------------------------------------------------------------------------

def project_with(tmp_path: Path, name: str, body) -> Path:
    (tmp_path / "params").mkdir(exist_ok=True)
    (tmp_path / "params" / "base.yaml").write_text((REPO / "params" / "base.yaml").read_text())
    (tmp_path / "params" / f"{name}.yaml").write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return tmp_path


def test_12_unknown_params_key(workdir):
    root = project_with(workdir, "v9", {"train": {"epocs": 3}})
    expect(ParamsError, lambda: params.resolve("v9", root), workdir, "v9.yaml", "train.epocs", "train.epochs")


def test_13_wrong_type_in_params(workdir):
    root = project_with(workdir, "v9", {"eval": {"max_new_tokens": "lots"}})
    expect(ParamsError, lambda: params.resolve("v9", root), workdir, "v9.yaml", "eval.max_new_tokens", "an integer")


def test_14_extends_cycle(workdir):
    project_with(workdir, "a", {"extends": "b"})
    root = project_with(workdir, "b", {"extends": "a"})
    expect(ParamsError, lambda: params.resolve("a", root), workdir, "cycle", "a -> b -> a")


def test_15_missing_extends_parent(workdir):
    root = project_with(workdir, "v9", {"extends": "v8"})
    expect(ParamsError, lambda: params.resolve("v9", root), workdir, "v8.yaml", "named by `extends` in params/v9.yaml")


@pytest.mark.parametrize("name", ["../v1", "runs/v1", "..", "v1/../../x"])
def test_16_version_name_with_path_separators(workdir, name):
    expect(ParamsError, lambda: params.check_version_name(name), workdir, "bad version name", "no '/' or '..'")


def test_23_params_path_escaping_the_project(workdir):
    cfg = params.resolve("v2.1", REPO)
    cfg["root"] = str(REPO)
    expect(ParamsError, lambda: params.project_path(cfg, "../../etc/passwd", "data.raw"), workdir,
           "data.raw", "outside the project")


def test_24_unsafe_yaml_tag(workdir):
    root = project_with(workdir, "v9", "description: !!python/object/apply:os.system ['touch /tmp/molting-pwned']\n")
    expect(ParamsError, lambda: params.resolve("v9", root), workdir, "v9.yaml", "invalid YAML")
    assert not Path("/tmp/molting-pwned").exists()


# -- models ------------------------------------------------------------------------------------

def test_17_unknown_model_and_missing_path(workdir):
    expect(ModelError, lambda: models.resolve_source("./models/nope"), workdir, "model.source", "not found")
    expect(ModelError, lambda: models.resolve_source("bundled:llama-9000"), workdir, "model.source", "unknown bundled model")


def test_18_gguf_of_unsupported_architecture(workdir):
    import gguf

    path = write_gguf(workdir / "odd.gguf", "not-a-real-arch", 1)
    source = models.resolve_source(str(path))
    expect(ModelError, lambda: models.local_folder(source), workdir, str(path), "cannot load this GGUF")
    assert gguf.GGUFReader is gguf.gguf_reader.GGUFReader, "a failed conversion leaves gguf's reader as it was"
    assert gguf.get_tensor_name_map is gguf.tensor_mapping.get_tensor_name_map


def test_19_incompatible_rope_scaling(workdir):
    folder = workdir / "phi3"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
        "intermediate_size": 64, "vocab_size": 50, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
        "rope_scaling": {"type": "longrope", "short_factor": [1.0], "long_factor": [1.0]}}))
    before = snapshot(workdir)
    with pytest.raises(ModelError, match="rope_scaling is not valid") as caught:
        preflight.load_config(str(folder))
    assert "config.json" in str(caught.value) and "What to do:" in str(caught.value) and snapshot(workdir) == before


# -- evaluation --------------------------------------------------------------------------------

def test_20_suite_question_without_expectations(workdir):
    path = workdir / "suite.yaml"
    path.write_text(yaml.safe_dump({"questions": [{"id": "who", "prompt": "Who are you?"}]}))
    expect(SuiteError, lambda: suite.load_suite(path), workdir, str(path), "question who", "no expectations")


def test_21_judge_endpoint_unreachable(workdir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = {"enabled": True, "base_url": f"http://127.0.0.1:{port}/v1", "model": "judge", "api_key_env": "",
           "timeout_s": 2, "rubric": "score it"}
    expect(ModelError, lambda: judge.check_endpoint(cfg), workdir, f"127.0.0.1:{port}")


# -- writes ------------------------------------------------------------------------------------

def test_22_disk_full_during_a_write_keeps_the_old_file(workdir, monkeypatch):
    target = workdir / "runs" / "v0" / "data" / "train.jsonl"

    def full(fd, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs.os, "fsync", full)
    message = expect(RunError, lambda: runs.write_jsonl(target, [{"new": 1}]), workdir, str(target), "No space left")
    assert "untouched" in message
    assert not list(target.parent.glob(".*.tmp"))           # no temp file left behind


def test_25_keep_drop_list_naming_unknown_ids(workdir):
    cfg = params.resolve("v2.1", REPO)
    cfg["root"] = str(REPO)
    chats = load_chats(REPO / "data" / "sample" / "raw.jsonl").chats
    expect(DataError, lambda: curate.curate(chats, cfg, library=patterns.load_library(), persona={},
                                            keep_drop={"keep": ["s0001", "zzz"]}), workdir,
           "curate.keep_drop_file", "zzz")


def test_every_molting_error_says_what_to_do():
    """Every place in lib/ that raises one of our errors gives it a remedy (`fix=`), and the message shows it."""
    import ast

    names = {cls.__name__ for cls in (MoltingError, DataError, ModelError, ParamsError, RunError, SuiteError)}
    missing = []
    for path in sorted((REPO / "lib" / "molting").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) in names:
                if not any(k.arg == "fix" for k in call.keywords):
                    missing.append(f"{path.name}:{node.lineno}")
    assert not missing, f"raised without fix=: {missing}"
    message = str(ParamsError("train.epochs = 0 must be positive", where="params/v1.yaml", fix="set it above 0"))
    assert message == "params/v1.yaml: train.epochs = 0 must be positive\nWhat to do: set it above 0"


def test_26_sweep_fractions_that_are_not_numbers(workdir, capsys, monkeypatch):
    from molting import cli

    before = snapshot(workdir)
    monkeypatch.setenv("MOLTING_ROOT", str(workdir))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sweep", "v1", "--fractions", "0.25,half"])
    assert exit_.value.code == 2       # argparse's usage error, before any params or data are read
    err = capsys.readouterr().err
    assert "argument --fractions: '0.25,half' is not a comma-separated list of numbers, e.g. 0.25,0.5,1.0" in err
    assert "Traceback" not in err and snapshot(workdir) == before
