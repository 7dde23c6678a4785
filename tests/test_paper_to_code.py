"""The paper-to-code table (book/paper_to_code.md): complete, every symbol and test it names exists, and
the page in the book is the one the table generates."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from devtools.paper_to_code import main, render_markdown, source_file, test_exists
from devtools.paper_to_code_rows import DEVIATION, ROWS, SILENT, resolve

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "book" / "paper_to_code.md"


def test_every_equation_and_algorithm_step_has_a_row() -> None:
    assert len(ROWS) >= 30
    items = [row.item for row in ROWS]
    for n in range(1, 8):
        assert any(item.startswith(f"Eq. ({n})") for item in items), f"Eq. ({n}) has no row"
    for step in range(1, 7):
        assert any(item.startswith(f"Algorithm 1, step {step}:") for item in items), f"step {step} has no row"
    assert len(set(items)) == len(items), "two rows share an item"
    assert all(re.fullmatch(r"\d(\.\d)?", row.section) for row in ROWS)


def test_every_code_path_resolves() -> None:
    """Fails (naming them) while a row names a symbol the library does not have yet."""
    missing = []
    for row in ROWS:
        try:
            resolve(row.code)
        except (LookupError, ImportError) as err:
            missing.append(f"{row.item}: {err}")
    assert not missing, "\n".join(missing)


def test_resolve_handles_functions_fields_constants_and_missing_names() -> None:
    from clipaac_lib.model.losses import contrastive_loss
    from clipaac_lib.train.config import TrainConfig

    assert resolve("clipaac_lib.model.losses.contrastive_loss") is contrastive_loss
    field = resolve("clipaac_lib.train.config.TrainConfig.model_overrides")  # default_factory: no class attribute
    assert isinstance(field, dataclasses.Field) and field.name == "model_overrides"
    assert resolve("clipaac_lib.train.config.PAPER_EPOCHS") == 40
    assert resolve("clipaac_lib.train.config.TrainConfig") is TrainConfig
    with pytest.raises(LookupError, match="no 'no_such_knob'"):
        resolve("clipaac_lib.train.config.TrainConfig.no_such_knob")
    assert source_file("clipaac_lib.train.config.TrainConfig.lam") == "clipaac_lib/train/config.py"
    assert source_file("clipaac_lib.train.evaluation.run_split") == "clipaac_lib/train/evaluation.py"  # decorated
    assert source_file("clipaac_lib.train.config.PAPER_EPOCHS") == "clipaac_lib/train/config.py"


def test_every_test_id_names_an_existing_test() -> None:
    """Parses the test files (never imports them); fails, naming them, while a row names a test that is
    not written yet."""
    missing = [f"{row.item}: {row.test}" for row in ROWS
               if not row.test.split("::")[-1].startswith("test_") or not test_exists(row.test)]
    assert not missing, "\n".join(missing)


def test_test_exists_reads_the_file_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import no_such_module\n\n@decorator\ndef test_a():\n    pass\n\nclass TestB:\n    def test_c(self):\n"
        "        pass\n", encoding="utf-8")
    assert test_exists("tests/test_x.py::test_a", tmp_path)
    assert test_exists("tests/test_x.py::TestB::test_c", tmp_path)
    assert not test_exists("tests/test_x.py::TestB", tmp_path)  # a class is not a test
    assert not test_exists("tests/test_x.py::test_z", tmp_path)
    assert not test_exists("tests/test_y.py::test_a", tmp_path)


def test_open_choices_say_what_we_chose() -> None:
    open_rows = [row for row in ROWS if row.is_open]
    assert len(open_rows) >= 10
    for row in ROWS:
        assert row.ours.strip(), f"{row.item}: empty 'ours'"
        assert row.code.startswith("clipaac_lib.") and row.test.startswith("tests/test_"), row.item
        assert ("silent" not in row.paper.lower()) or row.paper.startswith(SILENT), row.item
    knobs = {row.code.rsplit(".", 1)[-1] for row in open_rows}
    assert {"epoch_captions", "caption_loss", "lr_after_warmup", "encoder_lr", "temperature_init",
            "select_checkpoint", "length_penalty", "run_split", "TABLE1", "DecoderConfig"} <= knobs


def test_known_deviations_are_labelled_as_such() -> None:
    """The three places where the code departs from the paper's text are marked, not called silent."""
    marked = {row.item for row in ROWS if row.is_deviation}
    assert {"Time-frequency transform", "Bottlenecks per block", "Temperature: learned or fixed"} <= marked
    for row in ROWS:
        assert not (row.is_deviation and row.is_open), row.item
        if row.is_deviation:
            assert "Why" in row.ours or "why" in row.ours or "in effect" in row.ours, row.item
    assert DEVIATION in render_markdown()


