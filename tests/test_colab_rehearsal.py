"""The Colab user's Clotho/paper path, rehearsed end to end: notebooks 05 and 06 from the built wheel, in
an empty folder, with ``dataset="clotho"`` and ``model_config="paper"``, against a local mirror.

The test makes a Clotho-format release (Zenodo's file names: three 7z archives of 15-30 s 44.1 kHz mono
WAV clips, captions and metadata CSVs in Clotho's columns, 5 captions per clip) and an AudioCLIP-layout
checkpoint (every key and shape of ``tests/data/audioclip_state_dict_shapes.json``, float32, random
values), serves both from 127.0.0.1 (:mod:`tests.http_server`) and points the library at them as a user
with a mirror would: ``CLIPAAC_CLOTHO_URL`` + ``CLIPAAC_CLOTHO_CHECKSUMS`` (an ``md5sum``-style table)
and ``CLIPAAC_WEIGHTS_URL`` + ``CLIPAAC_WEIGHTS_CHECKSUMS`` (a ``name sha256`` table). Nothing is
downloaded by hand: the notebook's first use of the data downloads, verifies, extracts and caches it.

Notebook 05 runs in smoke mode (8 training clips cut to 2 s, one epoch of 8 pairs per step, 2 test
clips, Java caption metrics on). Notebook 06 then runs one system (``systems="4"``, Table 1, one seed) on
the same cache: nothing is downloaded again (the server's request log), and nothing is trained again
either: notebook 05's defaults are system 4's configuration (the same run hash), so notebook 06 records
the finished run, as a Colab user who trained in notebook 05 first sees it. (Training it a second time
cost about 45 s on 2 cores, and running notebook 05 twice about 35 s; a finished run's reuse is also
tested in ``tests/test_train_run.py``.)
That test is ``slow``; the quick ones below check the mirror settings' joints alone (checksum tables,
the one-line errors of a failed download, a mirror's weights counted as present).

The notebooks' first cell (what a Colab user runs before anything else) is checked at the end: every
notebook has it, it does nothing outside Colab, its ``%pip`` line installs this project at ``CLIPAAC_REF``
and :func:`clipaac_lib.common.colab_setup` (apt mocked) checks the installed ref and installs Java only when
missing; the ``slow`` rehearsal runs the unchanged cell in IPython with ``google.colab`` imported, pip
cloning a local git repository of the package in place of GitHub and a fake ``apt-get``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import papermill
import py7zr
import pytest
import soundfile as sf
import torch

from tests.conftest import share_meteor_index
from tests.http_server import serve
from tests.test_notebooks import REPO, WheelInstall

RATE = 44100  # Clotho's rate
SHAPES: dict[str, list[int]] = json.loads((Path(__file__).parent / "data" / "audioclip_state_dict_shapes.json")
                                          .read_text(encoding="utf-8"))
WEIGHTS_NAME = "AudioCLIP-Full-Training.pt"
# clip file names in Clotho's style (spaces, punctuation) and lengths in seconds (Clotho: 15 to 30 s); 8
# training clips (development + validation): notebook 06's Table 1 systems train with batch size 8, and
# a batch holds one caption per clip
CLIPS: dict[str, list[tuple[str, float]]] = {
    "development": [("Rain on a tin roof, heavy 02.wav", 15.0), ("Dog_barking at night (far).wav", 30.0),
                    ("Kitchen ambience - morning.wav", 20.0), ("Birds+traffic_city park.wav", 16.0),
                    ("Stream water 3.wav", 18.5)],
    "validation": [("Café crowd, Paris.wav", 22.0), ("Door creak 1_14_2008.wav", 15.0),
                   ("Typing on keyboard.wav", 17.0)],
    "evaluation": [("Footsteps on gravel, slow.wav", 17.5), ("wind_chimes-02.wav", 24.0)],
}
SOUNDS = ["rain falls", "a dog barks", "dishes clink", "birds sing", "water flows", "people talk",
          "a door creaks", "someone types", "someone walks", "chimes ring"]
LINE_ENDS = {"development": "\r\n", "validation": "\r\n", "evaluation": "\n"}  # as in Clotho v2.1


def _captions(index: int) -> list[str]:
    sound = SOUNDS[index]
    return [f"{sound} in the distance", f"{sound}, then it stops", f"{sound} while wind blows",
            f"a recording where {sound}", f"{sound} loudly"]


def _csv(rows: list[list[str]], line_end: str, encoding: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return out.getvalue().encode(encoding)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def make_release(work: Path, served: Path) -> dict[str, str]:
    """The nine files of Clotho v2.1 under their Zenodo names in ``served``; returns ``{name: md5}``."""
    rng = np.random.default_rng(0)
    index = 0
    for split, clips in CLIPS.items():
        audio = work / split
        audio.mkdir(parents=True)
        captions = [["file_name", "caption_1", "caption_2", "caption_3", "caption_4", "caption_5"]]
        metadata = [["file_name", "keywords", "sound_id", "sound_link", "start_end_samples", "manufacturer",
                     "license"]]
        for name, seconds in clips:
            noise = rng.normal(0.0, 100.0, int(seconds * RATE))  # quiet noise, about -50 dBFS
            sf.write(str(audio / name), noise.astype(np.int16), RATE, subtype="PCM_16")
            captions.append([name, *_captions(index)])
            metadata.append([name, "noise;test;café", str(1000 + index), f"https://freesound.org/s/{1000 + index}",
                             f"[0, {int(seconds * RATE)}]", "Jérôme", "http://creativecommons.org/licenses/by/3.0/"])
            index += 1
        (served / f"clotho_captions_{split}.csv").write_bytes(_csv(captions, LINE_ENDS[split], "utf-8"))
        (served / f"clotho_metadata_{split}.csv").write_bytes(_csv(metadata, LINE_ENDS[split], "iso-8859-1"))
        with py7zr.SevenZipFile(served / f"clotho_audio_{split}.7z", "w",
                                filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}]) as archive:
            archive.writeall(audio, arcname=split)  # Zenodo's archives hold a <split>/ folder
    return {p.name: _md5(p) for p in sorted(served.iterdir())}


def _target(key: str) -> str | None:
    """Where an AudioCLIP key lands in CLIP-AAC (from the checkpoint's layout); None: not loaded."""
    if key.startswith("visual.") or key in ("logit_scale", "logit_scale_ai"):
        return None
    return key if key.startswith("audio.") or key == "logit_scale_at" else "text." + key


def make_weights(path: Path) -> dict[str, torch.Tensor]:
    """An AudioCLIP-layout checkpoint: every published key with its published shape, float32.

    The values are a paper-size model's random initialisation with seed 12345 (valid BatchNorm variances,
    a sensible front end), so they differ from the run's own initialisation (seed 0); image-head keys
    are random. A key whose published shape our model does not have gets random values of the published
    shape, which the loader must then reject."""
    from clipaac_lib.model import CLIPAAC, ModelConfig

    torch.manual_seed(12345)
    ours = CLIPAAC(ModelConfig.paper(vocab_size=20)).state_dict()
    gen = torch.Generator().manual_seed(1)
    state: dict[str, torch.Tensor] = {}
    for key, shape in SHAPES.items():
        name = _target(key)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000, dtype=torch.long)
        elif name in ours and list(ours[name].shape) == shape:
            state[key] = ours[name].detach().clone().float()
        elif key in ("logit_scale", "logit_scale_ai"):
            state[key] = torch.tensor(math.log(100.0))
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.02
    torch.save(state, path)
    return state


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory):
    """The served release and weights, the mirror's checksum tables, and the server (its request log)."""
    root = tmp_path_factory.mktemp("mirror")
    served = root / "served"
    (served / "clotho").mkdir(parents=True)
    (served / "audioclip").mkdir()
    md5s = make_release(root / "clips", served / "clotho")
    weights = make_weights(served / "audioclip" / WEIGHTS_NAME)
    sha256 = _sha256(served / "audioclip" / WEIGHTS_NAME)
    clotho_table, weights_table = root / "clotho.md5", root / "weights.sha256"
    clotho_table.write_text("".join(f"{md5}  {name}\n" for name, md5 in md5s.items()))  # md5sum's format
    weights_table.write_text(f"# the mirror's own AudioCLIP file\n{WEIGHTS_NAME} {sha256}\n")
    with serve(served) as (url, server):
        env = {"CLIPAAC_CLOTHO_URL": f"{url}/clotho", "CLIPAAC_CLOTHO_CHECKSUMS": str(clotho_table),
               "CLIPAAC_WEIGHTS_URL": f"{url}/audioclip", "CLIPAAC_WEIGHTS_CHECKSUMS": str(weights_table)}
        yield {"env": env, "server": server, "md5s": md5s, "sha256": sha256, "weights": weights}


