"""The ``grader`` command line (SPEC section 4)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from grader.grading.answers import read_answers_file
from grader.grading.audit import audit
from grader.grading.grade import grade
from grader.key import answer_key
from grader.problemset.loader import load_problem_set_file
from grader.problemset.source import InputError
from grader.report import format_key, format_result, use_colour, write


def _key(args: argparse.Namespace) -> int:
    ps = load_problem_set_file(args.problem_set)
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.problem is not None and args.problem not in {p.id for p in ps.problems}:
        raise InputError(f"no problem {args.problem!r} (problems: {', '.join(p.id for p in ps.problems)})",
                         file=args.problem_set)
    key = answer_key(ps, student=args.student, problem=args.problem, everything=args.all)
    write(json.dumps(key, indent=2, ensure_ascii=False) if args.format == "json" else format_key(key))
    return 0


def _check(args: argparse.Namespace) -> int:
    ps = load_problem_set_file(args.problem_set)
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    answers = read_answers_file(args.answers)
    result = grade(ps, answers).to_dict()
    if args.format == "json":
        write(json.dumps(result, ensure_ascii=False))
    else:
        write(format_result(result, colour=use_colour(sys.stdout)))
    return 0


def _validate(args: argparse.Namespace) -> int:
    ps = load_problem_set_file(args.problem_set)
    audit(ps)
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    count = len(ps.problems)
    print(f"{args.problem_set}: ok ({count} problem{'' if count == 1 else 's'}, {ps.max_score:g} points)")
    return 0


CORE_COMMANDS = ("key", "check", "validate")


def build_parser(with_service: bool = True) -> argparse.ArgumentParser:
    """The parser; ``with_service`` adds the service commands (their imports cost a third of a second)."""
    parser = argparse.ArgumentParser(prog="grader", description="Grade hand-calculation homework on small "
                                     "neural networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    key = sub.add_parser("key", help="print the computed answer key")
    key.add_argument("problem_set", metavar="SET.yaml")
    key.add_argument("--problem", metavar="ID", help="only this problem")
    key.add_argument("--student", metavar="S", help="this student's variant of randomised values")
    key.add_argument("--all", action="store_true", help="every quantity, not only the asked ones")
    key.add_argument("--format", choices=("text", "json"), default="text")
    key.set_defaults(func=_key)
    check = sub.add_parser("check", help="grade one answers file on this machine")
    check.add_argument("problem_set", metavar="SET.yaml")
    check.add_argument("answers", metavar="ANSWERS.yaml")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=_check)
    validate = sub.add_parser("validate", help="check a problem-set file and print its warnings")
    validate.add_argument("problem_set", metavar="SET.yaml")
    validate.set_defaults(func=_validate)
    if with_service:
        from grader.service.commands import register

        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    args = build_parser(with_service=command not in CORE_COMMANDS).parse_args(words)
    try:
        code: int = args.func(args)
    except InputError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
