"""Load raw chat data in any common format and normalise it to chats: {id, messages, source}.

Formats (detected per row, or fixed by `data.format`):
- messages:          {"messages": [{"role": "user"|"assistant"|"system", "content": str}, ...]}; content may also be
                     a list of parts (OpenAI, Anthropic: the text parts are kept), and agent logs' tool use is kept
                     as text: OpenAI `tool_calls` (content null) and `tool` turns, Anthropic `tool_use` and
                     `tool_result` parts (see TOOL_CALL); the same turns under "conversation" (LMSYS-Chat-1M,
                     WildChat, with "conversation_id" as the id) or as a bare list
- sharegpt:          {"conversations": [{"from": "human"|"gpt"|"system", "value": str}, ...]}; also `function_call`
                     and `observation` turns (LLaMA-Factory)
- alpaca:            {"instruction": str, "input": str (optional), "output": str}
- prompt_completion: {"prompt": str, "completion": str}
- pair:              one exchange per row under other common names: a prompt field (prompt, question, query,
                     instruction, input, user, human), a reply field (response, answer, output, completion, reply,
                     assistant, gpt), optionally a context (Dolly: instruction/context/response) and a system prompt
                     (system, system_prompt: OpenOrca); FAQ and Q&A exports (question/answer), MetaMathQA
                     (query/response). Detected only where the names leave no doubt (one prompt, one reply field).
- your own field names (`data.columns`): prompt + response (+ system), or messages (a field holding the turns,
                     {role, content} or {from, value}); every row is then read with them.
Files: .jsonl, .json (a list of rows), .csv (each also compressed: .gz, .bz2, .xz), .parquet, or a folder
written by `datasets`.
JSONL is validated line by line here, before anything else, so an error names the file's own line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molting.errors import DataError

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bot": "assistant", "model": "assistant", "system": "system"}
ROLES = ("system", "user", "assistant")
# Field names of one prompt/reply exchange in common public sets and exports, in the order they are tried
PAIR_PROMPTS = ("prompt", "question", "query", "instruction", "input", "user", "human")
PAIR_REPLIES = ("response", "answer", "output", "completion", "reply", "assistant", "gpt")
PAIR_CONTEXTS = ("context", "input")   # extra text for an `instruction` (Dolly's context, Alpaca's input)
PAIR_SYSTEMS = ("system", "system_prompt")
COLUMN_KEYS = ("prompt", "response", "system", "messages")
# Tool use in agent logs, written as Hermes-style chat templates (Qwen2.5, Hermes) write it: the call in the assistant's
# turn, its result in a user turn. The pattern library's tool_call_syntax flags such turns, so curation can see them.
TOOL_CALL = "<tool_call>\n{}\n</tool_call>"
TOOL_RESPONSE = "<tool_response>\n{}\n</tool_response>"
TOOL_RESULT_ROLES = ("tool", "function", "ipython", "observation")   # OpenAI (and its older name), Llama 3.1, ShareGPT


@dataclass
class LoadResult:
    """Chats loaded from one file (or several: `parts`), plus the rows skipped under on_bad_lines=skip."""

    chats: list[dict]
    skipped: list[dict] = field(default_factory=list)   # {line, reason, preview}, and {file} where several were read
    path: str = ""
    detected_formats: dict[str, int] = field(default_factory=dict)
    parts: list[LoadResult] = field(default_factory=list)   # one per file, where data.raw lists several
    name: str = ""   # the file as the params name it (load_setting)

    @property
    def paths(self) -> list[str]:
        """Every file read."""
        return [part.path for part in self.parts] if self.parts else [self.path]

    def file_rows(self) -> list[dict]:
        """One row per file read: chats, skipped lines, formats (for 01-curate's table)."""
        return [{"file": part.name or part.path, "chats": len(part.chats), "skipped lines": len(part.skipped),
                 "formats": part.detected_formats} for part in (self.parts or [self])]


def _preview(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _role_turns(value: Any) -> bool:
    """A list of turns with `role` keys: the messages format under another name (or none)."""
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) and "role" in t for t in value)


