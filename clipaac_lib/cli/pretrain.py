"""``clipaac pretrain``: make (or find) the book's pretrained encoder files for a model size.

    clipaac pretrain                       # both stages for the small model, into $CLIPAAC_CACHE/weights
    clipaac pretrain --init audio          # stage "audio" only (the ESRNXFBSP.pt stand-in)
    clipaac pretrain --clips 400 --audio-epochs 2 --text-epochs 1 --seed 3

Prints each file with its sha256 and its last validation scores. Training later finds the files by
itself (``init="audio"`` / ``"audio_text"`` with a model other than ``paper``). Notebook:
``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

import argparse
from typing import Any

from clipaac_lib.cli.errors import Subcommands

__all__ = ["add_pretrain_commands"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _pretrain(args: argparse.Namespace) -> int:
    from clipaac_lib.model import ModelConfig
    from clipaac_lib.pretrain import CorpusConfig, PretrainConfig, ensure_pretrained

    if args.model_config == "paper":
        raise ValueError("the paper-size model is initialised from AudioCLIP's published files "
                         "(downloaded by training); `clipaac pretrain` makes the small model's")
    default = PretrainConfig()
    corpus = CorpusConfig(**{**default.corpus.to_dict(), **({"clips": args.clips} if args.clips else {}),
                             **({"seed": args.corpus_seed} if args.corpus_seed is not None else {})})
    changes: dict[str, Any] = {k: v for k, v in (("audio_epochs", args.audio_epochs), ("text_epochs", args.text_epochs),
                                                  ("seed", args.seed)) if v is not None}
    config = default.replace(corpus=corpus, **changes)
    model_config = ModelConfig.preset(args.model_config)
    made = ensure_pretrained(args.init, model_config, config, progress=not args.quiet)
    files = [made]
    if args.init == "audio_text":  # its stage "audio" file too
        files.insert(0, ensure_pretrained("audio", model_config, config, progress=False))
    for item in files:
        last = item.history[-1]
        scores = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k.startswith("val_") and v is not None)
        print(f"{item.init}: {item.path}\n  sha256 {item.sha256}\n  after epoch {last['epoch']}: {scores}")
    return 0


def add_pretrain_commands(commands: Subcommands) -> None:
    """Register ``clipaac pretrain`` on the top-level subparsers."""
    parser = commands.add_parser(
        "pretrain", help="make the book's own pretrained encoder files (AudioSet/AudioCLIP stand-ins)",
        description="Pretrain the small model's encoder on the synthetic labelled corpus: stage 'audio' "
                    "(sound-event tagging, ESRNXFBSP.pt layout), then stage 'audio_text' (contrastive audio-"
                    "text, AudioCLIP layout). Cached in $CLIPAAC_CACHE/weights; a second call finds them.")
    parser.add_argument("--init", choices=("audio", "audio_text"), default="audio_text",
                        help="the stage to make (audio_text makes audio first); default audio_text")
    parser.add_argument("--model-config", default="small", help="model size whose encoder to pretrain (small)")
    parser.add_argument("--clips", type=_positive, help="clips in the labelled corpus (default 800)")
    parser.add_argument("--corpus-seed", type=int, help="seed of the labelled corpus (default 1)")
    parser.add_argument("--audio-epochs", type=_positive, help="epochs of stage audio (default 6)")
    parser.add_argument("--text-epochs", type=_positive, help="epochs of stage audio_text (default 4)")
    parser.add_argument("--seed", type=int, help="seed of the initialisation and batch order (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_pretrain)
