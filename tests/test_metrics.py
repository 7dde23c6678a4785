"""evaluate_captions against independent references: aac-metrics' published example, pycocoevalcap called
directly (the implementation behind published AAC scores), hand-derived values, and locale behaviour."""

from __future__ import annotations

import gzip
import random
import subprocess
import warnings

import pytest

from clipaac_lib.metrics import METRIC_KEYS, JavaNotFoundError, evaluate_captions
from clipaac_lib.metrics import scoring as evaluate_module
from clipaac_lib.metrics.java import find_java
from clipaac_lib.metrics.meteor import MeteorScorer, meteor_command, meteor_jar
from clipaac_lib.metrics.paraphrase import load_index, meteor_words, prune_table
from clipaac_lib.metrics.ptb import ptb_tokenize

# aac-metrics 0.6.0 documents these values (tests/test_doc_examples.py; facts.md section 3).
AAC_CANDIDATES = ["a man is speaking", "rain falls"]
AAC_REFERENCES = [
    ["a man speaks.", "someone speaks.", "a man is speaking while a bird is chirping in the background"],
    ["rain is falling hard on a surface"],
]

SUBJECTS = [
    "a man",
    "a guy",
    "a person",
    "someone",
    "a woman",
    "a lady",
    "people",
    "a crowd",
    "children",
    "kids",
    "a dog",
    "a puppy",
    "a car",
    "a vehicle",
    "an automobile",
    "birds",
    "water",
]
VERBS = [
    "is talking",
    "speaks",
    "is speaking",
    "chats",
    "is shouting",
    "yells",
    "screams",
    "barks",
    "is barking",
    "drives by",
    "passes by",
    "goes past",
    "is running",
    "runs",
    "chirp",
    "are singing",
    "flows",
    "trickles",
]
PLACES = [
    "in a large room",
    "in a big hall",
    "on a busy street",
    "on a crowded road",
    "near the sea",
    "close to the ocean",
    "in the background",
    "at a distance",
    "far away",
    "while rain falls",
    "as it rains",
    "while it is raining",
    "",
]
# Edge cases appended to the generated clips: empty candidate, candidate equal to one reference,
# non-ASCII text, punctuation and symbols that the PTB tokenizer and METEOR's normaliser transform.
EDGE_CANDIDATES = [
    "",
    "a dog barks loudly in the distance",
    "Un café très chaud — « bouillant » près de la fenêtre",
    "A car's horn (honk!) & 2 engines; 3.5 km/h, rock'n'roll #loud",
    "!!!",
]
EDGE_REFERENCES = [
    ["a man speaks", "someone is talking", "a person talks quietly", "people chat", "a voice is heard"],
    [
        "a dog barks",
        "a dog barks loudly in the distance",
        "a puppy is barking far away",
        "dogs bark",
        "a dog is barking",
    ],
    ["un café chaud près de la fenêtre", "du café très chaud", "Ein Café am Fenster", "a hot coffee", "café"],
    [
        "a car horn honks twice",
        "two engines (running) at 3.5 km/h",
        "rock'n'roll music & a car's horn",
        "a car honks; engines run",
        "loud #music",
    ],
    ["silence", "nothing", "quiet", "no sound", "a quiet room"],
]


def generated_corpus(n_clips: int = 40, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)

    def sentence() -> str:
        text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)}".strip()
        return text.capitalize() + rng.choice(["", ".", "!"])

    candidates = [sentence() for _ in range(n_clips)] + EDGE_CANDIDATES
    references = [[sentence() for _ in range(5)] for _ in range(n_clips)] + EDGE_REFERENCES
    return candidates, references