def run_notebook(name: str, parameters: dict, install: WheelInstall, cache: Path, env: dict[str, str],
                 out: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Execute ``notebooks/<name>`` copied alone into an empty folder, with only the wheel importable;
    returns the executed notebook."""
    folder = out / f"colab-{name}"
    folder.mkdir(parents=True)
    shutil.copy2(REPO / "notebooks" / name, folder / name)
    for key, value in {**install.env, "CLIPAAC_CACHE": str(cache), **env}.items():
        monkeypatch.setenv(key, value)  # inherited by the kernel papermill starts
    executed = out / f"executed-{name}"
    papermill.execute_notebook(str(folder / name), str(executed), parameters=parameters, cwd=str(folder),
                               kernel_name="python3", progress_bar=False)
    return json.loads(executed.read_text(encoding="utf-8"))


def _text(notebook: dict) -> str:
    return "\n".join("".join(o.get("text", "")) for c in notebook["cells"] if c["cell_type"] == "code"
                     for o in c.get("outputs", []) if o.get("output_type") == "stream")


def _runs(cache: Path) -> list[Path]:
    return sorted(p.parent for p in cache.glob("runs/*/config.json"))


def _check_run(run: Path, mirror: dict, epoch_captions: str) -> dict:
    """A finished paper-size Clotho run initialised from the mirror's AudioCLIP file: trained one epoch,
    evaluated, captions written for every test clip; returns its config.json."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert (config["dataset"], config["model_config"], config["init"]) == ("clotho", "paper", "audio_text")
    assert config["epoch_captions"] == epoch_captions and config["smoke"] is True
    record = config["init_weights"]
    assert record["file"] == WEIGHTS_NAME and record["source"] == "published"
    assert record["sha256"] == mirror["sha256"]  # the file it loaded, by the mirror's checksum
    loaded = [k for k in SHAPES if _target(k) is not None]
    skipped = [k for k in SHAPES if _target(k) is None]
    tensors = record["tensors"]  # the loader's key accounting: every AudioCLIP tensor is accounted for
    assert (tensors["loaded"], tensors["skipped"]) == (len(loaded), len(skipped)), tensors
    assert sum(tensors["skipped_reasons"].values()) == len(skipped)
    history = json.loads((run / "history.json").read_text(encoding="utf-8"))
    assert [row["epoch"] for row in history] == [1] and history[0]["steps"] >= 1
    assert math.isfinite(history[0]["train_loss"])
    assert json.loads((run / "finished.json").read_text(encoding="utf-8"))["epochs"] == 1
    (evaluation,) = run.glob("eval-*-test-first4")
    scores = json.loads((evaluation / "scores.json").read_text(encoding="utf-8"))
    assert isinstance(scores["metrics"]["bleu_4"], float), scores  # Java's PTB tokenizer ran
    captions = json.loads((evaluation / "captions.json").read_text(encoding="utf-8"))
    test_clips = dict(CLIPS["evaluation"])
    assert sorted(row["file_name"] for row in captions) == sorted(test_clips)
    assert all(row["caption"].strip() and len(row["references"]) == 5 for row in captions)
    # the encoder started from the file's values: one step at the encoder's lr 1e-5 moves them by ~1e-5
    trained = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
    for key in ("positional_embedding", "audio.conv1.weight", "audio.fbsp.fb", "audio.fc.weight"):
        start = mirror["weights"][key]
        assert (trained[_target(key)] - start).abs().max() < 1e-3, key
    return config


@pytest.mark.slow
def test_notebooks_05_and_06_on_clotho_with_the_paper_model(mirror: dict, wheel_install: WheelInstall,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            meteor_index: Path) -> None:
    cache, server = tmp_path / "cache", mirror["server"]
    share_meteor_index(cache, meteor_index)  # built once per session (tests/conftest.py)
    server.requests.clear()
    params = {"dataset": "clotho", "model_config": "paper", "device": "cpu", "smoke": True}
    first = run_notebook("05_train.ipynb", params, wheel_install, cache, mirror["env"], tmp_path / "one",
                         monkeypatch)

    # downloaded from the mirror: each of the nine Clotho files and the weights exactly once
    fetched = sorted(name for name, _ in server.requests)
    assert fetched == sorted([f"clotho/{n}" for n in mirror["md5s"]] + [f"audioclip/{WEIGHTS_NAME}"])
    data = cache / "data" / "clotho_v2.1"
    for split, clips in CLIPS.items():  # verified, extracted, cached in $CLIPAAC_CACHE/data
        assert sorted(p.name for p in (data / split).glob("*.wav")) == sorted(name for name, _ in clips)
        marker = json.loads((data / split / ".extracted.json").read_text(encoding="utf-8"))
        assert marker["archive_md5"] == mirror["md5s"][f"clotho_audio_{split}.7z"]
        archive = data / "archives" / f"clotho_audio_{split}.7z"
        assert _md5(archive) == marker["archive_md5"] and archive.with_name(archive.name + ".ok").is_file()
        wav, rate = sf.read(str(data / split / clips[0][0]), dtype="int16")
        assert rate == RATE and len(wav) == int(clips[0][1] * RATE)
    assert _sha256(cache / "weights" / WEIGHTS_NAME) == mirror["sha256"]
    (run,) = _runs(cache)
    _check_run(run, mirror, "all")
    assert "reused: False" in _text(first)
    before = len(server.requests)

    # notebook 06 with one system (4, the reference) and one seed: no download, notebook 05's run recorded
    ablation = {"dataset": "clotho", "model_config": "paper", "device": "cpu", "smoke": True, "seeds": 1,
                "run_tables": "1", "systems": "4"}
    sixth = run_notebook("06_ablations.ipynb", ablation, wheel_install, cache, mirror["env"], tmp_path / "six",
                         monkeypatch)
    assert len(server.requests) == before, server.requests[before:]
    assert _runs(cache) == [run] and "have no record: training them" not in _text(sixth)  # nothing trained
    record = json.loads((cache / "results" / "system04-seed0.json").read_text(encoding="utf-8"))
    run_hash = json.loads((Path(run) / "config.json").read_text(encoding="utf-8"))["run_hash"]
    assert record["run_hash"] == run_hash and record["clips"] and record["metrics"]
    assert not list((cache / "results").glob("system0[1-3]-*.json"))  # one system only


# ------------------------------------------------------------------ the joints alone (quick)
def test_checksum_tables_in_both_layouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.data.clotho_download import CLOTHO_V21_FILES, clotho_files, read_checksum_table

    table = tmp_path / "mirror.md5"
    table.write_text("# re-packed archives\n\n" + "a" * 32 + "  clotho_audio_validation.7z\n"
                     "clotho_captions_validation.csv " + "B" * 32 + "\n" + "c" * 32 + " *unrelated.txt\n")
    assert read_checksum_table(table, 32) == {"clotho_audio_validation.7z": "a" * 32,
                                              "clotho_captions_validation.csv": "b" * 32, "unrelated.txt": "c" * 32}
    assert clotho_files() == CLOTHO_V21_FILES  # no variable: Zenodo's md5s
    monkeypatch.setenv("CLIPAAC_CLOTHO_CHECKSUMS", str(table))
    md5 = {f.name: f.md5 for f in clotho_files()}
    published = {f.name: f.md5 for f in CLOTHO_V21_FILES}
    assert md5["clotho_audio_validation.7z"] == "a" * 32 and md5["clotho_captions_validation.csv"] == "b" * 32
    assert {k: v for k, v in md5.items() if "validation" not in k} == {
        k: v for k, v in published.items() if "validation" not in k}  # unlisted files keep Zenodo's
    table.write_text("clotho_audio_validation.7z deadbeef\n")
    with pytest.raises(ValueError, match=r"mirror\.md5, line 1: expected `name digest` with a 32-digit"):
        clotho_files()
    monkeypatch.setenv("CLIPAAC_CLOTHO_CHECKSUMS", str(tmp_path / "absent.md5"))
    with pytest.raises(FileNotFoundError, match="CLIPAAC_CLOTHO_CHECKSUMS"):
        clotho_files()


def _clotho_config(**changes):
    from clipaac_lib.train import TrainConfig

    return TrainConfig(dataset="clotho", model_config="paper", caption_metrics=False, **changes).validate()


def test_a_failed_clotho_download_is_one_line_naming_the_url(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.common.download import ChecksumError, DownloadError
    from clipaac_lib.train.preflight import check_environment

    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as (url, _server):
        monkeypatch.setenv("CLIPAAC_CLOTHO_URL", f"{url}/clotho")
        with pytest.raises(DownloadError) as missing:
            check_environment(_clotho_config())
        text = str(missing.value)
        assert "\n" not in text and f"{url}/clotho/clotho_captions_development.csv: HTTP 404" in text
        assert "CLIPAAC_CLOTHO_URL" in text and "clipaac data clotho" in text, text
        (served / "clotho").mkdir()
        (served / "clotho" / "clotho_captions_development.csv").write_text("not Clotho's file\n")
        with pytest.raises(ChecksumError) as corrupt:
            check_environment(_clotho_config())
        text = str(corrupt.value)
        assert "\n" not in text and "d4090b39ce9f2491908eebf4d5b09bae" in text  # Zenodo's md5, expected
        assert "CLIPAAC_CLOTHO_CHECKSUMS" in text and url in text, text


def test_where_the_cache_does_not_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data_root of the user's own is never written into, and torchrun's processes would wait on one
    download: both stop at once with the command that fetches Clotho."""
    from clipaac_lib.train.config import ConfigError
    from clipaac_lib.train.preflight import check_environment

    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CLIPAAC_CLOTHO_URL", "http://127.0.0.1:9/never")
    with pytest.raises(ConfigError, match=r"clipaac data clotho --root"):
        check_environment(_clotho_config(data_root=str(tmp_path / "mine")))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="under torchrun download it first"):
        check_environment(_clotho_config())
    assert not (tmp_path / "mine").exists() and not (tmp_path / "cache" / "data" / "clotho_v2.1").exists()


def test_mirrored_weights_are_verified_and_count_as_present(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.common.download import ChecksumError
    from clipaac_lib.pretrain.published import WEIGHTS, download_weights, weights_present, weights_sha256

    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    payload = b"a mirror's own ESResNeXt file " * 100
    (served / "ESRNXFBSP.pt").write_bytes(payload)
    table = tmp_path / "weights.sha256"
    table.write_text(f"{hashlib.sha256(payload).hexdigest()}  ESRNXFBSP.pt\n")  # sha256sum's layout
    with serve(served) as (url, server):
        monkeypatch.setenv("CLIPAAC_WEIGHTS_URL", url)
        with pytest.raises(ChecksumError) as published:  # no table: the published sha256 rejects it
            download_weights("ESRNXFBSP.pt")
        text = str(published.value)
        assert "\n" not in text and WEIGHTS["ESRNXFBSP.pt"].sha256 in text and "CLIPAAC_WEIGHTS_CHECKSUMS" in text
        assert not weights_present("audio")
        monkeypatch.setenv("CLIPAAC_WEIGHTS_CHECKSUMS", str(table))
        assert weights_sha256("ESRNXFBSP.pt") == hashlib.sha256(payload).hexdigest()
        assert weights_sha256("CLIP.pt") == WEIGHTS["CLIP.pt"].sha256  # not in the table
        path = download_weights("ESRNXFBSP.pt")
        assert path.read_bytes() == payload and [n for n, _ in server.requests] == ["ESRNXFBSP.pt"] * 2
    assert weights_present("audio")  # its size is not the published one; the mirror's sha256 decides
    assert not weights_present("audio_text")


# ------------------------------------------------------------------ the notebooks' first cell
# Every notebook opens with one cell (tagged remove-cell): on Colab, `%pip install` clipaac from GitHub at
# CLIPAAC_REF, then clipaac_lib.common.colab_setup(CLIPAAC_REF); elsewhere it only sets CLIPAAC_REF.
APT = "apt-get -qq update && apt-get -qq install -y default-jre-headless"


def _first_code_cell(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


def _cell_source(name: str = "05_train.ipynb") -> str:
    source = _first_code_cell(REPO / "notebooks" / name)["source"]
    return "".join(source) if isinstance(source, list) else source


def _as_python(cell: str) -> str:
    """The cell as IPython runs it: its ``%pip`` line becomes ``get_ipython().run_line_magic(...)``."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell)


def test_every_notebook_starts_with_the_colab_cell() -> None:
    from devtools.notebooks import colab_install_source

    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    in_book = re.findall(r"file: notebooks/(\d\d_\w+)", (REPO / "_toc.yml").read_text(encoding="utf-8"))
    assert [p.stem for p in notebooks] == sorted(in_book) and len(notebooks) >= 8  # every chapter checked
    for path in notebooks:
        cell = _first_code_cell(path)
        assert _cell_source(path.name) == colab_install_source(), path.name
        assert cell["metadata"]["tags"] == ["remove-cell"] and not cell["outputs"], path.name


def test_the_colab_cell_is_a_no_op_outside_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    """The book build and papermill run the cell: without ``google.colab`` it installs, imports and calls
    nothing (``get_ipython`` would run the ``%pip`` line) and only sets CLIPAAC_REF."""
    import sys

    def no_magic() -> None:
        raise AssertionError("the cell ran a magic outside Colab")

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    namespace: dict = {"get_ipython": no_magic}
    exec(_as_python(_cell_source()), namespace)  # noqa: S102 (the cell's own source)
    assert namespace["CLIPAAC_REF"] == "main" and "colab_setup" not in namespace


def test_on_colab_the_cell_pip_installs_this_project_at_the_ref_then_calls_colab_setup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Colab (``google.colab`` imported): the ``%pip`` line, with ``$CLIPAAC_REF`` expanded as IPython
    does, installs this project (pyproject's name, an extra it defines, its Homepage's git URL) at the
    ref; then ``colab_setup`` is called with the ref."""
    import shlex
    import sys
    import types

    from IPython.utils.text import DollarFormatter
    from packaging.requirements import Requirement

    import clipaac_lib.common

    calls: list[tuple] = []
    namespace: dict = {}

    class Shell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append(("magic", name, DollarFormatter().format(line, **namespace)))

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(clipaac_lib.common, "colab_setup", lambda ref=None: calls.append(("colab_setup", ref)))
    namespace["get_ipython"] = Shell
    cell = _cell_source().replace('CLIPAAC_REF = "main"', 'CLIPAAC_REF = "v1.2"')
    exec(_as_python(cell), namespace)  # noqa: S102 (the cell's own source)
    assert [c[0] for c in calls] == ["magic", "colab_setup"] and calls[1] == ("colab_setup", "v1.2")
    _, name, line = calls[0]
    command, *options, requirement = shlex.split(line)  # as the shell splits it
    assert (name, command, options) == ("pip", "install", ["-q"])
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (environment.yml's)
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    parsed = Requirement(requirement)
    assert parsed.name == project["name"] and parsed.extras == {"colab"} <= set(project["optional-dependencies"])
    assert parsed.url == f"git+{project['urls']['Homepage']}@v1.2"


def _write_fake_apt(folder: Path, log: Path) -> None:
    """An ``apt-get`` that logs its arguments and, on ``install``, puts a ``java`` beside itself."""
    fake = folder / "apt-get"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case " $* " in *" install "*)\n'
        f"  printf '#!/bin/sh\\necho fake java\\n' > \"{folder}/java\"; /bin/chmod +x \"{folder}/java\";;\n"
        "esac\n"
    )
    fake.chmod(0o755)


REHEARSE = (
    "import sys, types\n"
    "sys.modules['google.colab'] = types.ModuleType('google.colab')  # Colab's kernel has imported it\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "shell = InteractiveShell.instance(colors='nocolor')\n"
    "shell.run_cell(open(sys.argv[1], encoding='utf-8').read()).raise_error()\n"
    "import clipaac_lib\n"
    "print('imported from', clipaac_lib.__file__)\n"
)


@pytest.mark.slow
def test_the_colab_cell_installs_clipaac_from_git_at_the_ref_then_java(tmp_path: Path) -> None:
    """The first cell of notebook 05, unchanged, run by IPython as on Colab in a fresh interpreter: its
    ``%pip`` line clones "GitHub" (git's ``insteadOf`` sends the cell's URL to a local repository of this
    checkout's package, branch ``main``) and installs clipaac into an empty folder on ``PYTHONPATH`` (pip
    offline, no dependencies); ``colab_setup`` then finds that install from ``main`` and, with no ``java``
    on the ``PATH``, runs apt (a fake ``apt-get`` that makes one) and says so in one line."""
    import os
    import sys

    from tests.test_notebooks import WHEEL_SOURCES, _setuptools_builds_here

    if not _setuptools_builds_here():
        pytest.skip("pip would fetch setuptools>=77 to build clipaac (offline here)")
    source, site, bin_dir, work = (tmp_path / name for name in ("github", "site", "bin", "work"))
    for folder in (source, site, bin_dir, work):
        folder.mkdir()
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    git = shutil.which("git")
    assert git is not None
    quiet = {"capture_output": True, "text": True, "cwd": source, "check": True}
    subprocess.run([git, "init", "-q", "-b", "main"], **quiet)
    subprocess.run([git, "add", "-A"], **quiet)
    subprocess.run([git, "-c", "user.name=rehearsal", "-c", "user.email=r@localhost", "commit", "-qm", "x"],
                   **quiet)
    head = subprocess.run([git, "rev-parse", "HEAD"], **quiet).stdout.strip()
    (bin_dir / "git").symlink_to(git)  # the PATH: git and the fake apt-get, no java
    log = tmp_path / "apt.log"
    _write_fake_apt(bin_dir, log)
    cell = tmp_path / "cell.py"
    cell.write_text(_cell_source(), encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GIT_", "PYTHON"))},
           "PATH": str(bin_dir), "SHELL": "/bin/sh", "PYTHONPATH": str(site), "IPYTHONDIR": str(tmp_path / "ipy"),
           "CLIPAAC_CACHE": str(tmp_path / "cache"), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.file://{source}.insteadOf",
           "GIT_CONFIG_VALUE_0": "https://github.com/clipaac/clipaac",
           "PIP_TARGET": str(site), "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", REHEARSE, str(cell)], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert f"imported from {site / 'clipaac_lib' / '__init__.py'}" in output, output[-4000:]
    (dist_info,) = site.glob("clipaac-*.dist-info")
    vcs = json.loads((dist_info / "direct_url.json").read_text(encoding="utf-8"))["vcs_info"]
    assert (vcs["requested_revision"], vcs["commit_id"]) == ("main", head)  # what notebook 6 downloads at
    assert log.read_text().splitlines() == ["-qq update", "-qq install -y default-jre-headless"]
    line = (f"Colab ready: clipaac 0.1.0 from GitHub at main (commit {head[:7]}); Java installed with apt "
            f"at {bin_dir / 'java'}.")
    assert line in output.splitlines(), output[-4000:]


# ------------------------------------------------------------------ colab_setup, the rest of the cell
class _Dist:
    """A stand-in for ``importlib.metadata.distribution("clipaac")``."""

    def __init__(self, direct_url: dict | None, version: str = "0.1.0") -> None:
        self.version, self._text = version, None if direct_url is None else json.dumps(direct_url)

    def read_text(self, name: str) -> str | None:
        return self._text if name == "direct_url.json" else None


FROM_MAIN = {"url": "https://github.com/clipaac/clipaac",
             "vcs_info": {"vcs": "git", "requested_revision": "main", "commit_id": "0123456789abcdef" * 2 + "0" * 8}}


@dataclass
class _Apt:
    """What the mocked apt was asked to run, and what it answers."""

    commands: list[str] = field(default_factory=list)
    result: subprocess.CompletedProcess = field(default_factory=lambda: subprocess.CompletedProcess(APT, 0, "", ""))


@pytest.fixture
def apt() -> _Apt:
    return _Apt()


@pytest.fixture
def colab(monkeypatch: pytest.MonkeyPatch, apt: _Apt):
    """The module :mod:`clipaac_lib.common.colab` on "Colab" (``google.colab`` imported), clipaac installed
    from git at ``main``, ``subprocess.run`` answering with ``apt.result`` (the command kept in
    ``apt.commands``)."""
    import sys
    import types

    from clipaac_lib.common import colab as module

    def run(command, **kwargs):
        apt.commands.append(command)
        assert kwargs.get("shell") is True
        return apt.result

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(module.metadata, "distribution", lambda name: _Dist(FROM_MAIN))
    monkeypatch.setattr(module.subprocess, "run", run)
    return module


def _which(*answers: str | None):
    """``shutil.which`` answering ``java`` with each of ``answers`` in turn (the last one from then on)."""
    answers_left = list(answers)

    def which(name: str) -> str | None:
        assert name == "java"
        return answers_left.pop(0) if len(answers_left) > 1 else answers_left[0]

    return which


def test_colab_setup_does_nothing_outside_colab(colab, apt: _Apt, monkeypatch: pytest.MonkeyPatch,
                                                capsys) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setattr(colab.shutil, "which", _which(None))  # java missing: still nothing to do
    monkeypatch.setattr(colab.metadata, "distribution", lambda name: _Dist(None))  # not from git either
    colab.colab_setup("main")
    assert apt.commands == [] and capsys.readouterr().out == ""


def test_colab_setup_leaves_a_present_java_alone(colab, apt: _Apt, monkeypatch: pytest.MonkeyPatch,
                                                 capsys) -> None:
    monkeypatch.setattr(colab.shutil, "which", _which("/usr/bin/java"))
    colab.colab_setup("main")
    assert apt.commands == []
    assert capsys.readouterr().out == ("Colab ready: clipaac 0.1.0 from GitHub at main (commit 0123456); "
                                       "Java found at /usr/bin/java.\n")


def test_colab_setup_installs_java_with_apt_when_missing(colab, apt: _Apt, monkeypatch: pytest.MonkeyPatch,
                                                        capsys) -> None:
    monkeypatch.setattr(colab.shutil, "which", _which(None, "/usr/bin/java"))
    colab.colab_setup("main")
    assert apt.commands == [APT]
    assert capsys.readouterr().out == ("Colab ready: clipaac 0.1.0 from GitHub at main (commit 0123456); "
                                       "Java installed with apt at /usr/bin/java.\n")


@pytest.mark.parametrize("failure", ["exit", "no java after", "timeout", "no shell"])
def test_a_failed_apt_is_one_clear_error_naming_the_command(colab, apt: _Apt, monkeypatch: pytest.MonkeyPatch,
                                                            failure: str) -> None:
    monkeypatch.setattr(colab.shutil, "which", _which(None))
    if failure == "exit":
        apt.result = subprocess.CompletedProcess(APT, 100, "", "W: noise\nE: Unable to locate package\n")
    elif failure in ("timeout", "no shell"):
        error = subprocess.TimeoutExpired(APT, 1800) if failure == "timeout" else OSError("no /bin/sh")

        def fail(command, **kwargs):
            apt.commands.append(command)
            raise error

        monkeypatch.setattr(colab.subprocess, "run", fail)
    with pytest.raises(colab.ColabSetupError) as raised:
        colab.colab_setup("main")
    text = str(raised.value)
    assert apt.commands == [APT] and "\n" not in text
    assert f"run `!{APT}` in a cell" in text and "caption metrics need Java" in text, text
    expected = {"exit": "failed (exit code 100: E: Unable to locate package)", "no java after": "no `java` is on",
                "timeout": "did not finish (Command", "no shell": "did not finish (no /bin/sh)"}[failure]
    assert expected in text, text


@pytest.mark.parametrize(("direct_url", "ref", "found"), [
    (FROM_MAIN, "v1.2", "the one installed from git at main"),  # pip kept the same version, or failed
    ({"url": "file:///work/clipaac", "dir_info": {"editable": True}}, "main", "one not installed from git"),
    (None, "main", "one not installed from git"),  # a wheel
])
def test_colab_setup_stops_when_the_clipaac_in_use_is_not_from_the_ref(
        colab, apt: _Apt, monkeypatch: pytest.MonkeyPatch, direct_url: dict | None, ref: str, found: str) -> None:
    monkeypatch.setattr(colab.metadata, "distribution", lambda name: _Dist(direct_url))
    monkeypatch.setattr(colab.shutil, "which", _which(None))
    with pytest.raises(colab.ColabSetupError) as raised:
        colab.colab_setup(ref)
    text = str(raised.value)
    assert f"CLIPAAC_REF is {ref!r}, but the clipaac in use (0.1.0) is {found}" in text and "\n" not in text
    reinstall = ('%pip install -q --force-reinstall --no-deps '
                 f'"clipaac[colab] @ git+https://github.com/clipaac/clipaac@{ref}"')
    assert reinstall in text and "restart the session" in text, text
    assert apt.commands == []  # stopped before apt


def test_colab_setup_accepts_a_commit_as_the_ref(colab, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    pinned = {"url": FROM_MAIN["url"], "vcs_info": {"vcs": "git", "commit_id": "89abcdef" * 5}}  # no ref
    monkeypatch.setattr(colab.metadata, "distribution", lambda name: _Dist(pinned))
    monkeypatch.setattr(colab.shutil, "which", _which("/usr/bin/java"))
    colab.colab_setup("89abcdef89")
    assert "from GitHub at 89abcdef89 (commit 89abcde)" in capsys.readouterr().out
    with pytest.raises(colab.ColabSetupError, match="installed from git at 89abcde"):
        colab.colab_setup("fedcba98")