def _message_turns(row: Any) -> tuple[Any, str]:
    """The turns of a row in the messages format and the name to report them by."""
    if isinstance(row, list):
        return row, "messages"
    return (row.get("messages"), "messages") if "messages" in row else (row.get("conversation"), "conversation")


def detect_format(row: Any) -> str | None:
    """The chat format a row is in, or None if it matches none."""
    if _role_turns(row):                  # a bare list of turns
        return "messages"
    if not isinstance(row, dict):
        return None
    if "messages" in row or _role_turns(row.get("conversation")):   # LMSYS-Chat-1M and WildChat say "conversation"
        return "messages"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    return "pair" if pair_fields(row) else None


def pair_fields(row: dict) -> dict[str, str | None] | None:
    """The fields of a row that is one prompt/reply exchange under common names ({prompt, response, context,
    system}), or None where it is not one, or the names leave a doubt (two reply fields, two prompt fields)."""
    prompts = [k for k in PAIR_PROMPTS if k in row]
    replies = [k for k in PAIR_REPLIES if k in row]
    context = None
    if prompts == ["instruction", "input"]:   # Alpaca's input beside another reply name
        prompts, context = ["instruction"], "input"
    elif prompts == ["instruction"]:
        context = next((k for k in PAIR_CONTEXTS if k in row), None)
    if len(prompts) != 1 or len(replies) != 1:
        return None
    return {"prompt": prompts[0], "response": replies[0], "context": context,
            "system": next((k for k in PAIR_SYSTEMS if k in row), None)}


def columns_set(columns: Any) -> dict[str, str]:
    """The fields `data.columns` names (those not null)."""
    return {k: v for k, v in (columns or {}).items() if k in COLUMN_KEYS and v}


def _require_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"`{name}` should be text but is {type(value).__name__}")
    return value


def _tool_call(name: Any, arguments: Any) -> str:
    """A tool call as text, the way Hermes-style chat templates (Qwen2.5, Hermes) write it into the assistant's turn."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            pass
    return TOOL_CALL.format(json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False))


def _content_text(content: Any, name: str) -> str:
    """A turn's text: a string, or a list of content parts (OpenAI, Anthropic) whose text parts are joined by a line
    break, tool use and tool results written as tool calls and responses; images, audio and files carry no voice
    and are left out."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError(f"`{name}` should be text or a list of content parts but is {type(content).__name__}")
    pieces = []
    for j, part in enumerate(content):
        if isinstance(part, str):
            pieces.append(part)
        elif not isinstance(part, dict):
            raise ValueError(f"`{name}[{j}]` is {type(part).__name__}, not a content part")
        elif part.get("type") in ("text", "input_text", "output_text"):
            pieces.append(_require_text(part.get("text"), f"{name}[{j}].text"))
        elif part.get("type") == "tool_use":
            pieces.append(_tool_call(part.get("name"), part.get("input")))
        elif part.get("type") == "tool_result":
            pieces.append(TOOL_RESPONSE.format(_content_text(part.get("content", ""), f"{name}[{j}].content")))
    return "\n".join(piece for piece in pieces if piece)


