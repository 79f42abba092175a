"""Checking a YAML file against a pydantic model, with errors in Molting's words.

Every file Molting reads from the user (params, question suites, probe sets, keep/drop lists, pattern files) is
described by a model built on `Strict` (unknown keys are errors, nothing is coerced to another type) and checked by
`validate`, which turns pydantic's first error into our error class: the file, the item (`question who`) and the
dotted key, the value given, what the key takes, and the closest valid key for a typo.
"""

from __future__ import annotations

import difflib
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from molting.errors import MoltingError, ParamsError


class Invalid(ValueError):
    """A check of ours inside a model (a bad regex, a duplicate id), with what to do about it."""

    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.fix = fix


class Strict(BaseModel):
    """A mapping in a user's file: unknown keys are errors, no value is coerced to another type; a key with
    nothing under it (`curate:`) keeps the defaults."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_mapping(cls, value: Any) -> Any:
        return {} if value is None else value


def _text(value: str) -> str:
    if not value.strip():
        raise Invalid("must be non-empty text", fix="write the text after the colon")
    return value.strip()


Text = Annotated[str, AfterValidator(_text)]   # non-empty, stripped


def items(word: str, key: str = "id", **field: Any) -> Any:
    """A list field whose entries errors name by `word` and their `key` (`question who`, `item #3`)."""
    return Field(json_schema_extra={"item": word, "item_key": key}, **field)


def unique(word: str, key: str = "id") -> AfterValidator:
    """For `Annotated[list[...], unique("question")]`: an Invalid naming the first `key` two entries share."""
    def check(entries: list) -> list:
        seen: set = set()
        for entry in entries:
            if getattr(entry, key) in seen:
                raise Invalid(f"two {word}s have the {key} {getattr(entry, key)!r}", fix=f"give each {word} a unique `{key}`")
            seen.add(getattr(entry, key))
        return entries
    return AfterValidator(check)


def validate(model: type[BaseModel], data: Any, where: str, error: type[MoltingError] = ParamsError) -> Any:
    """`data` checked against `model`: the model instance, or an `error` naming `where` and what to write."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise explain(model, exc.errors()[0], data, where, error) from None


def explain(root: type[BaseModel], err: dict, data: Any, where: str, error: type[MoltingError]) -> MoltingError:
    """One pydantic error in our words."""
    model: type[BaseModel] | None = root
    base = root                                   # the mapping the dotted names start from (the file, or an entry)
    field = None
    names: list[str] = []
    value: Any = data
    for part in err["loc"]:                   # the loc can continue past the field into union branches
        if isinstance(part, int) and field is not None and _item_word(field):
            entry = value[part] if isinstance(value, list) and part < len(value) else None
            ident = entry.get(field.json_schema_extra.get("item_key", "id")) if isinstance(entry, dict) else None
            where = f"{where}: {_item_word(field)} {ident if isinstance(ident, str) and ident else f'#{part + 1}'}"
            model, field, names, value = _model(field.annotation), None, [], entry
            base = model
            continue
        if isinstance(part, str) and field is not None and typing.get_origin(field.annotation) is dict and value is not None:
            names.append(part)                    # a key of a free mapping (a vocabulary's name)
            value = value.get(part) if isinstance(value, dict) else None
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            if err["type"] == "extra_forbidden" and isinstance(part, str) and model is not None:
                names.append(part)
            break
        names.append(part)
        field = model.model_fields[part]
        value = value.get(part) if isinstance(value, dict) else None
        model = _model(field.annotation) if not _item_word(field) else model
    dotted = ".".join(names)
    kind = err["type"]
    if kind == "extra_forbidden":
        close = _closest(dotted, base)
        known = ", ".join(f"`{k}`" for k in (model or base).model_fields)
        return error(f"unknown key `{dotted}`", where=where, fix=f"did you mean `{close[0]}`?" if close else f"use only {known}")
    if kind == "value_error" and isinstance((err.get("ctx") or {}).get("error"), Invalid):
        invalid = err["ctx"]["error"]
        return error(f"{dotted}: {invalid}" if dotted else str(invalid), where=where, fix=invalid.fix)
    if kind == "missing":
        return error(f"missing `{dotted}`", where=where, fix=f"add `{names[-1]}:` ({_description(field)})")
    if not names:
        return error("must be a mapping of keys to values", where=where,
                     fix=f"write `key: value` lines with the keys {', '.join(f'`{k}`' for k in root.model_fields)}")
    if field is not None and _model(field.annotation) and not _item_word(field):
        return error(f"{dotted} should be a mapping of keys", where=where, fix=f"indent the keys of `{dotted}` under it")
    if kind == "too_short":
        return error(f"`{dotted}` must not be empty", where=where, fix=f"give at least one ({_description(field)})")
    what = _kind(field)
    if value is None:
        return error(f"{dotted} must not be null", where=where, fix=f"give {dotted} {what}")
    if _kind_given(field):
        return error(f"{dotted} = {value!r} should be {what}", where=where, fix=f"write {dotted} as {what}")
    bounds = _bounds(field.annotation, field.metadata) if field else set()
    if kind in ("greater_than", "greater_than_equal", "less_than_equal") and bounds:
        if "le" in bounds:
            return error(f"{dotted} = {value!r} must be between 0 and 1", where=where, fix="use a fraction such as 0.25")
        if "gt" in bounds:
            return error(f"{dotted} = {value!r} must be positive", where=where, fix=f"set {dotted} above 0")
        return error(f"{dotted} = {value!r} must not be negative", where=where, fix=f"set {dotted} to 0 or more")
    choices = _choices(field.annotation) if field else None
    if choices:
        return error(f"{dotted} = {value!r} is not one of {choices}", where=where, fix=f"set {dotted} to one of {choices}")
    fix = f"write {dotted} as {what}"
    if what in ("a number", "an integer") and isinstance(value, str) and _number(value) is not None:
        fix = f"write `{names[-1]}: {_number(value)!r}` (YAML reads {value} as text: unquoted, with a dot)"
    return error(f"{dotted} = {value!r} should be {what}", where=where, fix=fix)


