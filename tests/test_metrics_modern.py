"""SPIDEr-FL, FENSE, sentence-BERT similarity, SPIDEr-max and vocabulary (clipaac_lib.metrics.modern).

No download: the combination rules are checked against the published definitions (fense /
aac-metrics 0.6.0: penalty x0.1 when the error probability is above 0.9) with numbers given by hand;
the model-based scores run on tiny models built here in the published formats (a sentence-transformers
folder saved with ``save()``, an echecker checkpoint ``{"model_type", "num_classes", "state_dict"}``
with a random tiny BERT), served from ``file://`` URLs so that they go through the real download
(checksums), cache and loading code; the offline path uses URLs that cannot be reached and
``HF_HUB_OFFLINE``, with the network guarded.
"""

from __future__ import annotations

import json
import math
import urllib.request
import warnings
from pathlib import Path

import pytest

from clipaac_lib.common import paths
from clipaac_lib.common.download import Checksum, file_hash
from clipaac_lib.metrics import (
    METRIC_KEYS,
    MODERN_KEYS,
    ModelMetricsUnavailableError,
    ModelMetricsUnavailableWarning,
    evaluate_captions,
    fense,
    modern,
    multi_candidates,
    sbert_sim,
    spider_fl,
    spider_max,
    vocab,
)
from clipaac_lib.metrics.modern_models import (
    DOWNLOAD_HINT,
    ECHECKER_BASE,
    ECHECKER_CHECKPOINT,
    SBERT_TINYBERT,
    ModelSource,
    ModernModels,
    RemoteFile,
    load_echecker,
)

WORDS = "a man is speaking dog barks rain falls the bird chirping loudly on roof water".split()
CANDIDATES = ["a man is speaking", "rain falls on the roof", "a dog barks loudly"]
REFERENCES = [
    ["a man speaks", "the man is speaking loudly"],
    ["rain falls", "water falls on a roof", "the rain"],
    ["a dog barks"],
]


# --- tiny models in the published formats, served from file:// URLs ---------------------------------


def _tiny_bert(folder: Path, seed: int):
    """A random 1-layer, 8-wide BERT and its WordPiece vocabulary, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64)
    torch.manual_seed(seed)
    model = BertModel(config)
    config.save_pretrained(folder)
    # bert-base-uncased's own tokenizer_config.json is this small: the rest comes from config.json + vocab
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 512}))
    return model


def _source(name: str, folder: Path, files: dict[str, Path], **kw) -> ModelSource:
    """A ModelSource serving ``files`` ({path in the model folder: local file}) from file:// URLs."""
    return ModelSource(
        name=name,
        files=tuple(RemoteFile(p, f.as_uri(), Checksum("sha256", file_hash(f, "sha256"))) for p, f in files.items()),
        about="tiny test model",
        origin=folder.as_uri(),
        **kw,
    )


@pytest.fixture(scope="module")
def tiny_sbert(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelSource, Path]:
    """(source, the saved folder): a tiny BERT + mean pooling saved by sentence-transformers."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    root = tmp_path_factory.mktemp("mirror-sbert")
    model = _tiny_bert(root / "bert", seed=1)
    model.save_pretrained(root / "bert")
    transformer = Transformer(str(root / "bert"), max_seq_length=32)
    st = SentenceTransformer(modules=[transformer, Pooling(8, "mean")], device="cpu")
    st.save(str(root / "sbert"))
    files = {str(f.relative_to(root / "sbert")): f for f in sorted((root / "sbert").rglob("*")) if f.is_file()}
    return _source("tiny-sbert", root / "sbert", files), root / "sbert"


def _echecker(root: Path, error_prob: float | None, seed: int = 2) -> ModelSource:
    """An echecker in fense's checkpoint format. ``error_prob``: the classifier's weights are zero, so
    every caption gets this probability of the last class (``error``) and 0.5 for the five others
    (fense's error types); None: random weights."""
    import torch

    encoder = _tiny_bert(root / "encoder", seed=seed)
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    # what transformers < 4.31 saved, as in the published checkpoint (dropped when loading)
    state["encoder.embeddings.position_ids"] = torch.arange(64)[None]
    clf = torch.nn.Linear(8, 6)
    if error_prob is not None:
        torch.nn.init.zeros_(clf.weight)
        torch.nn.init.zeros_(clf.bias)
        with torch.no_grad():
            clf.bias[-1] = math.log(error_prob / (1 - error_prob))
    state.update({f"clf.{k}": v for k, v in clf.state_dict().items()})
    torch.save({"model_type": "tiny-bert", "num_classes": 6, "state_dict": state}, root / "checker.ckpt")
    files = {ECHECKER_CHECKPOINT: root / "checker.ckpt",
             **{f"encoder/{n}": root / "encoder" / n for n in ("config.json", "vocab.txt", "tokenizer_config.json")}}
    return _source(f"tiny-echecker-{root.name}", root, files, encoder_type="tiny-bert")


@pytest.fixture(scope="module")
def checkers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelSource]:
    """Tiny echeckers: "fluent" (error probability 0.85 for every caption), "disfluent" (0.95), "random"."""
    return {
        name: _echecker(tmp_path_factory.mktemp(f"mirror-{name}"), prob)
        for name, prob in (("fluent", 0.85), ("disfluent", 0.95), ("random", None))
    }


