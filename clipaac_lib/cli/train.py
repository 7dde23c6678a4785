"""Command line of training, evaluation and captioning.

``clipaac train [--field value ...]`` (one option per :class:`TrainConfig` field, generated from the
dataclass), ``clipaac evaluate RUN_DIR`` and ``clipaac caption AUDIO ... [--run RUN_DIR] [--csv PATH]``
(files and folders, file by file; without ``--run`` the book's model, the default configuration's run,
else the newest finished run, said on stderr; an unreadable file is named and skipped, exit status 1;
clips too short or silent to trust get a warning, notebook ``07_caption_your_audio.ipynb``). The same
training options work with ``python -m clipaac_lib.train`` and ``torchrun --nproc_per_node=N -m
clipaac_lib.train``. Bad values are reported before any work starts, in one line
(:mod:`clipaac_lib.cli.errors`). The training code is imported only when a command runs or ``clipaac
train`` reads its options, so that ``clipaac --help`` does not import it.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipaac_lib.cli.errors import (
    OneLineArgumentParser,
    Subcommands,
    add_arguments_on_use,
    pop_debug,
    run_reporting_errors,
)

if TYPE_CHECKING:
    from clipaac_lib.train import RunResult, SplitScores, TrainConfig

__all__ = ["add_train_commands", "add_config_arguments", "config_from_args", "format_result", "main_train",
           "build_train_parser"]


def _optional(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.strip().lower() in ("none", "null", "") else kind(text)

    parse.__name__ = kind.__name__
    return parse


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object like '{{\"decoder\": {{\"layers\": 1}}}}'; got {text!r}")
    return value


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` option per :class:`TrainConfig` field, typed from its annotation."""
    from clipaac_lib.train import TrainConfig

    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f"{f.metadata.get('help', '')} (default: {default!r})"
        annotation = str(f.type).replace(" ", "")
        if annotation == "bool":
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                                help=help_text)
            continue
        if annotation.startswith("dict"):
            kind: Any = _json_object
        else:
            base = annotation.replace("|None", "")
            kind = {"int": int, "float": float, "str": str}[base]
            if annotation.endswith("|None"):
                kind = _optional(kind)
        parser.add_argument(flag, dest=f.name, type=kind, default=default, help=help_text,
                            metavar=f.name.upper())


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of parsed options, validated (raises :class:`ConfigError`)."""
    from clipaac_lib.train import TrainConfig

    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)}).validate()


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_result(result: RunResult) -> str:
    """A plain-text table: untrained vs trained test scores, retrieval recall and chance level."""
    from clipaac_lib.experiments import run_verdicts
    from clipaac_lib.metrics import METRIC_KEYS

    trained, untrained = result.scores, result.untrained_scores

    def metric(scores: SplitScores | None, name: str) -> float | None:
        return None if scores is None else scores.metric(name)

    def recall(scores: SplitScores | None, name: str) -> float | None:
        return None if scores is None else scores.recall(name)

    lines = [f"run directory: {result.run_dir}" + (" (reused)" if result.reused else ""),
             f"epochs: {result.epochs_completed}, training time: {result.train_seconds:.1f} s",
             f"{'score':<12}{'untrained':>12}{'trained':>12}{'chance':>12}"]
    for name in METRIC_KEYS:
        lines.append(f"{name:<12}{_fmt(metric(untrained, name)):>12}{_fmt(metric(trained, name)):>12}{'':>12}")
    for name in ({} if trained is None else trained.retrieval or {}):
        lines.append(f"{name:<12}{_fmt(recall(untrained, name)):>12}{_fmt(recall(trained, name)):>12}"
                     f"{_fmt(trained.retrieval_chance.get(name)):>12}")
    lines.extend(run_verdicts(result))
    return "\n".join(lines)


def _run_train(args: argparse.Namespace) -> int:
    from clipaac_lib.train import train

    result = train(config_from_args(args))
    if result.scores is not None:
        print(format_result(result))
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from clipaac_lib.train import evaluate_run

    changes = {k: getattr(args, k) for k in ("beam_size", "max_caption_len", "length_penalty", "caption_metrics",
                                             "eval_untrained", "eval_batch_size") if getattr(args, k) is not None}
    result = evaluate_run(args.run_dir, device=args.device, force=args.force, **changes)
    print(format_result(result))
    return 0


#: Exit status of ``clipaac caption`` when some files could not be captioned (the others were).
EXIT_SKIPPED = 1


def _write(text: str, stream: Any) -> None:
    """Write a line above the progress bar (if one shows) and flush, so each line appears as it is done."""
    from tqdm.auto import tqdm

    tqdm.write(text, file=stream)
    stream.flush()


def _report_caption(outcome: Any, single: bool) -> None:
    """One file's outcome (:class:`clipaac_lib.caption.CaptionOutcome`): its warnings and a failure on
    stderr naming the file; its caption on stdout, bare for a single file argument, else
    ``FILE<TAB>CAPTION``."""
    for warning in outcome.warnings:
        _write(f"clipaac: warning: {outcome.file}: {warning}", sys.stderr)
    if not outcome.ok:
        _write(f"clipaac: {outcome.file} not captioned: {outcome.error}", sys.stderr)
    else:
        _write(outcome.caption if single else f"{outcome.file}\t{outcome.caption}", sys.stdout)


def _run_caption(args: argparse.Namespace) -> int:
    """Caption ``args.files`` with ``args.run`` (both set by :func:`_check_caption`) file by file: a single
    file argument prints its caption, anything else ``FILE<TAB>CAPTION`` lines, each as it is done;
    ``--csv`` also writes them to a CSV. An unreadable file is named on stderr and skipped: exit status
    :data:`EXIT_SKIPPED` (1) then, 0 when every file was captioned. Notebook:
    ``notebooks/07_caption_your_audio.ipynb``."""
    from clipaac_lib.caption import caption_outcomes, write_captions_csv

    single = len(args.audio) == 1 and Path(args.audio[0]).is_file()
    rows: list[tuple[str, str]] = []
    failed = 0
    for outcome in caption_outcomes(args.files, args.run, device=args.device, beam_size=args.beam_size,
                                    max_caption_len=args.max_caption_len, length_penalty=args.length_penalty,
                                    progress=args.progress):
        _report_caption(outcome, single)
        if outcome.ok:
            rows.append((outcome.file, outcome.caption))
        else:
            failed += 1
    if args.csv:
        print(f"wrote {len(rows)} caption(s) to {write_captions_csv(rows, args.csv)}", file=sys.stderr)
    if failed and len(args.files) > 1:
        print(f"clipaac: {failed} of {len(args.files)} files could not be captioned (named above)",
              file=sys.stderr)
    return EXIT_SKIPPED if failed else 0


def _check_caption(args: argparse.Namespace) -> None:
    """Before loading any model: every file and folder exists (``args.files``, folders expanded) and a
    run is named or found (``args.run``: by default the book's model, else the newest finished run under
    the run root, :func:`clipaac_lib.caption.choose_run`, said on stderr)."""
    from clipaac_lib.caption import audio_files, choose_run

    args.files = audio_files(args.audio)
    if args.run is not None:
        _require_run_dir(args.run)
        return
    choice = choose_run(args.run_root)
    print(choice.message, file=sys.stderr)
    args.run = str(choice.path)


def _require_run_dir(path: str) -> None:
    from clipaac_lib.train import RunDir

    RunDir(path).require()


def _decode_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam-size", type=int, default=None, help="beams (default: the run's, paper: 3)")
    parser.add_argument("--max-caption-len", type=int, default=None, help="longest caption in words")
    parser.add_argument("--length-penalty", type=float, default=None,
                        help="rank beams by sum log p / length**penalty (default: the run's)")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")


def _command(handler: Callable[[argparse.Namespace], int],
             check: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    """The ``func`` of a sub-command: pre-flight checks (clear errors before any work), then the handler."""

    def run(args: argparse.Namespace) -> int:
        check(args)
        return handler(args)

    return run


def add_train_commands(subparsers: Subcommands) -> None:
    """Add ``train``, ``evaluate`` and ``caption`` to an ``argparse`` sub-command set."""
    p_train = subparsers.add_parser("train", help="train CLIP-AAC (or reuse a finished run of the same config)",
                                    description="Train CLIP-AAC; every TrainConfig field is an option. "
                                                "Prints the run directory and untrained vs trained test scores.")
    add_arguments_on_use(p_train, add_config_arguments)  # `clipaac --help` does not import the training code
    p_train.set_defaults(func=_command(_run_train, config_from_args))

    p_eval = subparsers.add_parser("evaluate", help="caption and score the test split with a run's model",
                                   description="Evaluate a run directory (written by `clipaac train`).")
    p_eval.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    _decode_options(p_eval)
    p_eval.add_argument("--caption-metrics", action=argparse.BooleanOptionalAction, default=None,
                        help="compute BLEU..CIDEr-D (needs Java)")
    p_eval.add_argument("--eval-untrained", action=argparse.BooleanOptionalAction, default=None,
                        help="also score the untrained model")
    p_eval.add_argument("--eval-batch-size", type=int, default=None, help="clips per batch")
    p_eval.add_argument("--force", action="store_true", help="recompute even if saved results exist")
    p_eval.set_defaults(func=_command(_run_evaluate, lambda a: _require_run_dir(a.run_dir)))

    p_cap = subparsers.add_parser(
        "caption", help="caption audio files and folders (WAV/FLAC/OGG/MP3) with a trained run",
        description="Print a caption for each AUDIO (a folder: its .wav, .flac, .mp3 and .ogg files, sorted; "
                    "FILE<TAB>CAPTION lines, each as it is done) using the model of --run, by default the "
                    "book's model (the run of the default configuration, notebook 5), else the newest "
                    "finished run under the run root. An unreadable file is named on stderr and skipped "
                    "(exit status 1); a clip too short or silent to trust gets a warning on stderr.")
    p_cap.add_argument("audio", nargs="+", metavar="AUDIO",
                       help="WAV, FLAC, OGG or MP3 files, or folders of them")
    p_cap.add_argument("--run", default=None, metavar="RUN_DIR",
                       help="run directory of a trained model (default: the default configuration's run "
                            "under --run-root, else the newest finished one there)")
    p_cap.add_argument("--run-root", default=None, metavar="DIR",
                       help="where the default run is looked for (default: $CLIPAAC_CACHE/runs)")
    p_cap.add_argument("--csv", default=None, metavar="PATH",
                       help="also write the captions to a CSV at PATH (columns file, caption)")
    p_cap.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                       help="a progress bar over several files, on stderr")
    _decode_options(p_cap)
    p_cap.set_defaults(func=_command(_run_caption, _check_caption))


def build_train_parser(prog: str = "python -m clipaac_lib.train") -> argparse.ArgumentParser:
    """The parser of ``python -m clipaac_lib.train`` / ``torchrun -m clipaac_lib.train``: training options only."""
    parser = OneLineArgumentParser(prog=prog, description="Train CLIP-AAC (same options as `clipaac train`).")
    add_config_arguments(parser)
    return parser


def main_train(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m clipaac_lib.train``: errors in one line, exit status 2 (``--debug``: traceback)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    argv, debug = pop_debug(sys.argv[1:] if argv is None else list(argv))
    args = build_train_parser().parse_args(argv)
    return run_reporting_errors(_run_train, args, debug=debug, prog="python -m clipaac_lib.train")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main_train())
