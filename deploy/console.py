"""The ``content-moderation`` console script: one name for the project's commands, each handed to its own module.

Here, not in chalicelib (which ships to Lambda). Each command's module is imported only when that
command runs, so ``content-moderation --help`` and every ``<command> --help`` stay quick and start nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PROG = "content-moderation"


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line summary, and how to run it with the arguments after its name."""

    summary: str
    run: Callable[[list[str]], int]


def _run(arguments: list[str]) -> int:
    from local_runtime.__main__ import main

    return main(arguments, prog=f"{PROG} run")


def _deploy(arguments: list[str]) -> int:
    from deploy.cli import main

    return main(["deploy", *arguments], prog=PROG)


def _destroy(arguments: list[str]) -> int:
    from deploy.cli import main

    return main(["destroy", *arguments], prog=PROG)


def _bench(arguments: list[str]) -> int:
    from bench.__main__ import main

    return main(arguments, prog=f"{PROG} bench")


def _advance_clock(arguments: list[str]) -> int:
    from local_runtime.advance_clock import main

    return main(arguments, prog=f"{PROG} advance-clock")


COMMANDS = {
    "run": Command("start the whole system on localhost (what `make run` runs)", _run),
    "deploy": Command("create or update the stack and the secrets, then `chalice deploy` (needs AWS)", _deploy),
    "destroy": Command("delete the app; with --delete-data also its tables and secrets", _destroy),
    "bench": Command("run the benchmarks and write BENCHMARKS.md", _bench),
    "advance-clock": Command("move the running local runtime's Step Functions clock ahead", _advance_clock),
}


def build_parser() -> argparse.ArgumentParser:
    """The top level: only the list of commands (each command parses its own arguments)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Content moderation on AWS Chalice: run it locally, deploy it, measure it.",
        epilog=f"`{PROG} <command> --help` lists a command's options and the environment variables it reads.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for name, command in COMMANDS.items():
        commands.add_parser(name, help=command.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command named first; ``--help`` or a wrong name is argparse's (exit 0 or 2)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in COMMANDS:
        return COMMANDS[arguments[0]].run(arguments[1:])
    build_parser().parse_args(arguments)  # exits: the help, or the error naming the commands
    return 2


if __name__ == "__main__":
    sys.exit(main())
