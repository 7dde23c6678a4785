"""The paper's Figure 1 drawn from a config (``clipaac_lib.model.figure``, notebook 02): its labels come
from the config, its texts fit their boxes, and it draws on an Agg canvas without pyplot."""

from __future__ import annotations

import io
import itertools

import matplotlib
import pytest

from clipaac_lib.model import ModelConfig, architecture_figure, architecture_labels

matplotlib.use("Agg")


def _texts(fig) -> list:
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]


def _joined(fig) -> str:
    return "\n".join(t.get_text() for t in _texts(fig))


@pytest.fixture(scope="module")
def configs() -> tuple[ModelConfig, ModelConfig]:
    return ModelConfig.small(vocab_size=135), ModelConfig.paper(vocab_size=135)


def test_returns_a_figure_drawn_on_agg_without_pyplot(configs) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = architecture_figure(*configs)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert plt.get_fignums() == before  # not registered with pyplot: nothing to close
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_labels_come_from_the_config(configs) -> None:
    small, paper = configs
    text = _joined(architecture_figure(small))
    for expected in (f"$A_i$: (b, {small.embed_dim})", f"$T_i$: (b, {small.embed_dim})",
                     f"at {small.sample_rate} Hz", f"(b, M, {small.vocab_size})",
                     f"(b, M, {small.decoder.d_model})", f"{small.decoder.heads} heads",
                     f"{small.audio.feature_channels} channels", f"{small.text.layers} layers",
                     f"(b, 1, {small.decoder.d_model})", f"× {small.decoder.layers} blocks",
                     f"{small.audio.num_bands} bands × {small.audio.band_height} bins"):
        assert expected in text, expected
    assert " / " not in text.replace("sizes: small", "")  # one model: single values
    changed = ModelConfig.small(vocab_size=small.vocab_size + 7, embed_dim=small.embed_dim + 128)
    text = _joined(architecture_figure(changed))
    assert f"(b, {changed.embed_dim})" in text and f"(b, {small.embed_dim})" not in text
    assert f"(b, M, {changed.vocab_size})" in text and f"(b, M, {small.vocab_size})" not in text


def test_two_configs_show_both_values(configs) -> None:
    small, paper = configs
    text = _joined(architecture_figure(small, paper))
    for get in (lambda c: c.embed_dim, lambda c: c.sample_rate, lambda c: c.decoder.d_model,
                lambda c: c.text.layers, lambda c: c.audio.hop_length, lambda c: c.decoder.ffn_dim):
        assert get(small) != get(paper)
        assert f"{get(small)} / {get(paper)}" in text
    assert small.decoder.layers == paper.decoder.layers  # equal values are shown once
    assert f"× {small.decoder.layers} blocks" in text and f"(b, M, {small.vocab_size})" in text
    assert "sizes: small / paper model" in text
    assert architecture_labels(small, paper)["memory"].endswith(
        f"(b, 1, {small.decoder.d_model} / {paper.decoder.d_model})")


def test_frames_memory_is_drawn_from_the_feature_map(configs) -> None:
    small, _ = configs
    frames = ModelConfig.small(vocab_size=small.vocab_size, audio_memory="frames")
    labels = architecture_labels(frames)
    assert "frames" in labels["memory"] and f"(b, frames, {frames.decoder.d_model})" in labels["memory"]
    assert "(b, frames," in labels["cross_attention"]
    assert "(b, 1," in architecture_labels(small)["cross_attention"]


@pytest.mark.parametrize("pair", ["small", "small+paper", "paper", "frames"])
def test_texts_fit_their_boxes_and_nothing_overlaps(configs, pair: str) -> None:
    small, paper = configs
    args = {"small": (small,), "small+paper": (small, paper), "paper": (paper,),
            "frames": (ModelConfig.small(vocab_size=135, audio_memory="frames"), paper)}[pair]
    fig = architecture_figure(*args)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    patches = {p.get_gid(): p.get_window_extent(renderer) for p in fig.axes[0].patches if p.get_gid()}
    texts = [(t.get_gid(), t.get_window_extent(renderer)) for t in _texts(fig)]
    leaves = {gid: box for gid, box in patches.items() if gid.startswith("box:")}
    assert len(leaves) >= 15
    boxed = {gid for gid, _ in texts if gid}
    assert boxed == set(patches), "every box has its text"
    for gid, extent in texts:
        assert page.x0 <= extent.x0 and extent.x1 <= page.x1 and page.y0 <= extent.y0 and extent.y1 <= page.y1
        if gid:
            box = patches[gid]
            assert (box.x0 + 2 <= extent.x0 and extent.x1 <= box.x1 - 2 and box.y0 + 1 <= extent.y0
                    and extent.y1 <= box.y1 - 1), f"{gid}: text {extent} outside its box {box}"
        for other, box in leaves.items():
            if other != gid:
                assert not extent.overlaps(box), f"text of {gid} overlaps box {other}"
    for (gid_a, a), (gid_b, b) in itertools.combinations(texts, 2):
        assert not a.overlaps(b), f"texts of {gid_a} and {gid_b} overlap"
    for (gid_a, a), (gid_b, b) in itertools.combinations(leaves.items(), 2):
        assert not a.overlaps(b), f"boxes {gid_a} and {gid_b} overlap"
