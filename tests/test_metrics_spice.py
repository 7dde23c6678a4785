"""SPICE: the path without CoreNLP (None + one warning), the command line (our cache folder, nothing
written to site-packages, Java 17 handled), a real run of our Java driver, and install_spice against a local HTTP server
serving fake jars whose checksums the test computes."""

from __future__ import annotations

import hashlib
import io
import math
import shutil
import subprocess
import threading
import warnings
import zipfile
from pathlib import Path

import pytest

from clipaac_lib.cli.metrics import main as metrics_cli
from clipaac_lib.common import paths
from clipaac_lib.common.download import Checksum
from clipaac_lib.metrics import (
    METRIC_KEYS,
    SPICE_INSTALL_COMMAND,
    CoreNLPSource,
    SpiceInstallError,
    SpiceNotInstalledError,
    SpiceUnavailableWarning,
    evaluate_captions,
    install_spice,
    spice_available,
)
from clipaac_lib.metrics.java import find_java, java_has_module, java_version
from clipaac_lib.metrics.ptb import tokenizer_jar
from clipaac_lib.metrics.spice import SpiceProcess, spice_classpath, spice_command, spice_jar
from clipaac_lib.metrics.spice_install import (
    CORENLP_JARS,
    REQUIRED_ENTRIES,
    InvalidJarError,
    _place,
    verify_jar,
)
from tests.http_server import serve

ZIP_ROOT = "stanford-corenlp-full-2015-12-09"
CODE_JAR, MODELS_JAR = CORENLP_JARS