def pycocoevalcap_scores(candidates: list[str], references: list[list[str]]) -> tuple[dict[str, float], dict]:
    """pycocoevalcap's own tokenizer and scorers, called the way its COCOEvalCap does."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    res = tokenizer.tokenize({i: [{"caption": c}] for i, c in enumerate(candidates)})
    gts = tokenizer.tokenize({i: [{"caption": r} for r in refs] for i, refs in enumerate(references)})
    corpus: dict[str, float] = {}
    clips: dict[str, list[float]] = {}
    bleu, bleu_clip = Bleu(4).compute_score(gts, res, verbose=0)
    for k in range(4):
        corpus[f"bleu_{k + 1}"], clips[f"bleu_{k + 1}"] = bleu[k], list(bleu_clip[k])
    for key, scorer in (("meteor", Meteor()), ("rouge_l", Rouge()), ("cider_d", Cider())):
        value, per_clip = scorer.compute_score(gts, res)
        corpus[key], clips[key] = float(value), [float(v) for v in per_clip]
    return corpus, {"clips": clips, "gts": gts, "res": res}


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[list[str]]]:
    return generated_corpus()


@pytest.fixture(scope="module")
def reference(corpus: tuple[list[str], list[list[str]]]) -> tuple[dict[str, float], dict]:
    return pycocoevalcap_scores(*corpus)


@pytest.fixture(scope="module")
def ours(corpus: tuple[list[str], list[list[str]]]) -> dict:
    return evaluate_captions(*corpus, per_clip=True, spice=False)


@pytest.fixture(scope="module")
def aac_scores() -> dict:
    return evaluate_captions(AAC_CANDIDATES, AAC_REFERENCES, per_clip=True, spice=False, modern=False)


def test_published_aac_metrics_example(aac_scores: dict) -> None:
    scores = aac_scores
    assert set(scores) == {*METRIC_KEYS, "per_clip"}
    assert scores["bleu_1"] == pytest.approx(0.4278, abs=5e-5)
    assert scores["cider_d"] == pytest.approx(0.9614, abs=5e-5)
    assert scores["per_clip"]["cider_d"] == pytest.approx([1.3641, 0.5587], abs=5e-5)
    assert scores["spice"] is None and scores["spider"] is None
    assert all(isinstance(scores[k], float) for k in METRIC_KEYS if k not in ("spice", "spider"))


@pytest.mark.slow  # the reference fixture, pycocoevalcap on a 40-clip corpus, takes about 10 s
def test_equals_pycocoevalcap_on_generated_corpus(
    ours: dict, reference: tuple[dict[str, float], dict]
) -> None:
    corpus, extra = reference
    for key, value in corpus.items():
        assert ours[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        assert ours["per_clip"][key] == pytest.approx(extra["clips"][key], rel=1e-12, abs=1e-15), key
    assert ours["cider_d"] > 0.1 and ours["meteor"] > 0.1  # a corpus with real overlaps, not all zeros


def test_generated_corpus_exercises_meteor_paraphrases(
    corpus: tuple[list[str], list[list[str]]], tmp_path
) -> None:
    """The equality above checks the reduced paraphrase table only if paraphrases change some score."""
    candidates, references = corpus
    tokens = ptb_tokenize(candidates + [r for refs in references for r in refs], java=find_java())
    cands, flat = tokens[: len(candidates)], tokens[len(candidates) :]
    refs = [flat[5 * i : 5 * i + 5] for i in range(len(candidates))]
    kept = prune_table(load_index(), meteor_words(cands), meteor_words(flat), tmp_path / "pruned.gz")
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    with MeteorScorer(find_java(), paraphrase_table=tmp_path / "pruned.gz") as scorer:
        with_table = scorer.score(cands, refs)[1]
    with MeteorScorer(find_java(), paraphrase_table=empty) as scorer:
        without = scorer.score(cands, refs)[1]
    assert kept > 0
    assert sum(a != b for a, b in zip(with_table, without, strict=True)) >= 3


def test_empty_candidate_scores_zero(ours: dict, corpus: tuple[list[str], list[list[str]]]) -> None:
    i = corpus[0].index("")
    clips = ours["per_clip"]
    assert clips["rouge_l"][i] == 0.0 and clips["cider_d"][i] == 0.0 and clips["meteor"][i] == 0.0
    assert all(clips[f"bleu_{k}"][i] < 1e-6 for k in range(1, 5))


def test_candidate_equal_to_a_reference(ours: dict, corpus: tuple[list[str], list[list[str]]]) -> None:
    # Hand-derived: every n-gram matches and the closest reference has the same length, so each
    # per-sentence BLEU-n is 1 (pycocoevalcap adds 1e-9-sized smoothing terms); ROUGE-L has P = R = 1;
    # METEOR 1.5 drops its fragmentation penalty when hypothesis and reference are identical, giving 1.
    i = corpus[0].index("a dog barks loudly in the distance")
    clips = ours["per_clip"]
    assert all(clips[f"bleu_{k}"][i] == pytest.approx(1.0, abs=1e-8) for k in range(1, 5))
    assert clips["rouge_l"][i] == pytest.approx(1.0, abs=1e-12)
    assert clips["meteor"][i] == pytest.approx(1.0, abs=1e-12)


def test_mismatched_lengths_clear_error() -> None:
    with pytest.raises(ValueError, match="3 candidates but 2 reference lists"):
        evaluate_captions(["a", "b", "c"], [["a"], ["b"]], spice=False)


@pytest.mark.parametrize(
    ("candidates", "references", "error", "message"),
    [
        (["a", "b"], [["a"], "b"], TypeError, r"references\[1\] is str"),
        (["a", "b"], [["a"], []], ValueError, r"references\[1\] is empty"),
        (["a", 3], [["a"], ["b"]], TypeError, r"candidates\[1\] is int"),
        (["a"], [["a", None]], TypeError, r"references\[0\]\[1\] is NoneType"),
        ("a dog", [["a dog"]], TypeError, "candidates must be a list"),
        ([], [], ValueError, "no clips"),
    ],
)
def test_bad_input_names_the_row(candidates, references, error, message) -> None:
    with pytest.raises(error, match=message):
        evaluate_captions(candidates, references, spice=False)


@pytest.mark.slow  # uses the reference fixture (pycocoevalcap, about 10 s)
def test_non_ascii_and_punctuation_tokenised_like_pycocoevalcap(
    reference: tuple[dict[str, float], dict],
    corpus: tuple[list[str], list[list[str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    candidates, _ = corpus
    res = reference[1]["res"]
    expected = [res[i][0] for i in range(len(candidates))]
    assert ptb_tokenize(candidates, java=find_java()) == expected
    assert "café" in expected[candidates.index(EDGE_CANDIDATES[2])].split()
    # Under a plain C locale Java would default to ASCII; our JVMs are told to use UTF-8.
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    assert ptb_tokenize(candidates, java=find_java()) == expected


def test_line_breaks_inside_captions_do_not_shift_clips() -> None:
    # The tokenizer reads \r, \x0b, \x0c, \u2028 and \u2029 as line breaks; pycocoevalcap only replaces \n,
    # so such a caption would shift every later caption onto the wrong clip.
    out = ptb_tokenize(["a\rb", "c\u2028d", "e\x0bf\x0cg\u2029h", "i\nj", "", "last one"], java=find_java())
    assert out == ["a b", "c d", "e f g h", "i j", "", "last one"]


@pytest.mark.parametrize("variable", ["JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"])
def test_german_locale_gives_the_same_numbers(
    variable: str, aac_scores: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = aac_scores
    monkeypatch.setenv(variable, "-Duser.language=de -Duser.country=DE")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert evaluate_captions(AAC_CANDIDATES, AAC_REFERENCES, per_clip=True, spice=False, modern=False) == expected


def test_german_locale_simulation_really_changes_meteor_output(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without our flags, METEOR under the simulated German locale prints decimal commas (aac-metrics #9)."""
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    env = {"JAVA_TOOL_OPTIONS": "-Duser.language=de -Duser.country=DE", "PATH": "/usr/bin:/bin"}
    score = b"SCORE ||| a man speaks ||| a man is speaking\n"
    ours_cmd = meteor_command(find_java(), empty)
    stats = subprocess.run(ours_cmd, input=score, capture_output=True, env=env, timeout=120).stdout.strip()
    both = score + b"EVAL ||| " + stats + b"\n"
    plain = [
        find_java(),
        "-jar",
        str(meteor_jar()),
        "-",
        "-",
        "-stdio",
        "-l",
        "en",
        "-norm",
        "-a",
        str(empty),
    ]
    german = subprocess.run(plain, input=both, capture_output=True, env=env, timeout=120)
    ours = subprocess.run(ours_cmd, input=both, capture_output=True, env=env, timeout=120)
    assert german.returncode != 0 and b"InputMismatchException" in german.stderr  # reads "4.0" as German
    assert ours.returncode == 0 and 0 < float(ours.stdout.split()[-1]) < 1


