"""`molt`: run versions, show and compare params."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any


def _cmd_run(args: argparse.Namespace) -> int:
    from molting import runner

    versions = args.versions
    if args.seeds != 1:
        from molting import params, seeds

        root = params.find_root()
        versions = [name for version in versions for name in seeds.replica_versions(version, args.seeds, root)]
    if args.dry_run:
        rows = runner.plan(versions, force=args.force, from_stage=args.from_stage, only=args.only,
                           skip_complete=args.skip_complete)
        width = max(len(r["version"]) for r in rows)
        for row in rows:
            print(f"{row['version']:<{width}}  {row['stage']:<11}  {row['action']}")
        print("params, files, tokenizers and chat templates checked; nothing was run or written")
        return 1 if any(r["action"].startswith("refused") for r in rows) else 0
    runner.run(versions, force=args.force, from_stage=args.from_stage, only=args.only,
               skip_complete=args.skip_complete, progress=not args.quiet)
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    from molting import params

    print(params.to_yaml(params.resolve(args.version)), end="")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from molting import params

    a, b = params.resolve(args.a), params.resolve(args.b)
    rows = params.diff(a, b)
    if not rows:
        print(f"{args.a} and {args.b} have the same params")
        return 0
    width = max(len(k) for k, _, _ in rows)
    print(f"{'key':<{width}}  {args.a}  ->  {args.b}")
    for key, left, right in rows:
        print(f"{key:<{width}}  {left!r}  ->  {right!r}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from molting import params, runner, runs
    from molting.errors import RunError
    from molting.runs import RunPaths

    if args.phase:
        out = runner.run_phase(args.phase, args.versions, progress=not args.quiet)
    else:
        if len(args.versions) != 1:
            print("error: give one version to re-render, or --phase NAME with several", file=sys.stderr)
            return 2
        paths = RunPaths(params.find_root(), args.versions[0])
        notebook = paths.notebook("04-report")
        if not notebook.is_file():
            raise RunError(f"version {paths.version} has no executed report notebook to re-render", where=str(notebook),
                           fix=f"run it first (`molt run {paths.version}`), or check the version's name")
        with runs.writing(paths):   # a run of the version at its report stage would swap in reports/<version>/ too
            out = runner.render_report(paths)
    print(f"{out['html']}\n{out['markdown']}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from molting import sweep

    key, values = ("duplicate_fraction", args.duplicate_fractions) if args.duplicate_fractions else ("train_fraction", args.fractions)
    out = sweep.sweep(args.version, key, values, progress=not args.quiet)
    print(f"learning curve: {out}")
    return 0


def _numbers(text: str) -> list[float]:
    """A comma-separated list of numbers (argparse turns the error into a usage message and exit code 2)."""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers, e.g. 0.25,0.5,1.0") from None


def _positive(text: str) -> int:
    """A whole number above 0 (argparse turns the error into a usage message and exit code 2)."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def _version(version: str):
    """A version's validated params and its run paths."""
    from molting import params
    from molting.runs import RunPaths

    return params.load(version), RunPaths(params.find_root(), version)


