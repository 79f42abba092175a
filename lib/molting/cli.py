"""`molt`: run versions, show and compare params."""

from __future__ import annotations

import argparse
import sys


def _cmd_run(args: argparse.Namespace) -> int:
    from molting import runner

    runner.run(args.versions, force=args.force, from_stage=args.from_stage, only=args.only,
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


def _cmd_render(args: argparse.Namespace) -> int:
    from molting import params, runner
    from molting.runs import RunPaths

    paths = RunPaths(params.find_root(), args.version)
    out = runner.render_report(paths)
    print(f"{out['html']}\n{out['markdown']}")
    return 0


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
    p.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("params", help="print a version's resolved params")
    p.add_argument("version")
    p.set_defaults(func=_cmd_params)
    p = sub.add_parser("diff", help="show the params that differ between two versions")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=_cmd_diff)
    p = sub.add_parser("render", help="re-render a version's report from its executed 04-report notebook")
    p.add_argument("version")
    p.set_defaults(func=_cmd_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `molt`."""
    from molting.runner import main_guard

    args = build_parser().parse_args(argv)
    return main_guard(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