def test_page_is_up_to_date() -> None:
    """Regenerate with ``python -m devtools.paper_to_code book/paper_to_code.md``."""
    assert PAGE.read_text(encoding="utf-8") == render_markdown(), (
        "book/paper_to_code.md is stale: run `python -m devtools.paper_to_code book/paper_to_code.md`")


def test_page_has_one_table_with_a_row_per_entry_and_the_open_choices() -> None:
    page = render_markdown()
    assert page.startswith("# Paper to code\n")
    header = "| Item | Paper | Ours | Code | Test |"
    assert page.count(header) == 1
    table = [line for line in page.splitlines() if line.startswith("| ")][1:]
    assert len(table) == len(ROWS)
    for line, row in zip(table, ROWS, strict=True):
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        assert len(cells) == 5, line
        assert "https://github.com/clipaac/clipaac/blob/main/clipaac_lib/" in cells[3]
        assert f"tests/{row.test.split('::')[0].removeprefix('tests/')}" in cells[4]
    assert "contrastive_loss`](https://github.com/clipaac/clipaac/blob/main/clipaac_lib/model/losses.py)" in page
    deviations = page.split("## Deviations from the paper", 1)[1].split("## Open choices", 1)[0]
    assert deviations.count("\n- **") == sum(row.is_deviation for row in ROWS)
    opened = page.split("## Open choices", 1)[1]
    assert opened.count("\n- **") == sum(row.is_open for row in ROWS)
    assert "<unk>" not in page.replace("`<unk>`", "")  # escaped outside code, or MyST reads it as HTML


def test_command_line_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "page.md"
    assert main(["--check", str(out)]) == 1
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_markdown()
    assert main(["--check", str(out)]) == 0
    out.write_text("stale\n", encoding="utf-8")
    assert main(["--check", str(out)]) == 1
    assert "out of date" in capsys.readouterr().err


# ------------------------------------------------ defaults the page states that no other test pins
def test_adam_has_pytorchs_defaults_and_no_decay_or_clipping() -> None:
    from clipaac_lib.model import CLIPAAC
    from clipaac_lib.train.config import TrainConfig
    from clipaac_lib.train.setup import build_model_config
    from clipaac_lib.train.step import make_optimizer

    cfg = TrainConfig(model_overrides={"embed_dim": 16, "text": {"width": 16, "heads": 2, "layers": 1},
                                       "decoder": {"d_model": 16, "heads": 2, "ffn_dim": 32}})
    assert cfg.weight_decay == 0.0 and cfg.max_grad_norm is None
    optimizer = make_optimizer(CLIPAAC(build_model_config(cfg, vocab_size=10)), cfg, fused=False)
    for group in optimizer.param_groups:
        assert (group["betas"], group["eps"], group["weight_decay"]) == ((0.9, 0.999), 1e-8, 0.0)


def test_paper_decoder_is_transformer_base() -> None:
    import torch

    from clipaac_lib.model import ModelConfig
    from clipaac_lib.model.decoder import DecoderBlock

    decoder = ModelConfig.paper().decoder
    assert (decoder.d_model, decoder.heads, decoder.ffn_dim, decoder.layers) == (512, 8, 2048, 2)
    block = DecoderBlock(decoder).eval()
    with torch.no_grad():
        out = block(3.0 + 5.0 * torch.randn(2, 4, 512), torch.randn(2, 1, 512))  # (B, M, d)
    # post-norm: a block ends with LayerNorm (at initialisation: mean 0, standard deviation 1 per position)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(-1, unbiased=False), torch.ones(2, 4), atol=1e-3, rtol=0)