def fake_jar(name: str, *, drop: str | None = None) -> bytes:
    """A small zip holding the members SPICE needs from ``name`` (minus ``drop``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for entry in REQUIRED_ENTRIES[name]:
            if entry != drop:
                jar.writestr(entry, f"fake {entry}")
    return buffer.getvalue()


def stanford_zip(jars: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(f"{ZIP_ROOT}/README.txt", "Stanford CoreNLP (fake)")
        for name, data in jars.items():
            bundle.writestr(f"{ZIP_ROOT}/{name}", data)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def jars() -> dict[str, bytes]:
    return {name: fake_jar(name) for name in CORENLP_JARS}


@pytest.fixture()
def site(tmp_path: Path, jars: dict[str, bytes]):
    """A served folder with a Stanford zip and a Maven-style folder (jars + .sha1)."""
    root = tmp_path / "site"
    (root / "maven").mkdir(parents=True)
    (root / f"{ZIP_ROOT}.zip").write_bytes(stanford_zip(jars))
    for name, data in jars.items():
        (root / "maven" / name).write_bytes(data)
        (root / "maven" / f"{name}.sha1").write_text(f"{hashlib.sha1(data).hexdigest()}  {name}\n")
    with serve(root) as (base, server):
        yield root, base, server


def installed(folder: Path, jars: dict[str, bytes]) -> bool:
    return spice_available(folder) and all((folder / "lib" / n).read_bytes() == d for n, d in jars.items())


def test_install_from_stanford_zip(site, tmp_path: Path, jars: dict[str, bytes]) -> None:
    root, base, server = site
    folder = tmp_path / "spice"
    source = CoreNLPSource(
        zip_url=f"{base}/{ZIP_ROOT}.zip",
        zip_checksum=Checksum("sha256", sha256((root / f"{ZIP_ROOT}.zip").read_bytes())),
        maven_base=None,
        adopt_pycocoevalcap=False,
    )
    lib = install_spice(folder, source=source)
    assert lib == folder / "lib" and installed(folder, jars)
    assert not (folder / "downloads" / f"{ZIP_ROOT}.zip").exists()  # the 400 MB zip is not kept
    seen = len(server.requests)
    install_spice(folder, source=source)  # already installed: nothing fetched
    assert len(server.requests) == seen


def test_zip_checksum_mismatch_is_rejected(site, tmp_path: Path) -> None:
    _, base, _ = site
    folder = tmp_path / "spice"
    source = CoreNLPSource(
        zip_url=f"{base}/{ZIP_ROOT}.zip",
        zip_checksum=Checksum("sha256", "0" * 64),
        maven_base=None,
        adopt_pycocoevalcap=False,
    )
    with pytest.raises(SpiceInstallError, match="sha256"):
        install_spice(folder, source=source)
    assert not spice_available(folder)
    assert not any((folder / "lib" / name).exists() for name in CORENLP_JARS)


def test_maven_fallback_checks_published_sha1(site, tmp_path: Path, jars: dict[str, bytes]) -> None:
    _, base, server = site
    folder = tmp_path / "spice"
    source = CoreNLPSource(
        zip_url=f"{base}/missing.zip", maven_base=f"{base}/maven", adopt_pycocoevalcap=False
    )
    with pytest.warns(RuntimeWarning, match="trying Maven Central"):
        install_spice(folder, source=source)
    assert installed(folder, jars)
    assert {path for path, _ in server.requests} >= {f"maven/{n}.sha1" for n in CORENLP_JARS}


def test_maven_sha1_mismatch_is_rejected(site, tmp_path: Path) -> None:
    root, base, _ = site
    (root / "maven" / f"{MODELS_JAR}.sha1").write_text("0" * 40 + "\n")
    folder = tmp_path / "spice"
    source = CoreNLPSource(zip_url=None, maven_base=f"{base}/maven", adopt_pycocoevalcap=False)
    with pytest.raises(SpiceInstallError, match="sha1"):
        install_spice(folder, source=source)
    assert not spice_available(folder)


def test_pinned_maven_checksum_mismatch_is_rejected(site, tmp_path: Path, jars: dict[str, bytes]) -> None:
    _, base, _ = site
    folder = tmp_path / "spice"
    pins = {CODE_JAR: Checksum("sha256", sha256(jars[CODE_JAR])), MODELS_JAR: Checksum("sha256", "f" * 64)}
    source = CoreNLPSource(
        zip_url=None, maven_base=f"{base}/maven", jar_checksums=pins, adopt_pycocoevalcap=False
    )
    with pytest.raises(SpiceInstallError, match="expected f{64}"):
        install_spice(folder, source=source)
    assert not spice_available(folder)


def test_jar_without_corenlp_classes_is_rejected_and_not_reused(
    tmp_path: Path, jars: dict[str, bytes]
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    broken = dict(
        jars, **{CODE_JAR: fake_jar(CODE_JAR, drop="edu/stanford/nlp/pipeline/StanfordCoreNLP.class")}
    )
    (root / f"{ZIP_ROOT}.zip").write_bytes(stanford_zip(broken))
    folder = tmp_path / "spice"
    with serve(root) as (base, _):
        source = CoreNLPSource(zip_url=f"{base}/{ZIP_ROOT}.zip", maven_base=None, adopt_pycocoevalcap=False)
        with pytest.raises(SpiceInstallError, match="StanfordCoreNLP.class"):
            install_spice(folder, source=source)
        assert not spice_available(folder)
        (root / f"{ZIP_ROOT}.zip").write_bytes(stanford_zip(jars))  # the server now has the right file
        install_spice(folder, source=source)  # the bad archive was set aside, not reused
    assert installed(folder, jars)


def test_corrupt_jar_member_fails_its_crc(tmp_path: Path) -> None:
    data = bytearray(fake_jar(MODELS_JAR))
    marker = b"fake edu/stanford/nlp/models/lexparser"
    at = bytes(data).index(marker)  # zipfile stores these tiny members uncompressed
    data[at] ^= 0x20
    (tmp_path / MODELS_JAR).write_bytes(bytes(data))
    with pytest.raises(InvalidJarError, match="CRC"):
        verify_jar(tmp_path / MODELS_JAR, MODELS_JAR)


def test_cli_install_spice(
    site, tmp_path: Path, jars: dict[str, bytes], capsys: pytest.CaptureFixture
) -> None:
    _, base, _ = site
    folder = tmp_path / "spice"
    code = metrics_cli(
        [
            "install-spice",
            "--cache-dir",
            str(folder),
            "--zip-url",
            f"{base}/{ZIP_ROOT}.zip",
            "--maven-base",
            "",
        ]
    )
    assert code == 0 and installed(folder, jars)
    assert "SPICE is ready" in capsys.readouterr().out


@pytest.fixture()
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$CLIPAAC_CACHE on an empty folder, sharing the (built once) METEOR index of the normal cache."""
    meteor = paths.subdir("meteor")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "meteor").symlink_to(meteor, target_is_directory=True)
    monkeypatch.setenv(paths.ENV_VAR, str(cache))
    return cache