def _item_word(field: Any) -> str | None:
    return ((field.json_schema_extra or {}) if field else {}).get("item")


def _description(field: Any) -> str:
    return ((field.description or "").split("\n")[0] if field else "") or "see the shipped example"


def _model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: itself, or the entries of a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        return _model(typing.get_args(annotation)[0])
    while typing.get_origin(annotation) is Annotated:
        return _model(typing.get_args(annotation)[0])
    return None


def dotted_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a model, dotted (train.epochs); lists of entries count as one key."""
    keys = []
    for name, field in model.model_fields.items():
        sub = _model(field.annotation) if not _item_word(field) else None
        keys.extend(dotted_keys(sub, f"{prefix}{name}.") if sub else [f"{prefix}{name}"])
    return keys


def _closest(dotted: str, base: type[BaseModel]) -> list[str]:
    """The valid key a typo most likely meant: a dotted key, a top-level key or section, or (for a top-level
    name that is a section's key, `epochs:` for `train.epochs`) the dotted key it belongs under."""
    if "." in dotted:
        return difflib.get_close_matches(dotted, dotted_keys(base), n=1, cutoff=0.5)
    close = difflib.get_close_matches(dotted, list(base.model_fields), n=1, cutoff=0.6)
    if close:
        return close
    leaves = {key.rsplit(".", 1)[-1]: key for key in dotted_keys(base) if "." in key}
    return [leaves[name] for name in difflib.get_close_matches(dotted, list(leaves), n=1, cutoff=0.75)]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _bounds(annotation: Any, metadata: list) -> set[str]:
    """Which of gt/ge/le constrain a key (in its metadata or inside an Optional)."""
    found = set()
    for m in metadata:                             # annotated-types' Gt/Ge/Le, or a FieldInfo holding them
        found |= {name for name in ("gt", "ge", "le") if getattr(m, name, None) is not None}
        found |= _bounds(None, list(getattr(m, "metadata", None) or []))
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Annotated:
            found |= _bounds(arg, list(arg.__metadata__))
    return found


def _kind_given(field: Any) -> str | None:
    """The wording a key's `kind` gives for its value, if any."""
    return ((field.json_schema_extra or {}) if field else {}).get("kind")


def _kind(field: Any) -> str:
    if _kind_given(field):
        return _kind_given(field)
    annotation = field.annotation if field else Any
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if typing.get_origin(annotation) is Union and len(args) == 1 else annotation
    while typing.get_origin(base) is Annotated:
        base = typing.get_args(base)[0]
    if typing.get_origin(base) is list:
        return "a list of strings, e.g. [persona_format]"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(base, "a valid value")


def _choices(annotation: Any) -> list | None:
    """The values a choice key takes (Literal words, and true/false where it also takes a bool), else None."""
    values: list = []
    stack = [annotation]
    while stack:
        current = stack.pop(0)
        origin = typing.get_origin(current)
        if origin is Literal:
            values.extend(typing.get_args(current))
        elif origin is Union:
            stack.extend(typing.get_args(current))
        elif origin is Annotated and typing.get_args(current)[0] is bool:
            values.extend([True, False])
        elif origin is Annotated:
            stack.append(typing.get_args(current)[0])
        elif current is not type(None) and origin is None and current is not bool:
            return None                            # takes other values too (a number, a list): not a choice key
    return values or None
