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
# Tool use in agent logs, written as Hermes-style chat templates (Qwen2.5, Hermes) write it: the call in the assistant's
# turn, its result in a user turn. The pattern library's tool_call_syntax flags such turns, so curation can see them.
TOOL_CALL = "<tool_call>\n{}\n</tool_call>"
TOOL_RESPONSE = "<tool_response>\n{}\n</tool_response>"
TOOL_RESULT_ROLES = ("tool", "function", "ipython", "observation")   # OpenAI (and its older name), Llama 3.1, ShareGPT


@dataclass
class LoadResult:
    """Chats loaded from one file, plus the rows skipped under on_bad_lines=skip."""

    chats: list[dict]
    skipped: list[dict] = field(default_factory=list)   # {line, reason, preview}
    path: str = ""
    detected_formats: dict[str, int] = field(default_factory=dict)


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
    return None


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


def normalise(row: Any, fmt: str) -> list[dict]:
    """A row in `fmt` as a list of {role, content} messages (raises ValueError saying what is wrong)."""
    if not isinstance(row, dict) and not (fmt == "messages" and isinstance(row, list)):   # a bare list of turns
        raise ValueError(f"the row is {type(row).__name__}, not an object")
    if fmt == "messages":
        turns, field_name = _message_turns(row)
        messages = _normalise_turns(turns, "role", "content", None, field_name)
        if isinstance(row, dict) and isinstance(row.get("system"), str) and row["system"] and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": row["system"]})   # Anthropic keeps it beside the turns
    elif fmt == "sharegpt":
        messages = _normalise_turns(row.get("conversations"), "from", "value", SHAREGPT_ROLES, "conversations")
    elif fmt == "alpaca":
        prompt = _require_text(row.get("instruction"), "instruction")
        extra = row.get("input") or ""
        prompt = f"{prompt}\n\n{_require_text(extra, 'input')}" if extra else prompt
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": _require_text(row.get("output"), "output")}]
        if row.get("system"):
            messages.insert(0, {"role": "system", "content": _require_text(row["system"], "system")})
    elif fmt == "prompt_completion":
        messages = [{"role": "user", "content": _require_text(row.get("prompt"), "prompt")},
                    {"role": "assistant", "content": _require_text(row.get("completion"), "completion")}]
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


def load_chats(path: str | Path, fmt: str = "auto", on_bad_lines: str = "error", source: str = "raw") -> LoadResult:
    """Read a raw data file into normalised chats; bad rows raise (naming file and line) or are skipped."""
    path = Path(path)
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
            row_format = fmt if fmt != "auto" else detect_format(row)
            if row_format is None:
                keys = ", ".join(sorted(row)) if isinstance(row, dict) else type(row).__name__
                turn = isinstance(row, dict) and "role" in row   # one turn per row: the chat was split up
                raise DataError(f"unknown chat format (keys: {keys}): {_preview(text)}", where=where,
                                fix="each row must be a whole chat: put its turns in one row as "
                                    '{"messages": [{"role": ..., "content": ...}, ...]}' if turn else
                                    "use messages (or conversation, as LMSYS and WildChat), conversations (ShareGPT), "
                                    "instruction/output (Alpaca) or prompt/completion, or set data.format")
            try:
                messages = normalise(row, row_format)
            except ValueError as exc:
                raise DataError(f"{exc}: {_preview(text)}", where=where,
                                fix=f"fix that row ({row_format} format), or set data.on_bad_lines: skip") from None
        except DataError as exc:
            if on_bad_lines == "skip":
                result.skipped.append({"line": number, "reason": exc.what, "preview": _preview(text)})
                continue
            raise
        given = next((row.get(k) for k in ("id", "conversation_id") if row.get(k) not in (None, "")), None) \
            if isinstance(row, dict) else None
        chat_id = str(given) if given is not None else f"{source}-{number:05d}"
        if chat_id in seen_ids:
            chat_id = f"{chat_id}@{number}"
        seen_ids.add(chat_id)
        result.detected_formats[row_format] = result.detected_formats.get(row_format, 0) + 1
        result.chats.append({"id": chat_id, "messages": messages, "source": source})
    if not result.chats:
        raise DataError(f"no usable chats: all {len(rows)} rows were skipped (first: line {result.skipped[0]['line']}, "
                        f"{result.skipped[0]['reason']})", where=str(path), fix="fix the rows or check data.format")
    return result


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