def _normalise_turns(turns: Any, role_key: str, text_key: str, role_map: dict[str, str] | None, field_name: str) -> list[dict]:
    if isinstance(turns, str):
        raise ValueError(f"`{field_name}` is a single string, not a list of turns (often a YAML/JSON indentation slip)")
    if not isinstance(turns, list) or not turns:
        raise ValueError(f"`{field_name}` should be a non-empty list of turns")
    messages: list[dict] = []
    after_result = False   # the last turn was a tool's result
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ValueError(f"turn {i} of `{field_name}` is {type(turn).__name__}, not an object")
        calls = turn.get("tool_calls") or ([turn["function_call"]] if isinstance(turn.get("function_call"), dict) else [])
        if role_key not in turn or (text_key not in turn and not calls):
            raise ValueError(f"turn {i} of `{field_name}` lacks `{role_key}` or `{text_key}`")
        raw_role = str(turn[role_key]).strip().lower()
        role = role_map.get(raw_role, raw_role) if role_map else raw_role
        where = f"{field_name}[{i}].{text_key}"
        if role in TOOL_RESULT_ROLES:      # a tool's output is context for the next reply: a user turn, as templates do
            text = TOOL_RESPONSE.format(_content_text(turn[text_key], where))
            if after_result:               # parallel calls: their results in one turn
                messages[-1]["content"] += "\n" + text
            else:
                messages.append({"role": "user", "content": text})
            after_result = True
            continue
        after_result = False
        if role == "function_call":        # ShareGPT's tool call turn: its value is the call's JSON
            call = _require_text(turn[text_key], where)
            role, text = "assistant", TOOL_CALL.format(call.strip())
        elif role not in ROLES:
            raise ValueError(f"turn {i} has unknown role `{turn[role_key]}` (expected one of {', '.join(ROLES)}, or a "
                             f"tool's: {', '.join(TOOL_RESULT_ROLES)})")
        elif calls:                        # OpenAI: content may be null beside the calls
            content = turn.get(text_key)
            text = "" if content is None else _content_text(content, where)
            for call in calls:
                function = call.get("function", call) if isinstance(call, dict) else {}
                text += ("\n" if text else "") + _tool_call(function.get("name"), function.get("arguments"))
        else:
            text = _content_text(turn[text_key], where)
        messages.append({"role": role, "content": text})
    return messages


def check_roles(messages: list[dict]) -> None:
    """A chat is: optional system, then user/assistant alternating from user, with an assistant turn."""
    body = messages[1:] if messages and messages[0]["role"] == "system" else messages
    if any(m["role"] == "system" for m in body):
        raise ValueError("a system turn appears after the first turn")
    if not any(m["role"] == "assistant" for m in body):
        raise ValueError("the chat has no assistant turn, so there is nothing to learn from it")
    for i, message in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise ValueError(f"roles out of order at turn {i + (len(messages) - len(body))}: "
                             f"expected {expected}, found {message['role']}")


def _pair_messages(row: dict, prompt: str, response: str, context: str | None = None,
                   system: str | None = None) -> list[dict]:
    """One exchange from the row's fields: the context (if any, and not empty) after the prompt, the system prompt first."""
    text = _require_text(row.get(prompt), prompt)
    extra = row.get(context) if context else None
    text = f"{text}\n\n{_require_text(extra, context)}" if extra else text
    messages = [{"role": "user", "content": text}, {"role": "assistant", "content": _require_text(row.get(response), response)}]
    if system and row.get(system):
        messages.insert(0, {"role": "system", "content": _require_text(row[system], system)})
    return messages


class MissingField(ValueError):
    """A row lacks a field data.columns names: most often the setting, not the row, is wrong."""


def _column_messages(row: dict, columns: dict[str, str]) -> list[dict]:
    """A row read with the fields `data.columns` names."""
    missing = [f"`{name}` (data.columns.{key})" for key, name in columns.items() if key != "system" and name not in row]
    if missing:
        raise MissingField(f"the row has no field {' or '.join(missing)}")
    if "messages" in columns:
        turns = row[columns["messages"]]
        sharegpt = isinstance(turns, list) and bool(turns) and isinstance(turns[0], dict) and "from" in turns[0]
        messages = (_normalise_turns(turns, "from", "value", SHAREGPT_ROLES, columns["messages"]) if sharegpt else
                    _normalise_turns(turns, "role", "content", None, columns["messages"]))
        system = columns.get("system")
        if system and row.get(system) and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": _require_text(row[system], system)})
        return messages
    return _pair_messages(row, columns["prompt"], columns["response"], system=columns.get("system"))