def _cmd_train(args: argparse.Namespace) -> int:
    from molting import arms, runs, train

    cfg, paths = _version(args.version)
    if arms.is_prompt_only(cfg):
        print(f"{args.version} is prompt-only (train.enabled: false): nothing to train", file=sys.stderr)
        return 2
    # the version's lock (runs.exclusive), held by the first process alone under `accelerate launch`
    lock = runs.exclusive(paths) if os.environ.get("RANK", "0") == "0" else contextlib.nullcontext()
    with lock:
        figures = train.train_version(cfg, paths)
    print(f"trained {args.version}: {figures['epochs_run']} epochs, best held-out loss {figures['best_heldout_loss']}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from molting import train

    cfg, paths = _version(args.version)
    out = train.export_merged(cfg, paths, args.out or paths.run_dir / "merged")
    print(f"merged model written to {out} (load it with AutoModelForCausalLM.from_pretrained)")
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from molting import talk

    if args.temperature < 0:
        print("error: --temperature must be 0 (greedy) or more", file=sys.stderr)
        return 2
    conversation = talk.open_conversation(args.version, base=args.base, temperature=args.temperature,
                                          max_new_tokens=args.max_new_tokens)
    who = f"{args.version} (base model)" if args.base else args.version
    decoding = f"sampled at {args.temperature:g}" if args.temperature else "greedy"

    def answer(text: str) -> None:
        print(f"{who}> ", end="", flush=True)
        reply = conversation.say(text, stream=lambda piece: print(piece, end="", flush=True))
        print()
        if reply.hits:
            print(f"  [agent-like: {', '.join(reply.hits)}]")
        if reply.truncated:
            print(f"  [cut at {conversation.max_new_tokens} new tokens: --max-new-tokens gives more]")

    if args.say:
        for text in args.say:
            print(f"you> {text}")
            answer(text)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"{who}, {decoding}: /reset forgets the conversation, /quit or Ctrl-D ends it")
    while True:
        try:
            text = input("you> " if interactive else "").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in ("/quit", "/exit"):
            return 0
        if text == "/reset":
            conversation.reset()
            print("(conversation forgotten)")
        elif text:
            answer(text)


def _cmd_review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from molting import params, review
    from molting.runs import RunPaths, read_jsonl

    root = params.find_root()
    paths = RunPaths(root, params.check_version_name(args.version))
    cfg = params.load(args.version, paths.params_file if paths.params_file.is_file() else None, root)
    candidates = read_jsonl(paths.review_jsonl)
    name = args.out or review.default_file(cfg)
    out = Path(name) if Path(name).is_absolute() else root / name
    decisions = review.load_decisions(out, root)
    todo = review.pending(candidates, decisions)
    print(f"{len(candidates)} kept chats marked for review ({paths.review_jsonl}); {len(todo)} not decided in {name}")
    interactive = sys.stdin.isatty()
    made = 0
    for index, row in enumerate(todo, 1):
        print(f"\n[{index}/{len(todo)}] {row['id']}  p_agent_like {row['p_agent_like']}\n  flagged: {row['sentence']}\n"
              f"  reply:   {row['reply']}")
        answer = ""
        while answer not in ("d", "k", "s", "q"):
            try:
                answer = input("[d]rop, [k]eep, [s]kip, [q]uit > " if interactive else "").strip().lower()[:1]
            except (EOFError, KeyboardInterrupt):
                answer = "q"
        if answer == "q":
            break
        if answer in ("d", "k"):
            decisions.add(str(row["id"]), "drop" if answer == "d" else "keep")
            review.save(out, decisions, candidates)   # after every decision: nothing is lost if the review stops
            made += 1
    print(f"\n{made} decision(s) written to {name}: {len(decisions.drop)} dropped, {len(decisions.keep)} kept in all")
    if made:
        applied = cfg.curate.keep_drop_file == name
        print(f"`molt run {args.version} --from 01-curate` applies them" if applied else
              f"to apply them: a version extending {args.version} with `curate: {{keep_drop_file: {name}}}` "
              f"(e.g. params/{args.version}-reviewed.yaml), then `molt run` it")
    return 0


def _cmd_patterns(args: argparse.Namespace) -> int:
    from molting import curate, patterns

    cfg = _version(args.version)[0] if args.version else None
    states = curate.pattern_states(cfg)
    scope = f"version {args.version}" if args.version else "the defaults (params/base.yaml)"
    if args.test is not None:
        return _patterns_test(args.test, states, scope, args.detector)
    if args.scan:
        return _patterns_scan(args.scan, states, scope, args.detector, cfg)
    width = max(len(p.name) for p, _ in states)
    print(f"{len(states)} patterns, {sum(on for _, on in states)} on for {scope}")
    print(f"{'pattern':<{width}}  {'category':<22}  {'on':<3}  what it catches")
    for p, on in states:
        print(f"{p.name:<{width}}  {p.category:<22}  {'on' if on else 'off':<3}  {p.description}")
    print("opt-in categories (off unless curate.patterns_enabled names them): " + ", ".join(patterns.OPT_IN_CATEGORIES))
    return 0