@pytest.fixture(scope="module", autouse=True)
def hub_offline():
    """HF_HUB_OFFLINE=1 as the Makefile sets it (transformers never asks the hub); file:// still works."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$CLIPAAC_CACHE on an empty folder (sharing the normal cache's METEOR index), and no network:
    a request to anything but a file:// URL fails the test."""
    meteor = paths.subdir("meteor")
    root = tmp_path / "cache"
    root.mkdir()
    (root / "meteor").symlink_to(meteor, target_is_directory=True)
    monkeypatch.setenv(paths.ENV_VAR, str(root))
    real_urlopen = urllib.request.urlopen

    def local_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        assert url.startswith("file:"), f"the test tried the network: {url}"
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    return root


def _by_hand_similarities(folder: Path, candidates, references) -> list[float]:
    """Per-clip mean cosine similarity, computed here from the saved folder, independently of modern.py."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    out = []
    for cand, refs in zip(candidates, references, strict=True):
        c = model.encode([cand], convert_to_tensor=True)
        r = model.encode(list(refs), convert_to_tensor=True)
        out.append(float(torch.nn.functional.cosine_similarity(c, r).mean()))
    return out


# --- combination rules, by hand -----------------------------------------------------------------


def test_penalty_is_a_tenth_above_the_threshold_only() -> None:
    # fense / aac-metrics: has_error = prob > error_threshold (0.9); score * (1 - penalty), penalty 0.9
    assert modern.ERROR_THRESHOLD == 0.9 and modern.PENALTY == 0.9
    probs = [0.95, 0.9000001, 1.0, 0.9, 0.8999, 0.5, 0.0]
    assert modern.fluency_penalties(probs) == pytest.approx([0.1, 0.1, 0.1, 1.0, 1.0, 1.0, 1.0])


def test_fense_and_spider_fl_rules_by_hand() -> None:
    # FENSE: mean over clips of (mean over references of cosine similarity) x penalty
    sims = [(0.9 + 0.7) / 2, (0.5 + 0.3 + 0.1) / 3, 0.6]
    assert modern.penalised_mean(sims, [0.2, 0.97, 0.5]) == pytest.approx((0.8 + 0.03 + 0.6) / 3)
    # SPIDEr-FL: mean over clips of per-clip SPIDEr x penalty (not corpus SPIDEr x mean penalty)
    assert modern.penalised_mean([0.3, 0.6], [0.99, 0.2]) == pytest.approx((0.03 + 0.6) / 2)
    assert math.isnan(modern.penalised_mean([0.3, math.nan], [0.0, 0.0]))
    with pytest.raises(ValueError, match="2 clip scores but 1"):
        modern.penalised_mean([0.3, 0.6], [0.5])


def test_vocab_counts_distinct_words_by_hand() -> None:
    # {a, dog, barks, runs, Dog, dog.}: split on whitespace only, as aac-metrics' vocab.cands
    assert vocab(["a dog barks", "a dog runs", "Dog dog."]) == 6
    assert vocab(["  a  a ", ""]) == 1
    with pytest.raises(TypeError):
        vocab("a dog barks")


def test_max_over_candidates_is_mean_of_per_clip_best() -> None:
    # clip 1: best 0.5, clip 2: best 0.9, clip 3: 0.1
    assert modern.max_over_candidates([[0.2, 0.5, 0.4], [0.9, 0.1, 0.0], [0.1, 0.1, 0.1]]) == pytest.approx(0.5)
    assert math.isnan(modern.max_over_candidates([[0.2, math.nan], [0.3, 0.1]]))


def test_spider_max_scores_each_rank_as_a_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    by_rank = {("a0", "b0"): [0.1, 0.8], ("a1", "b1"): [0.6, 0.2]}  # per-clip SPIDEr of each rank, by hand

    def fake_evaluate(corpora, *, per_clip: bool, spice, java, modern):
        scored = []
        for candidates, _ in corpora:
            calls.append(tuple(candidates))
            values = by_rank[tuple(candidates)]
            scored.append({"spider": sum(values) / len(values), "per_clip": {"spider": values}})
        return scored

    monkeypatch.setattr(multi_candidates, "evaluate_corpora", fake_evaluate)
    refs = [["r"], ["s"]]
    assert spider_max([["a0", "a1"], ["b0", "b1"]], refs) == pytest.approx((0.6 + 0.8) / 2)
    assert calls == [("a0", "b0"), ("a1", "b1")]  # the j-th candidates of all clips together
    with pytest.raises(ValueError, match="same number"):
        spider_max([["a0", "a1"], ["b0"]], refs)
    monkeypatch.setattr(multi_candidates, "evaluate_corpora",
                        lambda corpora, **k: [{"spider": None, "per_clip": {}} for _ in corpora])
    assert spider_max([["a0"], ["b0"]], refs) is None  # no SPICE, no SPIDEr-max


# --- tiny models through the real download and loading code ---------------------------------------


def test_sbert_sim_downloads_and_loads_the_tiny_model(cache: Path, tiny_sbert) -> None:
    source, saved = tiny_sbert
    models = ModernModels(sbert=source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = sbert_sim(CANDIDATES, REFERENCES, models=models, device="cpu")
    expected = _by_hand_similarities(saved, CANDIDATES, REFERENCES)
    assert score == pytest.approx(sum(expected) / 3, abs=1e-6)
    assert modern.sentence_similarities(CANDIDATES, REFERENCES, models=models, device="cpu") == pytest.approx(
        expected, abs=1e-6
    )
    folder = cache / "fense" / "tiny-sbert"
    assert source.missing() == [] and (folder / "modules.json").is_file()  # downloaded into the cache


def test_fense_applies_the_penalty_of_the_tiny_echecker(cache: Path, tiny_sbert, checkers) -> None:
    sbert = tiny_sbert[0]
    fluent = ModernModels(sbert=sbert, echecker=checkers["fluent"])
    disfluent = ModernModels(sbert=sbert, echecker=checkers["disfluent"])
    sim = sbert_sim(CANDIDATES, REFERENCES, models=fluent, device="cpu")
    assert modern.fluency_error_probs(CANDIDATES, models=fluent, device="cpu") == pytest.approx([0.85] * 3)
    assert modern.fluency_error_probs(CANDIDATES, models=disfluent, device="cpu") == pytest.approx([0.95] * 3)
    assert fense(CANDIDATES, REFERENCES, models=fluent, device="cpu") == pytest.approx(sim)
    assert fense(CANDIDATES, REFERENCES, models=disfluent, device="cpu") == pytest.approx(0.1 * sim)
    spider = [0.4, 0.2, 0.0]
    assert spider_fl(CANDIDATES, spider, models=fluent, device="cpu") == pytest.approx(0.2)
    assert spider_fl(CANDIDATES, spider, models=disfluent, device="cpu") == pytest.approx(0.02)


def test_echecker_loads_the_checkpoint_weights_and_preprocesses_like_fense(cache: Path, checkers) -> None:
    import torch

    source = checkers["random"]
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    model, tokenizer = load_echecker(source, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), before)  # loading leaves training's RNG alone
    saved = torch.load(source.folder() / ECHECKER_CHECKPOINT, weights_only=True)["state_dict"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    models = ModernModels(echecker=source)
    plain, loud, other = modern.fluency_error_probs(
        ["a dog barks", "A dog, barks!", "rain falls on the roof"], models=models, device="cpu"
    )
    assert plain == pytest.approx(loud, abs=1e-6)  # punctuation removed and lower case first
    assert plain != pytest.approx(other, abs=1e-6) and 0 < plain < 1


def test_echecker_declaring_another_model_type_is_refused_naming_the_folder(cache: Path, checkers) -> None:
    """The tiny checkpoint declares ``model_type`` "tiny-bert"; a source expecting "bert-base-uncased"
    must refuse it (its encoder config would not be the one the weights were trained with) with an
    error naming the folder to delete, and load nothing."""
    import dataclasses

    import torch

    source = dataclasses.replace(checkers["random"], encoder_type="bert-base-uncased")
    with pytest.raises(ModelMetricsUnavailableError) as caught:
        load_echecker(source, device="cpu")
    declared = torch.load(source.folder() / ECHECKER_CHECKPOINT, weights_only=True)
    assert declared["model_type"] == "tiny-bert"  # the fake checkpoint, fetched, in fense's format
    message = str(caught.value)
    assert str(source.folder()) in message and "'tiny-bert'" in message and "'bert-base-uncased'" in message
    assert caught.value.model == source.name
    model, _ = load_echecker(checkers["random"], device="cpu")  # the matching declaration still loads
    assert isinstance(model, torch.nn.Module)


# --- offline: None and one warning naming what is missing, no network --------------------------------


def test_offline_model_scores_are_none_with_one_warning(cache: Path, tmp_path: Path) -> None:
    gone = (tmp_path / "nowhere").as_uri()
    models = ModernModels(
        sbert=ModelSource("sbert-missing", (RemoteFile("modules.json", f"{gone}/modules.json"),)),
        echecker=ModelSource("echecker-missing", (RemoteFile(ECHECKER_CHECKPOINT, f"{gone}/x.ckpt"),)),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fense(CANDIDATES, REFERENCES, models=models) is None
    assert len(caught) == 1 and caught[0].category is ModelMetricsUnavailableWarning
    message = str(caught[0].message)
    assert "could not be downloaded" in message
    assert "sbert-missing" in message and "echecker-missing" in message and DOWNLOAD_HINT in message
    assert caught[0].message.missing == ("sbert-missing", "echecker-missing")
    assert str(cache / "fense") in message and caught[0].filename == __file__
    with pytest.warns(ModelMetricsUnavailableWarning, match="sbert-missing") as caught:
        assert sbert_sim(CANDIDATES, REFERENCES, models=models) is None
    assert len(caught) == 1


def test_hub_offline_downloads_nothing(cache: Path) -> None:
    with pytest.warns(ModelMetricsUnavailableWarning) as caught:
        assert spider_fl(CANDIDATES, [0.1, 0.2, 0.3]) is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert ECHECKER_BASE.name in message and "HF_HUB_OFFLINE" in message and "github.com/blmoistawinde" in message
    assert not [f for f in (cache / "fense").rglob("*") if f.is_file()]  # nothing fetched, nothing begun


# --- evaluate_captions(modern=...) ---------------------------------------------------------------------


def test_evaluate_captions_modern_auto_offline(cache: Path) -> None:
    candidates = ["A man is speaking.", "rain falls, rain falls"]
    references = [["a man speaks", "someone speaks"], ["rain is falling hard"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = evaluate_captions(candidates, references, spice=False, modern="auto")
    assert list(scores) == [*METRIC_KEYS, *MODERN_KEYS]
    # PTB-tokenised first: {a, man, is, speaking, rain, falls}; the raw text would give 7 ("A", "speaking.", "falls,")
    assert scores["vocab"] == 6
    assert scores["spider_fl"] is None and scores["fense"] is None and scores["sbert_sim"] is None
    modern_warnings = [w for w in caught if w.category is ModelMetricsUnavailableWarning]
    assert len(modern_warnings) == 1 and modern_warnings[0].filename == __file__
    message = str(modern_warnings[0].message)
    assert SBERT_TINYBERT.name in message and ECHECKER_BASE.name in message and DOWNLOAD_HINT in message
    assert message.startswith("spider_fl, fense, sbert_sim are None")
    assert modern_warnings[0].message.missing == (SBERT_TINYBERT.name, ECHECKER_BASE.name)
    with pytest.raises(ModelMetricsUnavailableError, match="modern=True"):
        evaluate_captions(candidates, references, spice=False, modern=True)
    with pytest.raises(ValueError, match="modern must be"):
        evaluate_captions(candidates, references, spice=False, modern="yes")  # type: ignore[arg-type]


def test_evaluate_captions_spider_fl_from_per_clip_spider(
    cache: Path, tiny_sbert, checkers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipaac_lib.metrics import scoring

    class FakeSpice:  # SPICE "installed": per-clip SPICE given by hand
        def __init__(self, candidates, references, **kwargs) -> None:
            pass

        def result(self):
            return 0.35, [0.5, 0.2]

        def kill(self) -> None:
            pass

    monkeypatch.setattr(scoring, "spice_available", lambda cache_dir=None: True)
    monkeypatch.setattr(scoring, "SpiceProcess", FakeSpice)
    candidates, references = CANDIDATES[:2], REFERENCES[:2]
    options = scoring.ScoringOptions(modern="auto", modern_device="cpu",
                                     modern_models=ModernModels(sbert=tiny_sbert[0], echecker=checkers["disfluent"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores, timings = scoring.evaluate_captions_timed(candidates, references, per_clip=True, options=options)
    assert list(scores) == [*METRIC_KEYS, *MODERN_KEYS, "per_clip"] and "modern" in timings
    spider = scores["per_clip"]["spider"]
    assert scores["spider_fl"] == pytest.approx(0.1 * (spider[0] + spider[1]) / 2)
    sims = _by_hand_similarities(tiny_sbert[1], ["a man is speaking", "rain falls on the roof"], references)
    assert scores["sbert_sim"] == pytest.approx(sum(sims) / 2, abs=1e-6)
    assert scores["fense"] == pytest.approx(0.1 * scores["sbert_sim"])
    assert set(scores["per_clip"]) == set(METRIC_KEYS)  # per-clip values stay the paper's metrics


def test_evaluate_captions_modern_false_keeps_the_paper_keys(cache: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = evaluate_captions(["a dog barks", "rain falls"], [["a dog barks"], ["rain"]], spice=False,
                                   modern=False)
    assert list(scores) == [*METRIC_KEYS]