def normalise(row: Any, fmt: str, columns: dict[str, str] | None = None) -> list[dict]:
    """A row in `fmt` (or read with `columns`, the fields data.columns names) as a list of {role, content}
    messages (raises ValueError saying what is wrong)."""
    if not isinstance(row, dict) and not (fmt == "messages" and isinstance(row, list)):   # a bare list of turns
        raise ValueError(f"the row is {type(row).__name__}, not an object")
    if columns:
        messages = _column_messages(row, columns)
    elif fmt == "messages":
        turns, field_name = _message_turns(row)
        messages = _normalise_turns(turns, "role", "content", None, field_name)
        if isinstance(row, dict) and isinstance(row.get("system"), str) and row["system"] and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": row["system"]})   # Anthropic keeps it beside the turns
    elif fmt == "sharegpt":
        messages = _normalise_turns(row.get("conversations"), "from", "value", SHAREGPT_ROLES, "conversations")
    elif fmt == "alpaca":
        messages = _pair_messages(row, "instruction", "output", "input", "system")
    elif fmt == "prompt_completion":
        messages = _pair_messages(row, "prompt", "completion")
    elif fmt == "pair":
        fields = pair_fields(row)
        if fields is None:
            raise ValueError("the row has no single prompt and reply field "
                             f"(prompt: one of {', '.join(PAIR_PROMPTS)}; reply: one of {', '.join(PAIR_REPLIES)})")
        messages = _pair_messages(row, **fields)
    else:
        raise ValueError(f"unknown format {fmt}")
    check_roles(messages)
    return messages


def _read_jsonl_rows(path: Path) -> list[tuple[int, Any, str]]:
    """(line number, parsed row or an Exception, raw line) for each non-blank line."""
    raw = _file_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM is harmless: drop it rather than fail line 1
        raw = raw[3:]
    rows = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            rows.append((number, DataError(f"line {number} is not UTF-8 (byte {exc.start}: {line[exc.start:exc.start + 1]!r})",
                                           where=f"{path}:{number}", fix="re-export the file as UTF-8 (e.g. iconv -t UTF-8)"),
                         line.decode("utf-8", "replace")))
            continue
        try:
            rows.append((number, json.loads(text), text))
        except json.JSONDecodeError as exc:
            rows.append((number, DataError(f"line {number} is not valid JSON ({exc.msg} at column {exc.colno}): {_preview(text)}",
                                           where=f"{path}:{number}",
                                           fix="fix or delete that line, or set data.on_bad_lines: skip"), text))
    return rows


# compressed text files, as large chat dumps and agent logs often come: read through the standard library's codecs
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed where its name ends in .gz, .bz2 or .xz."""
    codec = COMPRESSED.get(path.suffix.lower())
    if codec is None:
        return path.read_bytes()
    import importlib

    try:
        return importlib.import_module(codec).decompress(path.read_bytes())
    except (OSError, EOFError, ValueError) as exc:   # gzip: BadGzipFile (OSError), EOFError; bz2/lzma: OSError, LZMAError
        raise DataError(f"cannot decompress this {path.suffix} file ({exc})", where=str(path),
                        fix=f"check the file is whole (e.g. `{codec if codec != 'lzma' else 'xz'} -t {path.name}`), "
                            "or give it uncompressed") from None


def _data_suffix(path: Path) -> str:
    """The file type: .jsonl for chats.jsonl and for chats.jsonl.gz."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _read_rows(path: Path) -> list[tuple[int, Any, str]]:
    """Rows of any supported file as (row number, row, preview text)."""
    suffix = _data_suffix(path)
    if path.is_dir():
        try:
            import datasets

            dataset = datasets.load_from_disk(str(path))
        except Exception as exc:  # datasets raises several types for a folder it did not write
            raise DataError(f"not a folder written by `datasets` ({exc})", where=str(path),
                            fix="point data.raw to a .jsonl/.json/.csv/.parquet file or a save_to_disk folder") from None
        if isinstance(dataset, datasets.DatasetDict):
            dataset = dataset["train"] if "train" in dataset else next(iter(dataset.values()))
        return [(i + 1, row, json.dumps(row, ensure_ascii=False)[:200]) for i, row in enumerate(dataset)]
    if suffix == ".jsonl":
        return _read_jsonl_rows(path)
    if suffix == ".json":
        try:
            data = json.loads(_file_bytes(path).decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 (byte {exc.start})", where=str(path), fix="re-export the file as UTF-8") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where=f"{path}:{exc.lineno}",
                            fix="fix the JSON (a .json file holds one list of rows; use .jsonl for one row per line)") from None
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None) if "messages" not in data else [data]
        if _role_turns(data):
            data = [data]   # one chat saved as its list of turns
        if not isinstance(data, list):
            raise DataError("a .json file must hold a list of rows", where=str(path), fix="wrap the rows in [ ... ]")
        return [(i + 1, row, json.dumps(row, ensure_ascii=False)[:200]) for i, row in enumerate(data)]
    if suffix == ".csv":
        try:
            reader = csv.DictReader(io.StringIO(_file_bytes(path).decode("utf-8-sig"), newline=""))
            # line numbers are the file's: the header is line 1
            rows = [(reader.line_num, dict(row), json.dumps(row, ensure_ascii=False)[:200]) for row in reader]
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 (byte {exc.start})", where=str(path), fix="re-export the file as UTF-8") from None
        for _, row, _ in rows:
            for key in ("messages", "conversations"):
                if isinstance(row.get(key), str) and row[key].lstrip().startswith("["):
                    try:
                        row[key] = json.loads(row[key])
                    except json.JSONDecodeError:
                        pass
        return rows
    if suffix == ".parquet" and path.suffix.lower() == ".parquet":   # parquet compresses inside the file
        import pandas as pd

        frame = pd.read_parquet(path)
        return [(i + 1, _plain(row), json.dumps(_plain(row), ensure_ascii=False, default=str)[:200])
                for i, row in enumerate(frame.to_dict(orient="records"))]
    shown = suffix + (path.suffix.lower() if path.suffix.lower() in COMPRESSED else "")
    raise DataError(f"unknown file type `{shown or '(none)'}`", where=str(path),
                    fix="use .jsonl, .json, .csv (each also as .gz, .bz2 or .xz), .parquet or a datasets folder")


