"""Speed of ``evaluate_captions`` on a Clotho-sized evaluation: 1045 clips x 5 references, no SPICE.

Usage: ``python benchmarks/metrics_speed.py [--corpus coco|templates] [--repeat N] [--baseline]
[--full-table]``

Corpora (both offline, generated here):

- ``coco`` (default): real human captions with a realistic vocabulary (about 3,800 words; Clotho's
  evaluation references have about 4,000-4,500). They are the MS COCO val2014 captions that
  pycocoevalcap ships inside ``spice-1.0.jar``: for 1045 images, the candidate is an image's first
  caption, the references are its four other captions plus one caption of another image.
- ``templates``: sound-event sentences from a small grammar (about 60 words; a lower bound).

It prints seconds per step of one evaluation: PTB tokenisation, preparing METEOR's paraphrase table,
BLEU, ROUGE-L, CIDEr-D, METEOR (JVM start + scoring, overlapping with the three before it) and the
total wall time. ``--baseline`` also times pycocoevalcap called directly (tokenizer and scorers one
after another, as its ``COCOEvalCap`` does) and checks that the scores agree. ``--full-table`` gives
METEOR its full paraphrase table. The first run may build the METEOR index (about 20 s, once).
Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import sys
import time
import warnings
import zipfile

from clipaac_lib.metrics.scoring import ScoringOptions, evaluate_captions_timed
from clipaac_lib.metrics.spice import spice_jar

N_CLIPS = 1045
N_REFS = 5


def coco_corpus(n_clips: int = N_CLIPS, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Candidates and 5 references per clip from the COCO captions inside pycocoevalcap's SPICE jar."""
    with zipfile.ZipFile(spice_jar()) as jar:
        data = json.loads(jar.read("coco/annotations/captions_val2014.json"))
    captions: dict[int, list[str]] = collections.defaultdict(list)
    for ann in data["annotations"]:
        captions[ann["image_id"]].append(ann["caption"])
    images = sorted(k for k, v in captions.items() if len(v) >= 5)
    rng = random.Random(seed)
    chosen = rng.sample(images, 2 * n_clips)
    clips, others = chosen[:n_clips], chosen[n_clips:]
    candidates = [captions[i][0] for i in clips]
    references = [captions[i][1:5] + [captions[j][0]] for i, j in zip(clips, others, strict=True)]
    return candidates, references


def template_corpus(n_clips: int = N_CLIPS, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Sound-event sentences from a small grammar."""
    rng = random.Random(seed)
    subjects = [
        "a man",
        "a woman",
        "a dog",
        "birds",
        "the wind",
        "rain",
        "a car",
        "people",
        "water",
        "a door",
        "children",
        "an engine",
        "footsteps",
        "a crowd",
    ]
    verbs = [
        "is speaking",
        "barks",
        "chirp loudly",
        "blows",
        "falls",
        "passes by",
        "talk",
        "flows",
        "creaks",
        "play",
        "runs",
        "echo",
        "cheers",
        "hums",
    ]
    tails = [
        "in the background",
        "on a metal roof",
        "while cars pass",
        "near a busy street",
        "at a distance",
        "",
        "softly",
        "repeatedly",
        "in a large room",
        "outside.",
    ]

    def sentence() -> str:
        return (
            f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)} and "
            f"{rng.choice(subjects)} {rng.choice(verbs)}"
        ).replace("  ", " ")

    return [sentence() for _ in range(n_clips)], [[sentence() for _ in range(N_REFS)] for _ in range(n_clips)]


def baseline(candidates: list[str], references: list[list[str]]) -> tuple[dict[str, float], dict[str, float]]:
    """pycocoevalcap called directly, one metric after the other."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    times: dict[str, float] = {}
    start = time.perf_counter()
    tokenizer = PTBTokenizer()
    res = tokenizer.tokenize({i: [{"caption": c}] for i, c in enumerate(candidates)})
    gts = tokenizer.tokenize({i: [{"caption": r} for r in refs] for i, refs in enumerate(references)})
    times["tokenize"] = time.perf_counter() - start
    scores: dict[str, float] = {}
    for name, scorer in (("bleu", Bleu(4)), ("rouge_l", Rouge()), ("cider_d", Cider()), ("meteor", None)):
        t0 = time.perf_counter()
        if name == "meteor":
            scorer = Meteor()
        value, _ = (
            scorer.compute_score(gts, res, verbose=0) if name == "bleu" else scorer.compute_score(gts, res)
        )
        if name == "bleu":
            scores.update({f"bleu_{k + 1}": float(value[k]) for k in range(4)})
        else:
            scores[name] = float(value)
        times[name] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - start
    return scores, times


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the JVMs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=("coco", "templates"), default="coco")
    parser.add_argument("--repeat", type=int, default=3, help="evaluations to time (the table shows each)")
    parser.add_argument("--baseline", action="store_true", help="also time pycocoevalcap called directly")
    parser.add_argument("--full-table", action="store_true", help="METEOR with its full paraphrase table")
    args = parser.parse_args(argv)

    candidates, references = coco_corpus() if args.corpus == "coco" else template_corpus()
    vocab = {w for s in candidates + [r for refs in references for r in refs] for w in s.lower().split()}
    print(
        f"corpus: {args.corpus}, {len(candidates)} clips x {N_REFS} references, "
        f"~{len(vocab)} distinct words; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}"
    )
    steps = ["tokenize", "meteor_table", "bleu", "rouge_l", "cider_d", "meteor", "total", "cpu (all procs)"]
    runs: list[dict[str, float]] = []
    scores: dict[str, object] = {}
    for _ in range(args.repeat):
        cpu_before = cpu_seconds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            options = ScoringOptions(spice=False, prune_meteor=not args.full_table)
            scores, timings = evaluate_captions_timed(candidates, references, options=options)
        timings["cpu (all procs)"] = cpu_seconds() - cpu_before
        runs.append(timings)
    header = f"{'step (seconds)':<16}" + "".join(f"{'run ' + str(i + 1):>9}" for i in range(len(runs)))
    print(header)
    for step in steps:
        print(f"{step:<16}" + "".join(f"{run.get(step, float('nan')):>9.2f}" for run in runs))
    print(
        "(meteor runs in its own process, overlapping with bleu, rouge_l and cider_d; total is wall time;\n"
        " cpu is user+system time of Python and the JVMs: with 2 idle cores, wall time >= cpu / 2)"
    )
    print("scores: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items() if isinstance(v, float)))
    if args.baseline:
        cpu_before = cpu_seconds()
        ref_scores, ref_times = baseline(candidates, references)
        ref_times["cpu (all procs)"] = cpu_seconds() - cpu_before
        print("pycocoevalcap direct: " + ", ".join(f"{k} {v:.2f}s" for k, v in ref_times.items()))
        worst = max(abs(ref_scores[k] - float(scores[k])) for k in ref_scores)  # type: ignore[arg-type]
        print(f"largest score difference to pycocoevalcap: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
