"""The experiment's arms that are not a plain training run: the prompt-only arm (no training, the persona card
as the system prompt) and what the phase report needs to say about each arm."""

from __future__ import annotations

import time
from typing import Any

PROMPT_ONLY = "prompt-only"


def is_prompt_only(cfg: Any) -> bool:
    """True for a version that trains nothing (`train.enabled: false`): its "tuned" model is the base model prompted."""
    return not cfg.train.enabled


def persona_prompt(persona: dict) -> str:
    """The persona card written out as a system prompt: who, background, tone, likes and dislikes."""
    name = str(persona.get("name", "")).strip()
    parts = [f"You are {name}." if name else "", str(persona.get("summary", "")).strip()]
    for key, heading in (("background", "Background"), ("tone", "How you speak"), ("likes", "You like"),
                         ("dislikes", "You dislike")):
        items = [str(item).strip() for item in persona.get(key, []) or [] if str(item).strip()]
        if items:
            parts.append(f"{heading}:\n" + "\n".join(f"- {item}" for item in items))
    parts.append("Stay in character: answer as this person, never as an AI assistant.")
    return "\n\n".join(p for p in parts if p)


def load_persona(cfg: Any) -> dict:
    """The version's persona card (`data.persona`)."""
    from molting.params import project_path, read_yaml

    return read_yaml(project_path(cfg, cfg.data.persona, "data.persona"))


def tuned_system_prompt(cfg: Any) -> str | None:
    """The system prompt the "tuned" model answers under: the persona card for the prompt-only arm, else the
    prompt training used (`data.system_prompt`), so the trained arms are measured as they were trained."""
    return persona_prompt(load_persona(cfg)) if is_prompt_only(cfg) else cfg.data.system_prompt


def model_label(cfg_or_params: Any) -> str:
    """How reports name a version's model under test: "prompt-only" when nothing was trained, else "tuned"."""
    train = cfg_or_params.get("train", {}) if isinstance(cfg_or_params, dict) else {}
    return PROMPT_ONLY if train.get("enabled", True) is False else "tuned"


def skipped_training(cfg: Any) -> dict:
    """train.json of a prompt-only version: nothing trained, no loss curves, and why."""
    return {
        "trained": False,
        "kind": PROMPT_ONLY,
        "reason": "train.enabled is false: no adapter; the base model answers with the persona card as its system prompt",
        "system_prompt": tuned_system_prompt(cfg),
        "epochs_planned": 0,
        "epochs_run": 0,
        "global_steps": 0,
        "wall_time_s": 0.0,
        "train_loss": [],
        "heldout_loss": [],
        "final_train_loss": None,
        "best_heldout_loss": None,
        "final_heldout_loss": None,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def skip_training(cfg: Any, paths: Any) -> dict:
    """Stage 02 of a prompt-only version: write its train.json and mark the stage done (no notebook, no model)."""
    from molting.runs import mark_done, write_json

    record = skipped_training(type(cfg)({**cfg, "root": str(paths.root)}))   # the runner's params carry no root
    write_json(paths.train_json, record)
    mark_done(paths, "02-train", trained=False, kind=PROMPT_ONLY)
    return record