def _plain(value: Any) -> Any:
    """numpy arrays from parquet as plain lists, recursively."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unknown_format_fix(row: Any) -> str:
    """What to do about a row in no format we know."""
    if isinstance(row, dict) and "role" in row:   # one turn per row: the chat was split up
        return 'each row must be a whole chat: put its turns in one row as {"messages": [{"role": ..., "content": ...}, ...]}'
    if isinstance(row, dict) and "text" in row:
        return ("a `text` field holds a chat already written out by a chat template; Molting needs its turns (it applies "
                "the model's own template): export the chats as messages, or name your fields in data.columns")
    return ("use messages (or conversation, as LMSYS and WildChat), conversations (ShareGPT), instruction/output "
            "(Alpaca), prompt/completion or question/answer, or name your fields in data.columns (prompt: <field>, "
            "response: <field>; or messages: <field>)")


def load_chats(path: str | Path, fmt: str = "auto", on_bad_lines: str = "error", source: str = "raw",
               columns: Any = None, id_prefix: str | None = None) -> LoadResult:
    """Read a raw data file into normalised chats; bad rows raise (naming file and line) or are skipped. `columns`
    (data.columns: prompt, response, system, messages) names the fields of rows in a format of the user's own.
    A row without an id gets `<id_prefix or source>-<line>`."""
    path = Path(path)
    columns = columns_set(columns)
    if not path.exists():
        raise DataError("file not found", where=str(path), fix="check data.raw in the version's params")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError("the file is empty", where=str(path), fix="point data.raw to a file with chats in it")
    rows = _read_rows(path)
    if not rows:
        raise DataError("the file holds no rows", where=str(path), fix="point data.raw to a file with chats in it")
    result = LoadResult(chats=[], path=str(path))
    seen_ids: set[str] = set()
    for number, row, text in rows:
        where = f"{path}:{number}"
        try:
            if isinstance(row, DataError):
                raise row
            row_format = "columns" if columns else fmt if fmt != "auto" else detect_format(row)
            if row_format is None:
                keys = ", ".join(sorted(row)) if isinstance(row, dict) else type(row).__name__
                raise DataError(f"unknown chat format (keys: {keys}): {_preview(text)}", where=where,
                                fix=_unknown_format_fix(row))
            try:
                messages = normalise(row, row_format, columns)
            except MissingField as exc:
                raise DataError(f"{exc}: {_preview(text)}", where=where,
                                fix=f"check data.columns in the version's params: this row's fields are "
                                    f"{', '.join(sorted(row))}") from None
            except ValueError as exc:
                how = "the fields data.columns names" if columns else f"{row_format} format"
                raise DataError(f"{exc}: {_preview(text)}", where=where,
                                fix=f"fix that row ({how}), or set data.on_bad_lines: skip") from None
        except DataError as exc:
            if on_bad_lines == "skip":
                result.skipped.append({"line": number, "reason": exc.what, "preview": _preview(text)})
                continue
            raise
        given = next((row.get(k) for k in ("id", "conversation_id") if row.get(k) not in (None, "")), None) \
            if isinstance(row, dict) else None
        chat_id = str(given) if given is not None else f"{id_prefix or source}-{number:05d}"
        if chat_id in seen_ids:
            chat_id = f"{chat_id}@{number}"
        seen_ids.add(chat_id)
        result.detected_formats[row_format] = result.detected_formats.get(row_format, 0) + 1
        result.chats.append({"id": chat_id, "messages": messages, "source": source})
    if not result.chats:
        raise DataError(f"no usable chats: all {len(rows)} rows were skipped (first: line {result.skipped[0]['line']}, "
                        f"{result.skipped[0]['reason']})", where=str(path), fix="fix the rows or check data.format")
    return result


def load_setting(cfg: Any, key: str, source: str = "raw", on_bad_lines: str | None = None) -> LoadResult:
    """The chats of the file a params key names (data.raw, data.test_chats, curate.synthetic_file), read as the
    version says: data.format, data.columns, data.on_bad_lines (unless `on_bad_lines` is given). Where the key lists
    several files (data.raw: [logs.jsonl, notes.csv]), their chats are read one file after the other (`merge`)."""
    from molting.params import project_path

    section, name = key.split(".")
    value = cfg[section][name]
    files = [value] if isinstance(value, str) else list(value)
    loads = [load_chats(project_path(cfg, file, key), cfg.data.format, on_bad_lines or cfg.data.on_bad_lines, source,
                        cfg.data.columns, id_prefix=Path(file).name.split(".")[0] if len(files) > 1 else None)
             for file in files]
    for load, file in zip(loads, files):
        load.name = file
    return loads[0] if len(loads) == 1 else merge(loads, files)


def merge(loads: list[LoadResult], names: list[str]) -> LoadResult:
    """Several files' chats as one load: each chat carries the file it came from (`origin`, as params name it), ids
    stay unique (a repeated one gets `@<file>`), skipped lines name their file."""
    chats: list[dict] = []
    seen: set[str] = set()
    formats: dict[str, int] = {}
    for load, name in zip(loads, names):
        for chat in load.chats:
            chat_id = chat["id"]
            while chat_id in seen:
                chat_id = f"{chat_id}@{Path(name).name}"
            seen.add(chat_id)
            chats.append({**chat, "id": chat_id, "origin": name})
        for fmt, n in load.detected_formats.items():
            formats[fmt] = formats.get(fmt, 0) + n
    skipped = [{"file": name, **row} for load, name in zip(loads, names) for row in load.skipped]
    return LoadResult(chats, skipped, ", ".join(load.path for load in loads), formats, parts=loads)


def with_system_prompt(messages: list[dict], system_prompt: str | None) -> list[dict]:
    """Add the params' system turn where a chat has none (None keeps the chat template's default)."""
    if system_prompt is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


def assistant_text(chat: dict) -> str:
    """All assistant turns of a chat, joined."""
    return "\n".join(m["content"] for m in chat["messages"] if m["role"] == "assistant")


def user_text(chat: dict) -> str:
    """The user turns of a chat, joined."""
    return " ".join(m["content"] for m in chat["messages"] if m["role"] == "user")


def chat_text(chat: dict) -> str:
    """The whole chat as plain text (for dedup and leakage checks)."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in chat["messages"])
