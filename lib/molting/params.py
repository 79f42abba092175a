"""Version params: load params/<version>.yaml over base.yaml, follow `extends`, each file checked against the schema
(molting.schema: every key's type, range, default and comment)."""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from molting import schema
from molting.errors import ParamsError, yaml_syntax_fix

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

class Config(dict):
    """A nested dict whose keys read as attributes: cfg.train.epochs."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict:
        """Plain nested dicts, for YAML/JSON."""
        return {k: v.to_dict() if isinstance(v, Config) else copy.deepcopy(v) for k, v in self.items()}


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Config({k: _wrap(v) for k, v in value.items()})
    return value


def find_root(start: str | Path | None = None) -> Path:
    """The project folder: $MOLTING_ROOT, else the nearest folder above `start` holding params/base.yaml."""
    if os.environ.get("MOLTING_ROOT"):
        return Path(os.environ["MOLTING_ROOT"]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params" / "base.yaml").is_file():
            return folder
    raise ParamsError("no params/base.yaml found here or in any parent folder", where=str(here),
                      fix="run from inside the Molting project, or set MOLTING_ROOT to its folder")


def check_version_name(version: str) -> str:
    """A version names a file under params/: no path separators, no '..'."""
    if not isinstance(version, str) or not VERSION_RE.match(version) or ".." in version:
        raise ParamsError(f"bad version name {version!r}", where="version",
                          fix="use letters, digits, '.', '_' and '-' only (e.g. v2.1), no '/' or '..'")
    return version


def read_yaml(path: Path) -> Any:
    """Load YAML with the safe loader; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError("file not found", where=str(path), fix="check the name: versions live in params/<version>.yaml, and the "
                          "files a version reads are named by its params (`molt params <version>`)") from None
    except UnicodeDecodeError as exc:
        raise ParamsError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path),
                          fix="save the file as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = str(getattr(exc, "problem", exc))
        raise ParamsError(f"invalid YAML: {problem}", where=where,
                          fix=yaml_syntax_fix(problem, "fix the YAML syntax (indentation, quotes, colons)")) from None


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _deep_merge(base: dict, over: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def version_chain(version: str, root: Path) -> list[tuple[str, dict]]:
    """[(version, its own params), ...] from the oldest ancestor to `version`."""
    chain: list[tuple[str, dict]] = []
    seen: list[str] = []
    current: str | None = version
    while current is not None:
        check_version_name(current)
        if current in seen:
            cycle = " -> ".join([*seen, current])
            raise ParamsError(f"`extends` forms a cycle: {cycle}", where=str(root / "params" / f"{current}.yaml"),
                              fix="make one of these versions extend another version or nothing")
        seen.append(current)
        path = root / "params" / f"{current}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in (root / "params").glob("*.yaml") if p.stem != "base")
            close = difflib.get_close_matches(current, known, n=1)
            child = f" (named by `extends` in params/{seen[-2]}.yaml)" if len(seen) > 1 else ""
            raise ParamsError(f"no params file for version `{current}`{child}", where=str(path),
                              fix=(f"did you mean `{close[0]}`? " if close else "") + f"known versions: {', '.join(known) or 'none'}")
        own = read_yaml(path) or {}
        if not isinstance(own, dict):
            raise ParamsError("the file must be a mapping of keys to values", where=str(path),
                              fix="write `key: value` lines (see params/base.yaml)")
        chain.append((current, own))
        parent = own.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ParamsError(f"extends = {parent!r} should be a version name", where=f"{path}: extends",
                              fix="write `extends: v2.1`")
        current = parent
    return list(reversed(chain))


def resolve(version: str, root: str | Path | None = None) -> Config:
    """The complete, validated params of `version`: the schema's defaults <- params/base.yaml <- ancestors <- version,
    each file checked against the schema (errors name that file)."""
    root = Path(root) if root else find_root()
    base_file = root / "params" / "base.yaml"
    merged = _deep_merge(schema.defaults(), _own(read_yaml(base_file), str(base_file)))
    chain = version_chain(version, root)
    for name, own in chain:
        merged = _deep_merge(merged, _own(own, str(root / "params" / f"{name}.yaml")))
    check_resolved(merged, str(root / "params" / f"{version}.yaml"))
    merged["version"] = version
    merged["extends"] = chain[-1][1].get("extends")
    _check_pattern_names(merged, root, chain)
    return _wrap(merged)


def _own(tree: Any, where: str) -> dict:
    """A params file's own keys (without `extends`), checked against the schema."""
    own = {k: v for k, v in tree.items() if k != "extends"} if isinstance(tree, dict) else tree
    schema.check(own, where)
    return own


def check_resolved(tree: dict, where: str) -> None:
    """Checks across keys, on the complete params: the score's credits must sum to 1."""
    credit = (tree.get("eval") or {}).get("credit") or {}
    if credit and abs(sum(credit.values()) - 1) > 1e-6:
        raise ParamsError(f"eval.credit sums to {sum(credit.values()):g}, not 1", where=f"{where}: eval.credit",
                          fix="make eval.credit.in_voice + eval.credit.facts = 1 (a perfect answer scores 10)")


def _check_pattern_names(merged: dict, root: Path, chain: list[tuple[str, dict]]) -> None:
    """Unknown names in curate.patterns_enabled/disabled stop here, naming the version file that set them."""
    c = merged.get("curate", {})
    if not (c.get("patterns_enabled") or c.get("patterns_disabled")):
        return
    from molting import patterns

    extra = [Path(f) if Path(f).is_absolute() else root / f for f in c.get("patterns_extra", [])]
    try:
        patterns.pattern_states(patterns.load_patterns(extra), c.get("patterns_disabled", []), c.get("patterns_enabled", []))
    except ParamsError as exc:
        key = (exc.where or "").split(": ")[-1].split(".")[-1]
        source = _set_by(root, chain, f"curate.{key}")
        raise ParamsError(exc.what, where=f"{source}: {exc.where}" if key.startswith("patterns_") else exc.where,
                          fix=exc.fix) from None


def _set_by(root: Path, chain: list[tuple[str, dict]], dotted: str) -> str:
    """The params file a key's value comes from: the nearest version in the chain that sets it, else base.yaml."""
    section, key = dotted.split(".")
    setters = [name for name, own in chain if key in (own.get(section) or {})]
    return str(root / "params" / f"{setters[-1]}.yaml") if setters else str(root / "params" / "base.yaml")


def check_files(cfg: Config, root: Path, stages: Iterable[str] | None = None) -> None:
    """Every file a version's params name for `stages` (default: all) exists under the project `root`, and the
    version report.compare_to names: checked before a run starts, since a misspelt eval.probe otherwise stopped the
    run at 03-evaluate, after curation and training (and in `molt run v1 v2`, after v1 had run). A file only an
    earlier stage reads is not asked for: `--only 02-train` retrains although the raw data has moved since."""
    root = Path(root)
    cfg = Config({**cfg, "root": str(root)})
    for dotted in schema.path_keys(stages):   # the keys naming files the stages read: a path, a list of them, or null
        section, key = dotted.split(".")
        value = getattr(getattr(cfg, section), key)
        for name in [value] if isinstance(value, str) else list(value or []):
            if not project_path(cfg, name, dotted).exists():
                source = _set_by(root, version_chain(cfg.version, root), dotted)
                raise ParamsError(f"{dotted} names {name!r}, which does not exist", where=f"{source}: {dotted}",
                                  fix=f"check the path (a relative one is read from the project folder, {root}); "
                                      "nothing has run yet")
    other = cfg.report.compare_to   # a misspelt version here left the report without its comparison
    if other and not (root / "params" / f"{other}.yaml").is_file():
        known = sorted(p.stem for p in (root / "params").glob("*.yaml") if p.stem != "base")
        close = difflib.get_close_matches(other, known, n=1)
        raise ParamsError(f"report.compare_to names version `{other}`, which has no params file",
                          where=f"{_set_by(root, version_chain(cfg.version, root), 'report.compare_to')}: report.compare_to",
                          fix=(f"did you mean `{close[0]}`? " if close else "") + f"known versions: {', '.join(known)}")


def load(version: str, params_file: str | Path | None = None, root: str | Path | None = None) -> Config:
    """Params for a notebook: the run's resolved snapshot (runs/<version>/params.yaml, the one file the runner
    hands the notebooks) when given, else resolved from params/<version>.yaml and its parents."""
    root_path = Path(root) if root else find_root()
    if params_file:
        where = str(params_file)
        snapshot = read_yaml(Path(params_file))
        if not isinstance(snapshot, dict):
            raise ParamsError("a run's params file must be a mapping", where=where,
                              fix=f"rerun `molt run {version}`, which writes it from params/{version}.yaml")
        merged = schema.check({k: v for k, v in snapshot.items() if k not in ("version", "extends")}, where)
        check_resolved(merged, where)
        cfg = _wrap(merged)
        cfg["version"] = snapshot.get("version", version)
        cfg["extends"] = snapshot.get("extends")
    else:
        cfg = resolve(version, root_path)
    cfg["root"] = str(root_path)
    return cfg


def diff(a: Config, b: Config) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every key that differs."""
    fa, fb = _flatten(a.to_dict()), _flatten(b.to_dict())
    ignore = {"version", "root", "extends"}
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
            if k not in ignore and fa.get(k) != fb.get(k)]


def to_yaml(cfg: Config) -> str:
    """The resolved params as YAML (what runs/<version>/params.yaml holds)."""
    tree = cfg.to_dict()
    tree.pop("root", None)
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


def project_path(cfg: Config, value: str, key: str = "path") -> Path:
    """A params path: relative ones are under the project and may not climb out of it; absolute ones are taken as given."""
    root = Path(cfg.root).resolve()
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    resolved = (root / path).resolve()
    if resolved != root and root not in resolved.parents:
        raise ParamsError(f"{key} = {value!r} points outside the project", where=key,
                          fix="use a path inside the project, or an absolute path if you mean one outside it")
    return resolved