def _shipped_detector(wanted: bool) -> Any:
    """The detector trained on the whole labelled set, when `--detector` asks for its second opinion."""
    from molting.detector import default_detector

    return default_detector("all") if wanted else None


def _patterns_test(text: str, states: list, scope: str, with_detector: bool = False) -> int:
    """Print every pattern that matches `text`, the ones that are off for the version marked (and the detector's p)."""
    from molting.patterns import PatternLibrary

    on = {p.name for p, is_on in states if is_on}
    hits = PatternLibrary([p for p, _ in states]).scan(text)
    if not hits:
        print(f"no pattern matches ({scope})")
    for hit in hits:
        state = "" if hit.rule in on else f"  (off for {scope})"
        print(f"{hit.rule} ({hit.category}) [{hit.start}:{hit.end}] {hit.matched!r}{state}")
    if hits:
        print("agent-like" if any(h.rule in on for h in hits) else f"not agent-like for {scope}: only rules that are off match")
    detector = _shipped_detector(with_detector)
    if detector is not None:
        [(p, piece)] = detector.explain([text])
        verdict = "agent-like" if p >= detector.threshold else "not agent-like"
        print(f"detector: {verdict}, p_agent_like {p:.3f} (threshold {detector.threshold:g}), highest on {piece!r}")
    return 0


def _patterns_scan(path: str, states: list, scope: str, with_detector: bool = False, cfg: Any = None) -> int:
    """Hits per rule over the assistant turns of a chat file (any format Molting loads; read with the version's
    data.format and data.columns where --version names one), and the detector's count."""
    from pathlib import Path

    from molting.data import load_chats
    from molting.errors import DataError
    from molting.patterns import PatternLibrary, scan_counts

    if not Path(path).exists():
        raise DataError("file not found", where=path,
                        fix="give `molt patterns --scan` a chat file (JSONL, JSON, CSV, each also compressed, Parquet or a "
                            "datasets folder)")
    loaded = load_chats(path, cfg.data.format, columns=cfg.data.columns) if cfg is not None else load_chats(path)
    lib = PatternLibrary([p for p, on in states if on])
    counts = scan_counts(lib, ((c["id"], [m["content"] for m in c["messages"] if m["role"] == "assistant"])
                               for c in loaded.chats))
    by_library = {c["id"] for c in loaded.chats if any(lib.first(m["content"]) for m in c["messages"] if m["role"] == "assistant")}
    n = len(loaded.chats)
    print(f"{path}: {n} chat{'' if n == 1 else 's'}, {len(by_library)} with an agent-like hit ({scope})")
    detector = _shipped_detector(with_detector)
    if detector is not None:
        from molting.curate import detector_flags

        by_detector = set(detector_flags(loaded.chats, detector))
        print(f"detector (threshold {detector.threshold:g}): {len(by_detector)} chats flagged, "
              f"{len(by_detector - by_library)} of them with no pattern hit; {len(by_library | by_detector)} by either")
    rows = sorted(((n, c) for n, c in counts.items() if c["hits"]), key=lambda kv: (-kv[1]["items"], kv[0]))
    width = max([len("rule"), *(len(n) for n, _ in rows)])
    print(f"{'rule':<{width}}  {'chats':>6}  {'hits':>6}")
    for name, c in rows:
        print(f"{name:<{width}}  {c['items']:>6}  {c['hits']:>6}")
    return 0