def test_without_corenlp_spice_is_none_with_one_warning(empty_cache: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = evaluate_captions(
            ["a man is speaking", "rain falls"],
            [["a man speaks", "someone speaks"], ["rain is falling hard"]],
            per_clip=True, modern=False,
        )
    spice_warnings = [w for w in caught if issubclass(w.category, SpiceUnavailableWarning)]
    assert len(spice_warnings) == 1 and len(caught) == 1
    assert spice_warnings[0].filename == __file__  # points at the caller of evaluate_captions
    assert SPICE_INSTALL_COMMAND in str(spice_warnings[0].message)
    assert scores["spice"] is None and scores["spider"] is None
    assert all(isinstance(scores[k], float) for k in ("bleu_4", "meteor", "rouge_l", "cider_d"))
    assert "spice" not in scores["per_clip"] and len(scores["per_clip"]["meteor"]) == 2


def test_spice_true_without_corenlp_raises(empty_cache: Path) -> None:
    with pytest.raises(SpiceNotInstalledError, match=SPICE_INSTALL_COMMAND):
        evaluate_captions(["a"], [["a"]], spice=True, modern=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # spice=False: no warning at all
        evaluate_captions(["a dog", "a cat"], [["a dog"], ["a cat"]], spice=False, modern=False)


def fake_installed(folder: Path, jars: dict[str, bytes]) -> Path:
    (folder / "lib").mkdir(parents=True)
    for name, data in jars.items():
        (folder / "lib" / name).write_bytes(data)
    install_spice(folder, source=CoreNLPSource(zip_url=None, maven_base=None, adopt_pycocoevalcap=False))
    assert spice_available(folder)
    return folder


def package_dir() -> Path:
    """pycocoevalcap's folder in site-packages (a namespace package: no __file__)."""
    return spice_jar().parent.parent


@pytest.mark.parametrize("major", [8, 11, 15, 17, 21])
def test_spice_command_runs_from_our_cache(tmp_path: Path, jars: dict[str, bytes], major: int) -> None:
    folder = fake_installed(tmp_path / "spice", jars)
    run = spice_command(
        folder / "tmp" / "in.json",
        folder / "tmp" / "out.json",
        java="java",
        cache_dir=folder,
        java_major=major,
    )
    cmd = run.command
    classpath = cmd[cmd.index("-cp") + 1].split(":")
    assert classpath[:2] == [str(folder / "lib" / CODE_JAR), str(folder / "lib" / MODELS_JAR)]
    assert str(spice_jar()) in classpath
    assert not any(
        Path(p).name.startswith("stanford-corenlp") and package_dir() in Path(p).parents for p in classpath
    )
    assert "-Duser.language=en" in cmd and "-Xmx8G" in cmd and f"-Djava.io.tmpdir={folder / 'tmp'}" in cmd
    assert run.cwd == folder
    if major < 15:
        main = cmd.index("edu.anu.spice.SpiceScorer")
        assert cmd[main + 1 : main + 5] == [str(run.input_json), "-out", str(run.output_json), "-subset"]
    else:  # SpiceScorer cannot write its output on Java 15+: our driver, as a source file in the cache
        driver = Path(cmd[cmd.index("-cp") + 2])
        assert driver.parent == folder / "driver" and driver.suffix == ".java" and driver.is_file()
        assert cmd[cmd.index(str(driver)) + 1 :][:2] == [str(run.input_json), str(run.output_json)]
    if major < 15:
        assert cmd[cmd.index("-cache") + 1] == str(folder / "cache") == str(run.cache)
    elif major == 15:  # the driver's optional 4th argument
        assert cmd[-1] == str(folder / "cache") == str(run.cache)
    else:  # its cache serialiser fails under Java 16+'s module system
        assert str(folder / "cache") not in cmd and run.cache is None
    written = [run.cwd, run.input_json, run.output_json, folder / "tmp", *([run.cache] if run.cache else [])]
    assert all(folder in [p, *p.parents] and package_dir() not in p.parents for p in written)


def standin_classpath_folder(tmp_path: Path, jars: dict[str, bytes]) -> Path:
    """An install whose 'CoreNLP 3.6.0' is pycocoevalcap's CoreNLP 3.4.1 tokenizer jar: enough classes for
    SPICE to start and score an empty input (no models, so no real parse)."""
    folder = tmp_path / "spice"
    (folder / "lib").mkdir(parents=True)
    shutil.copyfile(tokenizer_jar(), folder / "lib" / CODE_JAR)
    (folder / "lib" / MODELS_JAR).write_bytes(jars[MODELS_JAR])
    _place({name: folder / "lib" / name for name in CORENLP_JARS}, folder, "test stand-in")
    return folder


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_spice_driver_runs_on_this_java_without_touching_site_packages(
    tmp_path: Path, jars: dict[str, bytes]
) -> None:
    java = find_java()
    if java_version(java) >= 15 and not java_has_module(java, "jdk.compiler"):
        pytest.skip("this Java runtime has no jdk.compiler module")
    folder = standin_classpath_folder(tmp_path, jars)
    before = snapshot(package_dir())
    corpus, per_clip = SpiceProcess([], [], java=java, cache_dir=folder).result()
    assert math.isnan(corpus) and per_clip == []
    assert snapshot(package_dir()) == before
    assert list((folder / "tmp").iterdir()) == []  # the run's files are removed


def test_upstream_spicescorer_cannot_write_output_on_java_15_plus(
    tmp_path: Path, jars: dict[str, bytes]
) -> None:
    """Why the driver exists: SpiceScorer pretty-prints with the JavaScript engine Java 15 removed."""
    java = find_java()
    if java_version(java) < 15:
        pytest.skip("Java 8-14 still have the JavaScript engine")
    folder = standin_classpath_folder(tmp_path, jars)
    (tmp_path / "in.json").write_text("[]")
    done = subprocess.run(
        [
            java,
            "-cp",
            ":".join(spice_classpath(folder)),
            "edu.anu.spice.SpiceScorer",
            str(tmp_path / "in.json"),
            "-out",
            str(tmp_path / "out.json"),
            "-subset",
            "-silent",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "ScriptEngine" in done.stderr


class FakeSpice:
    """Stands in for SpiceProcess in evaluate_captions: records ``result()`` and ``kill()``."""

    def __init__(self, candidates, references, *, java, cache_dir=None, config=None) -> None:
        self.n = len(candidates)
        self.calls: list[str] = []
        self.fail_result = False

    def result(self) -> tuple[float, list[float]]:
        self.calls.append("result")
        if self.fail_result:
            raise RuntimeError("SPICE failed (fake)")
        return 0.25, [0.5, 0.0][: self.n]

    def kill(self) -> None:
        self.calls.append("kill")


@pytest.fixture()
def fake_spice(monkeypatch: pytest.MonkeyPatch) -> list[FakeSpice]:
    """SPICE "installed" and replaced by FakeSpice; the list collects the processes started."""
    from clipaac_lib.metrics import scoring

    started: list[FakeSpice] = []

    def start(*args, **kwargs) -> FakeSpice:
        started.append(FakeSpice(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(scoring, "spice_available", lambda cache_dir=None: True)
    monkeypatch.setattr(scoring, "SpiceProcess", start)
    return started


TWO_CLIPS = (["a man is speaking", "rain falls"], [["a man speaks", "someone speaks"], ["rain is falling"]])


def meteor_alive() -> bool:
    return any(t.name == "clipaac-meteor" and t.is_alive() for t in threading.enumerate())


def test_spice_result_goes_into_spice_and_spider(fake_spice: list[FakeSpice]) -> None:
    scores = evaluate_captions(*TWO_CLIPS, spice=True, per_clip=True, modern=False)
    assert [p.calls for p in fake_spice] == [["result"]]  # collected, never killed
    assert scores["spice"] == 0.25 and scores["spider"] == (scores["cider_d"] + 0.25) / 2
    clips = scores["per_clip"]
    assert list(clips) == list(METRIC_KEYS) and list(scores) == [*METRIC_KEYS, "per_clip"]
    assert clips["spider"] == [(clips["cider_d"][0] + 0.5) / 2, clips["cider_d"][1] / 2]


@pytest.mark.parametrize(
    ("where", "method"),
    [
        ("clipaac_lib.metrics.meteor.MeteorScorer", "score"),  # in the METEOR thread
        ("pycocoevalcap.cider.cider.Cider", "compute_score"),  # in the main thread
    ],
)
def test_error_in_another_scorer_kills_spice_once(
    where: str, method: str, fake_spice: list[FakeSpice], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError(f"{where} broke")

    monkeypatch.setattr(f"{where}.{method}", broken)
    with pytest.raises(RuntimeError, match=f"{where} broke"):
        evaluate_captions(*TWO_CLIPS, spice=True)
    assert [p.calls for p in fake_spice] == [["kill"]]
    assert not meteor_alive()  # the METEOR thread was waited for


def test_failed_spice_result_is_not_killed_again(
    fake_spice: list[FakeSpice], monkeypatch: pytest.MonkeyPatch
) -> None:
    """result() cleans up after itself (it kills SPICE on its timeout); no second kill after it."""
    from clipaac_lib.metrics import scoring

    def start(*args, **kwargs) -> FakeSpice:
        fake_spice.append(FakeSpice(*args, **kwargs))
        fake_spice[-1].fail_result = True
        return fake_spice[-1]

    monkeypatch.setattr(scoring, "SpiceProcess", start)
    with pytest.raises(RuntimeError, match="SPICE failed"):
        evaluate_captions(*TWO_CLIPS, spice=True)
    assert [p.calls for p in fake_spice] == [["result"]]
