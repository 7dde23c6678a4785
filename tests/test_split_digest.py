"""A saved evaluation belongs to the test split it was computed on: after the split's files change (the
synthetic set regenerated with other sizes, a Clotho folder replaced), the run's old scores are not
reused; ``clipaac evaluate`` scores it again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clipaac_lib.data.split_digest import split_digest
from clipaac_lib.train import TrainConfig, find_run, train
from clipaac_lib.train.dataroot import digest_of_test_split
from clipaac_lib.train.evalstore import read_evaluation, write_evaluation
from clipaac_lib.train.evaluation import evaluate_run
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.scores import SplitScores
from tests.conftest import TINY_MODEL, TINY_SIZES

CSV = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\na.wav,one,two,three,four,five\n"


def _folder(root: Path, text: str = CSV) -> Path:
    folder = root / "clotho_v2.1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clotho_captions_evaluation.csv").write_text(text)
    return folder


def test_the_digest_follows_the_captions_the_recipe_and_the_limit(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first = split_digest(tmp_path, "test")
    assert len(first) == 16 and first == split_digest(tmp_path, "test")
    assert split_digest(tmp_path, "test", limit=1) != first
    (folder / "clotho_captions_evaluation.csv").write_text(CSV.replace("five", "six"))
    changed = split_digest(tmp_path, "test")
    assert changed != first
    (folder / "synthetic.json").write_text('{"generator_version": 2}')
    assert split_digest(tmp_path, "test") != changed
    assert split_digest(tmp_path, "train") == "", "no development CSV: nothing to compare"


def test_a_same_size_edit_of_the_captions_changes_the_digest(tmp_path: Path) -> None:
    """One letter changed ("five" -> "fire"): the file keeps its size, so only its bytes tell the two
    apart; the digest must change, and come back when the original text is written again (it follows
    the contents, not the file's size or time)."""
    folder = _folder(tmp_path)
    csv = folder / "clotho_captions_evaluation.csv"
    first = split_digest(tmp_path, "test")
    edited = CSV.replace("five", "fire")
    assert len(edited.encode()) == len(CSV.encode()) and edited != CSV
    csv.write_text(edited)
    assert csv.stat().st_size == len(CSV.encode())
    assert split_digest(tmp_path, "test") != first
    csv.write_text(CSV)
    assert split_digest(tmp_path, "test") == first


def test_a_saved_evaluation_of_another_split_version_is_not_read(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    scores = SplitScores(num_clips=1, retrieval_chance={}, split_digest="aaaa")
    write_evaluation(run, "beam3-test", scores, [{"file_name": "a.wav", "caption": "x", "references": ["y"]}])
    assert read_evaluation(run, "beam3-test", "aaaa")[0] == scores
    assert read_evaluation(run, "beam3-test", "") is not None, "an unknown split (no CSV on disk) is not checked"
    assert read_evaluation(run, "beam3-test", "bbbb") is None


@pytest.mark.usefixtures("one_thread_private_cache")
def test_a_run_is_scored_again_after_its_test_split_changed(tiny_clotho: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_clotho, data)
    config = TrainConfig(init="random", data_root=str(data), run_root=str(tmp_path / "runs"),
                         train_split="development", test_split="evaluation", model_overrides=TINY_MODEL,
                         num_epochs=1, batch_size=4, warmup_epochs=0.0, beam_size=1, max_caption_len=4,
                         eval_batch_size=4, caption_metrics=False, eval_untrained=False, progress=False)
    trained = train(config)
    assert trained.scores.split_digest == digest_of_test_split(config) != ""
    assert find_run(config).scores == trained.scores

    csv = data / "clotho_v2.1" / "clotho_captions_evaluation.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-1]))  # the split loses its last clip
    assert find_run(config).scores is None, "old scores reused on a changed split"

    again = evaluate_run(trained.run_dir)
    assert again.scores.num_clips == trained.scores.num_clips - 1
    assert find_run(config).scores == again.scores


@pytest.mark.usefixtures("one_thread_private_cache")
def test_the_untrained_model_is_scored_again_after_its_test_split_changed(tiny_clotho: Path,
                                                                          tmp_path: Path) -> None:
    """``eval_untrained=True``: the untrained model's ``eval-untrained-*`` scores belong to the split they
    were computed on too. After the test split loses a clip, neither ``find_run`` nor the reused run
    (``train`` again) may hand back the old untrained scores (all clips, the old digest): the
    untrained model is scored again on the clips left, with the new digest."""
    data = tmp_path / "data"
    shutil.copytree(tiny_clotho, data)
    config = TrainConfig(init="random", data_root=str(data), run_root=str(tmp_path / "runs"),
                         train_split="development", test_split="evaluation", model_overrides=TINY_MODEL,
                         num_epochs=1, batch_size=4, limit_train_clips=4, warmup_epochs=0.0, beam_size=1,
                         max_caption_len=4, eval_batch_size=4, caption_metrics=False, eval_untrained=True,
                         validate_every=0, progress=False)
    clips = TINY_SIZES["evaluation"]
    trained = train(config)
    old_digest = digest_of_test_split(config)
    assert trained.untrained_scores.num_clips == clips and trained.untrained_scores.split_digest == old_digest
    assert find_run(config).untrained_scores == trained.untrained_scores

    csv = data / "clotho_v2.1" / "clotho_captions_evaluation.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-1]))  # the split loses its last clip
    new_digest = digest_of_test_split(config)
    assert new_digest not in ("", old_digest)
    assert find_run(config).untrained_scores is None, "old untrained scores reused on a changed split"

    again = train(config)
    assert again.reused
    assert again.untrained_scores.num_clips == clips - 1 and again.untrained_scores.split_digest == new_digest
    assert find_run(config).untrained_scores == again.untrained_scores