def add(sub: argparse._SubParsersAction, name: str, help: str, func: Callable[[argparse.Namespace], int], *positionals: str) -> argparse.ArgumentParser:
    """A subcommand running `func`, with its positional arguments."""
    p = sub.add_parser(name, help=help)
    p.set_defaults(func=func)
    for positional in positionals:
        p.add_argument(positional)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="molt", description="Molting: give a small language model a consistent personality.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run versions end to end (curate, train, evaluate, report)")
    p.add_argument("versions", nargs="+", help="versions, e.g. v1 v2.1 (params/<version>.yaml)")
    p.add_argument("--force", action="store_true", help="redo a completed version (old report kept until the new one is done)")
    p.add_argument("--from", dest="from_stage", help="rerun from this stage on (01-curate, 02-train, 03-evaluate, 04-report)")
    p.add_argument("--only", help="rerun only this stage")
    p.add_argument("--skip-complete", action="store_true", help="pass over completed versions instead of refusing")
    p.add_argument("--seeds", type=int, default=1,
                   help="train each version with N training seeds: replicas <v>-seed2.. (generated params), pooled by the phase report")
    p.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    p.add_argument("--dry-run", action="store_true",
                   help="check every version (params, files, tokenizer, chat template) and say what would run; run nothing")
    p.set_defaults(func=_cmd_run)
    add(sub, "params", "print a version's resolved params", _cmd_params, "version")
    add(sub, "diff", "show the params that differ between two versions", _cmd_diff, "a", "b")
    p = add(sub, "sweep", "learning curve: run a version on subsets of its data (or duplication levels)", _cmd_sweep, "version")
    p.add_argument("--fractions", type=_numbers, default="0.25,0.5,0.75,1.0",
                   help="shares of the training split (default 0.25,0.5,0.75,1.0)")
    p.add_argument("--duplicate-fractions", type=_numbers, help="sweep curate.duplicate_fraction instead, e.g. 0,0.25,0.5,1.0")
    p.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    add(sub, "train", "stage 02 alone, without the notebook (e.g. under `accelerate launch`)", _cmd_train, "version")
    p = add(sub, "export", "merge a version's adapter into its base model (safetensors)", _cmd_export, "version")
    p.add_argument("--out", help="output folder (default: runs/<version>/merged)")
    p = add(sub, "chat", "talk to a version's trained model (multi-turn; each reply checked for agent-like patterns)",
            _cmd_chat, "version")
    p.add_argument("--say", action="append", metavar="TEXT", help="a turn to say (repeat for several), then exit")
    p.add_argument("--base", action="store_true", help="the base model instead (adapter off, the run's system prompt)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 answers greedily (default), more samples")
    p.add_argument("--max-new-tokens", type=_positive, help="reply length limit (default: the version's eval.max_new_tokens)")
    p = add(sub, "review", "decide on the chats curation marked for review (the detector's): keep or drop, written "
                           "as a curate.keep_drop_file", _cmd_review, "version")
    p.add_argument("--out", help="the keep/drop file (default: the version's curate.keep_drop_file, else "
                                 "data/<version>-keep-drop.yaml); decisions already in it stay")
    p = sub.add_parser("patterns", help="list the agent-like patterns (on/off for a version), test a text, or scan a file")
    p.add_argument("--version", help="show on/off and use the library as this version's params set it up")
    p.add_argument("--test", metavar="TEXT", help="print every pattern that matches this text")
    p.add_argument("--scan", metavar="FILE", help="hits per rule over the assistant turns of a chat file (read as "
                                                  "--version's data.format and data.columns say, where given)")
    p.add_argument("--detector", action="store_true",
                   help="with --test or --scan: also the second opinion of the detector (molting.detector)")
    p.set_defaults(func=_cmd_patterns)
    p = sub.add_parser("report", help="re-render a version's report, or render a phase report over several versions")
    p.add_argument("versions", nargs="+", help="one version to re-render, or the versions of a phase")
    p.add_argument("--phase", help="render reports/<PHASE>/ comparing the versions")
    p.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `molt`."""
    from molting.runner import main_guard

    args = build_parser().parse_args(argv)
    return main_guard(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
