"""How the command line reports errors: one line, ``clipaac: error: <what, which file or value, what to do>``,
exit status 2, no traceback (``--debug`` shows it).

The library's own errors already name the file or value and the fix (a bad configuration value, a
missing or corrupt audio file, a missing clip or run directory, a wrong checksum); the command line only
keeps them to one line. Notebook: ``notebooks/05_train.ipynb`` (the ``clipaac`` command).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["EXIT_ERROR", "DEBUG_FLAG", "OneLineArgumentParser", "Subcommands", "add_arguments_on_use", "pop_debug",
           "one_line", "run_reporting_errors"]

EXIT_ERROR = 2
DEBUG_FLAG = "--debug"
#: What ``ArgumentParser.add_subparsers()`` returns (argparse has no public name for it).
Subcommands = argparse._SubParsersAction


#: Adds arguments to a parser (such as one option per field of a dataclass).
ArgumentAdder = Callable[[argparse.ArgumentParser], None]


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line too: ``<prog>: error: <message> (see
    <prog> --help)``, exit status 2. Its sub-command parsers are of the same class. Arguments given to
    :func:`add_arguments_on_use` are added when the parser first parses or shows its usage or help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._on_use: list[ArgumentAdder] = []
        super().__init__(*args, **kwargs)

    def _add_deferred(self) -> None:
        while self._on_use:
            self._on_use.pop(0)(self)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self._add_deferred()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_deferred()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_deferred()
        return super().format_help()

    def error(self, message: str) -> None:  # type: ignore[override]
        top = self.prog.split()[0]
        print(f"{top}: error: {' '.join(message.split())} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def add_arguments_on_use(parser: argparse.ArgumentParser, add: ArgumentAdder) -> None:
    """Call ``add(parser)`` when ``parser`` is first used (parses, or shows its usage or help) if it is a
    :class:`OneLineArgumentParser`, else now. So ``clipaac --help`` builds every sub-command without
    importing what their options come from (``clipaac train``'s: :class:`clipaac_lib.train.TrainConfig`,
    and with it the training code)."""
    if isinstance(parser, OneLineArgumentParser):
        parser._on_use.append(add)
    else:
        add(parser)


def pop_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug``, and whether it was there."""
    return [a for a in argv if a != DEBUG_FLAG], DEBUG_FLAG in argv


def one_line(err: BaseException) -> str:
    """The error's message on one line (its type's name when it has no message)."""
    text = " ".join(str(err).split())
    if isinstance(err, KeyError) and text.startswith("'"):  # KeyError quotes its key
        text = f"missing key {text}"
    return text or type(err).__name__


def run_reporting_errors(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace,
                         *, debug: bool, prog: str = "clipaac") -> int:
    """Call ``func(args)``; an exception becomes one line on stderr and exit status 2 (unless ``debug``,
    which re-raises it with its traceback). Ctrl-C exits with 130, as shells expect."""
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 (every error is reported; --debug shows the traceback)
        if debug:
            raise
        print(f"{prog}: error: {one_line(err)}", file=sys.stderr)
        return EXIT_ERROR