def test_java_missing_gives_install_instructions(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    with pytest.raises(JavaNotFoundError, match="default-jre-headless"):
        evaluate_captions(AAC_CANDIDATES, AAC_REFERENCES, java=tmp_path / "no-java", spice=False)
    for variable in ("CLIPAAC_JAVA", "JAVA_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match="conda install -c conda-forge openjdk"):
        find_java()


def test_each_java_tool_starts_once_per_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[list[str]] = []
    real_popen = subprocess.Popen

    class CountingPopen(real_popen):  # type: ignore[misc,valid-type]
        def __init__(self, args, *rest, **kwargs):
            launched.append([str(a) for a in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", CountingPopen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate_module.evaluate_captions(AAC_CANDIDATES, AAC_REFERENCES, spice=False, modern=False)
    meteor = [cmd for cmd in launched if str(meteor_jar()) in cmd]
    ptb = [cmd for cmd in launched if "edu.stanford.nlp.process.PTBTokenizer" in cmd]
    assert len(meteor) == 1 and len(ptb) == 1
    assert "-Duser.language=en" in meteor[0] and "-Duser.language=en" in ptb[0]


@pytest.mark.parametrize("case", ["single clip", "paraphrase table"])
def test_warnings_point_at_the_caller_of_evaluate_captions(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidates, references = AAC_CANDIDATES, AAC_REFERENCES
    if case == "single clip":
        candidates, references = candidates[:1], references[:1]
    else:

        def broken_index():
            raise OSError("no index")

        monkeypatch.setattr(evaluate_module, "load_index", broken_index)
    with pytest.warns(RuntimeWarning, match=case) as caught:
        evaluate_module.evaluate_captions(candidates, references, spice=False, modern=False)
    assert [w.filename for w in caught] == [__file__]
