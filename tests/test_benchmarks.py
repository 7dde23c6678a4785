"""The benchmark scripts still run (on a CPU, at toy sizes) and print their tables. No timing is
asserted: the numbers belong in benchmarks/README.md, measured on a named machine."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _rows(output: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in output.splitlines()
            if line.startswith("| ") and not line.startswith(("| variant", "| audio", "| mode"))]


def test_train_step_prints_one_row_per_variant(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    bench = _script("train_step")
    assert bench.main(["--tiny", "--device", "cpu", "--variants", "fp32,fast,fast-syncs", "--steps", "1",
                       "--warmup", "0", "--seconds", "0.5", "--json", str(tmp_path / "rows.json")]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [r[0] for r in rows] == ["fp32", "fast", "fast-syncs"]
    assert all(float(r[2]) > 0 and float(r[3]) > 0 for r in rows)  # clips/s, ms/step
    assert (tmp_path / "rows.json").is_file()
    with pytest.raises(SystemExit):
        bench.main(["--tiny", "--device", "cpu", "--variants", "fp64"])


def test_data_loader_compares_int16_and_float32(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    bench = _script("data_loader")
    assert bench.main(["--root", str(tmp_path / "data"), "--clips", "4", "--seconds", "2.5", "--batch", "2",
                       "--batches", "2", "--workers", "0", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [(r[0], r[1]) for r in rows] == [("int16", "0"), ("float32", "0")]
    mbps = {r[0]: float(r[3]) / float(r[2]) for r in rows}  # MB moved per clip: 2.5 s at 44.1 kHz
    assert mbps["int16"] == pytest.approx(2.5 * 44100 * 2 / 1e6, rel=0.03)
    assert mbps["float32"] == pytest.approx(2.5 * 44100 * 4 / 1e6, rel=0.03)
    assert re.search(r"CPU only, \d+ cores", out)


def test_step_levers_combines_variants_and_prints_a_row_each(capsys: pytest.CaptureFixture) -> None:
    bench = _script("step_levers")
    assert bench.parse_variant("hop=360+seconds=3+text-embedding-frozen", 4.5) == {
        "audio": {"hop_length": 360}, "seconds": 3.0, "freeze_text_embedding": True, "compile": False}
    assert bench.parse_variant("stem=8+compile", 4.5) == {
        "audio": {"stem_width": 8}, "seconds": 4.5, "freeze_text_embedding": False, "compile": True}
    variants = ["base", "hop=480+text-embedding-frozen", "stem=8+seconds=0.25"]  # one process each
    assert bench.main(["--variants", ",".join(variants), "--steps", "1", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    rows = {r[0]: r for r in _rows(out)}
    assert list(rows) == variants and rows["base"][2] == "1.00x"
    for _, ms, _, gflop, rate in rows.values():
        assert float(ms) > 0 and float(gflop) > 0
        assert float(rate) == pytest.approx(float(gflop) / (float(ms) / 1000), rel=0.1, abs=1)
    # coarser frames (with the embedding's gradient gone), a narrower stem on shorter clips: less arithmetic
    assert all(float(rows[v][3]) < float(rows["base"][3]) for v in variants[1:])
    assert re.search(r"first step \(compilation included\): base \d+\.\d s", out)
    with pytest.raises(SystemExit, match="unknown variant part 'stride=2'"):
        bench.main(["--variants", "stride=2"])


@pytest.mark.slow
def test_grid_workers_times_both_ways_into_temporary_run_folders(
        capsys: pytest.CaptureFixture, one_thread_private_cache: None, tmp_path: Path) -> None:
    bench = _script("grid_workers")
    assert bench.main(["--runs", "2", "--smoke", "--threads", "1", "--workers", "2"]) == 0
    rows = {r[0]: r for r in _rows(capsys.readouterr().out)}
    assert list(rows) == ["sequential", "workers"]
    assert [rows[m][1] for m in rows] == ["1 x 1", "2 x 1"]
    for _, _, wall, per_run in rows.values():
        assert float(wall) > 0 and float(per_run) == pytest.approx(float(wall) / 2, abs=0.6)
    runs = tmp_path / "cache" / "runs"  # every timed run went to a temporary folder, none to the cache
    assert not runs.exists() or not any(runs.iterdir())
    with pytest.raises(SystemExit, match="must be positive"):
        bench.main(["--runs", "0"])


def test_plateau_change_is_each_epoch_s_step_over_the_way_come_so_far() -> None:
    changes = _script("plateau").relative_changes([4.0, 3.0, 2.5, 2.4, 2.4])
    assert changes[0] is None
    assert changes[1:] == pytest.approx([1.0, 0.5 / 1.5, 0.1 / 1.6, 0.0])  # by hand


@pytest.mark.slow
def test_plateau_scores_the_system_it_trains_and_reprints_from_its_run_folder(
        capsys: pytest.CaptureFixture, one_thread_private_cache: None, tmp_path: Path) -> None:
    bench = _script("plateau")
    args = ["--system", "1", "--epochs", "2", "--every", "1", "--smoke", "--run-root", str(tmp_path / "runs")]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    assert "system 1, seed 0" in out and "random" in out  # system 1: the randomly initialised encoder
    (row,) = [r for r in _rows(out) if r[0] != "epoch"]  # a smoke run trains one epoch
    assert row[0] == "1" and row[2] == "-" and 0 <= float(row[3]) <= 10 and float(row[4]) > 0
    assert bench.main(args) == 0  # the finished run is found again, nothing retrained
    (again,) = [r for r in _rows(capsys.readouterr().out) if r[0] != "epoch"]
    assert again[:4] == row[:4]
    with pytest.raises(SystemExit, match="must be positive"):
        bench.main(["--every", "0"])


def test_cpu_threads_wait_parts_become_openmp_settings() -> None:
    wait_env = _script("cpu_threads").wait_env
    assert wait_env([]) == {}
    assert wait_env(["passive"]) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert wait_env(["spin=10000"]) == {"GOMP_SPINCOUNT": "10000"}
    with pytest.raises(SystemExit, match="unknown policy part 'spin=lots'"):
        wait_env(["spin=lots"])
