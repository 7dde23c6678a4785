"""The CLIP text head and tokenizer against open_clip (an independent implementation of CLIP) and the
token ids measured in toolchain.md."""

from __future__ import annotations

import warnings

import pytest
import torch

from clipaac_lib.model import CONTEXT_LENGTH, EOT_ID, SOT_ID, TextConfig, TokenTruncationWarning, tokenize
from clipaac_lib.model.text import TextTransformer


def test_tokenizer_matches_the_measured_clip_ids() -> None:
    tokens = tokenize(["A dog barks while a car passes by."])
    expected = [49406, 320, 1929, 1040, 662, 1519, 320, 1615, 7633, 638, 269, 49407]  # toolchain.md
    assert tokens.shape == (1, 77) and tokens.dtype == torch.long
    assert tokens[0, :12].tolist() == expected
    assert (tokens[0, 12:] == 0).all()


def test_over_long_captions_are_truncated_with_a_warning() -> None:
    long_caption = " ".join(["rain"] * 120)
    with pytest.warns(TokenTruncationWarning, match="#1"):
        tokens = tokenize(["short caption", long_caption])
    assert tokens.shape == (2, CONTEXT_LENGTH)
    assert tokens[1, 0].item() == SOT_ID and tokens[1, -1].item() == EOT_ID
    assert (tokens[1, 1:-1] != 0).all() and (tokens[1, 1:-1] != EOT_ID).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenize("a short caption fits")  # no warning


def test_tokenize_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="item 1"):
        tokenize(["fine", 3])  # type: ignore[list-item]


@pytest.fixture(scope="module")
def heads() -> tuple[TextTransformer, torch.nn.Module]:
    from open_clip.transformer import QuickGELU as OpenClipQuickGELU
    from open_clip.transformer import TextTransformer as OpenClipText

    torch.manual_seed(0)
    config = TextConfig(width=64, heads=4, layers=2)
    reference = OpenClipText(
        context_length=77,
        vocab_size=49408,
        width=64,
        heads=4,
        layers=2,
        output_dim=48,
        act_layer=OpenClipQuickGELU,
    ).eval()
    ours = TextTransformer(config, 48).eval()
    ours.load_state_dict(reference.state_dict(), strict=False)
    return ours, reference


def test_text_head_has_clip_names_and_matches_open_clip(heads) -> None:
    ours, reference = heads
    ours_shapes = {key: tuple(value.shape) for key, value in ours.state_dict().items()}
    reference_shapes = {key: tuple(value.shape) for key, value in reference.state_dict().items()}
    assert ours_shapes.items() <= reference_shapes.items()
    assert set(reference_shapes) - set(ours_shapes) <= {"attn_mask"}  # open_clip's mask buffer
    tokens = tokenize(["a dog barks", "rain falls on a tin roof while thunder rumbles", "birds"])
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), reference(tokens), rtol=1e-4, atol=1e-5)


def test_text_head_reads_the_end_of_text_position_only(heads) -> None:
    ours, _ = heads
    tokens = tokenize(["a dog barks", "a dog barks"])
    tokens[1, 10:] = 5  # garbage after the end token must not matter (causal mask, eot pooling)
    with torch.no_grad():
        out = ours(tokens)
    torch.testing.assert_close(out[0], out[1])


def test_text_head_skips_the_padding_after_the_batch_s_last_end_token(heads) -> None:
    ours, reference = heads
    tokens = tokenize(["a dog barks", "rain falls on a tin roof while thunder rumbles"])  # (2, 77)
    last = int((tokens == EOT_ID).nonzero()[:, 1].max())  # the longer caption's end token
    seen: list[tuple[int, ...]] = []
    hook = ours.transformer.register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape)))
    try:
        with torch.no_grad():
            out = ours(tokens)
    finally:
        hook.remove()
    assert seen == [(2, last + 1, 64)]  # not 77 positions
    with torch.no_grad():  # open_clip runs all 77 positions: the same result
        torch.testing.assert_close(out, reference(tokens), rtol=1e-4, atol=1e-5)


def test_text_head_rejects_word_ids_out_of_the_bpe_range(heads) -> None:
    ours, _ = heads
    with pytest.raises(ValueError, match="text token ids"):
        ours(torch.full((1, 77), 60000))


def test_importing_the_model_package_does_not_import_open_clip() -> None:
    import subprocess
    import sys

    code = "import sys, clipaac_lib.model, clipaac_lib.model.losses; assert 'open_clip' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
