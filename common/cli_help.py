"""The ``counterfeit`` CLI's conventions in one place: exit codes, the version string, and ``add_command``.

Why a module of its own: subcommands live in several modules (``common.cli``, ``common.evaluate``,
``common.calibrate``, ``common.review.app``, …) and each registers itself with ``register_cli(subparsers)``.
They all go through ``add_command`` so that every ``--help`` has the same shape: what the command does, its
arguments (each with help text, which a test checks), examples, and the exit codes it can return.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1  # an uncaught exception: a bug (Python prints the traceback and exits 1)
EXIT_USAGE = 2  # also argparse's own code for a bad command line
EXIT_SOME_FAILED = 3
EXIT_ALL_FAILED = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "unexpected internal error (a bug: the traceback is on stderr)",
    EXIT_USAGE: (
        "bad command line or input: unknown arguments, an unknown or forbidden brand (403 forbidden: "
        "the two look the same on purpose), an invalid kit, an unreadable file"
    ),
    EXIT_SOME_FAILED: "scan: some items failed (each has an error record), the others got verdicts",
    EXIT_ALL_FAILED: "scan: every item failed (error records only)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
COMMON_EXIT_CODES = (EXIT_OK, EXIT_USAGE)

EPILOG_WIDTH = 100
_EXAMPLES_ATTR = "counterfeit_examples"
_CODES_ATTR = "counterfeit_exit_codes"


def package_version() -> str:
    """The installed distribution's version; from a source checkout that was never installed, the version in
    ``pyproject.toml`` next to ``common/``; else ``unknown`` (never an exception: ``--version`` must work)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("counterfeit")
    except PackageNotFoundError:
        pass
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        return f"{data['project']['version']} (source tree, not installed)"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def format_epilog(
    examples: Iterable[str], codes: Iterable[int], extra: Mapping[int, str] | None = None
) -> str:
    """``examples:`` and ``exit codes:`` blocks, for RawDescriptionHelpFormatter (kept as written)."""
    table = EXIT_CODES | dict(extra or {})
    lines = ["examples:"]
    lines += [f"  {example}" for example in examples] or ["  (none)"]
    lines += ["", "exit codes:"]
    for code in sorted(set(codes)):
        lines += textwrap.wrap(
            table[code], EPILOG_WIDTH, initial_indent=f"  {code:<3}  ", subsequent_indent=" " * 7
        )
    return "\n".join(lines)


def add_command(
    subparsers: Any,
    name: str,
    *,
    help: str,
    examples: Iterable[str],
    exit_codes: Iterable[int] = COMMON_EXIT_CODES,
    extra_exit_codes: Mapping[int, str] | None = None,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand parser whose ``--help`` shows ``examples`` and ``exit_codes``.

    ``extra_exit_codes`` adds a command's own codes (with their meaning) to the shared table. The examples and
    codes are also kept on the parser so that a command group (``brand``, ``marketplace``) and the top level can
    list its children's (``finish_help``).
    """
    examples = list(examples)
    codes = sorted(set(exit_codes) | set(extra_exit_codes or {}))
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        epilog=format_epilog(examples, codes, extra_exit_codes),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    setattr(parser, _EXAMPLES_ATTR, examples)
    setattr(parser, _CODES_ATTR, (codes, dict(extra_exit_codes or {})))
    return parser


def add_group(subparsers: Any, name: str, *, help: str, dest: str) -> Any:
    """A command group (``counterfeit brand …``); its help lists the examples of the commands added to it."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=help[:1].upper() + help[1:] + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(
        help_parser=parser
    )  # `counterfeit brand` alone prints the group's help, not the top's
    return parser.add_subparsers(dest=dest, title="commands", metavar="COMMAND")


def finish_help(parser: argparse.ArgumentParser) -> None:
    """Give every group without an epilog (and the top level) the examples and exit codes of its commands.
    Runs once all modules registered their commands, so a group created elsewhere is covered too."""
    for child in subcommand_parsers(parser):
        finish_help(child)
    if parser.epilog is not None:
        return
    examples: list[str] = []
    codes: set[int] = set()
    extra: dict[int, str] = {}
    for child in subcommand_parsers(parser):
        child_examples = getattr(child, _EXAMPLES_ATTR, [])
        examples += child_examples if parser.prog.count(" ") else child_examples[:1]
        child_codes, child_extra = getattr(child, _CODES_ATTR, (list(COMMON_EXIT_CODES), {}))
        codes |= set(child_codes)
        extra |= {code: text for code, text in child_extra.items() if code not in EXIT_CODES}
    if not parser.prog.count(" "):  # the top level: the whole table, not only what the examples need
        codes |= set(EXIT_CODES)
    setattr(parser, _EXAMPLES_ATTR, examples)
    setattr(parser, _CODES_ATTR, (sorted(codes), extra))
    parser.epilog = format_epilog(examples, codes, extra)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The distinct parsers of ``parser``'s subcommands (aliases collapsed), in registration order."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if all(child is not seen for seen in found):
                    found.append(child)
    return found
