"""The paper's Figure 1, drawn from a :class:`~clipaac_lib.model.config.ModelConfig`.

:func:`architecture_figure` draws CLIP-AAC as boxes and arrows: the audio head (fbsp front end,
ESResNeXt, audio embedding A), the text head (CLIP's text Transformer, text embedding T), the b x b grid
of cosine similarities between a batch's A and T (the diagonal holds the matching pairs) with the
contrastive loss, and the caption decoder (word embeddings, masked self-attention, cross-attention to
the audio memory, feed-forward, linear layer to the vocabulary) with the caption loss and the weighted
sum of the two losses. Every size on the figure is read from the config; given a second config, each
label shows both values, ``first / second`` (one value where they agree).

Each box and its text share a ``gid``: ``"box:<name>"``, or ``"group:<name>"`` for the frames that hold
other boxes, so a test can check that every text fits its box. The figure is built with matplotlib's
object API on an Agg canvas: no pyplot state, no display needed.
Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from clipaac_lib.model.config import ModelConfig

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FIGURE_SIZE", "architecture_figure", "architecture_labels"]

#: Size of :func:`architecture_figure` in inches: the book's text column at 100 dpi.
FIGURE_SIZE = (7.5, 5.6)
_FONT = 7.5  # points
_AUDIO, _TEXT, _DECODER, _LOSS = "#dceaf7", "#fbe3cf", "#e2f0d9", "#f6f0c4"  # box colours
_POSITIVE, _NEGATIVE, _BLOCKS = "#8e6bbf", "#d4d4d4", "#efefef"
Point = tuple[float, float]


def _shower(config: ModelConfig, other: ModelConfig | None) -> Callable[[Callable[[ModelConfig], Any]], str]:
    """``show(get)``: ``get(config)`` as text, or ``"a / b"`` with ``get(other)`` where it differs."""

    def show(get: Callable[[ModelConfig], Any]) -> str:
        first = get(config)
        if other is None or get(other) == first:
            return str(first)
        return f"{first} / {get(other)}"

    return show


def architecture_labels(config: ModelConfig, other: ModelConfig | None = None) -> dict[str, str]:
    """The text of each box of :func:`architecture_figure`, by box name, with the sizes of ``config``
    (``"config / other"`` where ``other``'s differ). Notebook: ``notebooks/02_architecture.ipynb``."""
    v = _shower(config, other)
    a, d = (lambda c: c.audio), (lambda c: c.decoder)
    memory_len = v(lambda c: "frames" if c.audio_memory == "frames" else 1)
    source = "feature map frames" if config.audio_memory == "frames" else "A"
    models = config.name if other is None else f"{config.name} / {other.name}"
    return {
        "audio_head": "audio head (ESResNeXt-fbsp)",
        "waveform": f"waveform $a_i$: (b, samples)\nat {v(lambda c: c.sample_rate)} Hz",
        "frontend": (f"fbsp front end (learnable STFT, dB)\nwindow {v(lambda c: a(c).win_length)}, "
                     f"hop {v(lambda c: a(c).hop_length)}\nn_fft {v(lambda c: a(c).n_fft)}, "
                     f"{v(lambda c: a(c).num_bands)} bands × {v(lambda c: a(c).band_height)} bins"),
        "esresnext": ("ESResNeXt: 7×7 conv + BN, 4 stages\nblocks per stage "
                      + v(lambda c: ",".join(str(n) for n in a(c).layers))
                      + f"\nattention gates, {v(lambda c: a(c).feature_channels)} channels"),
        "audio_emb": f"average pool + linear\n$A_i$: (b, {v(lambda c: c.embed_dim)})",
        "text_head": "text head (CLIP, training only)",
        "caption": (f"caption $t_i$: (b, {v(lambda c: c.text.context_length)}) CLIP BPE ids\n"
                    f"vocabulary of {v(lambda c: c.text.vocab_size)}"),
        "text_transformer": (f"CLIP text Transformer, causal mask\n{v(lambda c: c.text.layers)} layers, "
                             f"width {v(lambda c: c.text.width)}, {v(lambda c: c.text.heads)} heads"),
        "text_emb": f"LayerNorm + linear\n$T_i$: (b, {v(lambda c: c.embed_dim)})",
        "memory": (f"decoder memory: {source}\nlinear + LayerNorm\n"
                   f"(b, {memory_len}, {v(lambda c: d(c).d_model)})"),
        "contrastive_group": "contrastive learning",
        "positive": "matching pair (positive)",
        "negative": "mismatched pair (negative)",
        "grid_caption": (r"$b \times b$ similarities $\langle A_i, T_k \rangle/t$" "\n"
                         f"learnable $1/t$, {v(lambda c: f'{c.logit_scale_init:g}')} at start"),
        "contrastive": ("contrastive loss (eqs. 1-5)\n"
                        r"$L_{cl} = \lambda L^{A \to T} + (1 - \lambda) L^{T \to A}$"),
        "decoder_group": "caption decoder",
        "words": "caption words: (b, M)\n<bos> $w_1$ ... $w_n$",
        "embedding": f"word embedding + positions\n(b, M, {v(lambda c: d(c).d_model)})",
        "blocks": f"× {v(lambda c: d(c).layers)} blocks, each sub-layer + add & norm",
        "self_attention": f"masked self-attention, {v(lambda c: d(c).heads)} heads",
        "cross_attention": (f"cross-attention to the memory\nkeys, values: (b, {memory_len}, "
                            f"{v(lambda c: d(c).d_model)})"),
        "feed_forward": f"feed-forward, {v(lambda c: d(c).ffn_dim)} hidden",
        "output": f"linear to the vocabulary\n(b, M, {v(lambda c: c.vocab_size)})",
        "caption_loss": ("softmax, caption loss (eq. 6)\n"
                         r"$L_{ce} = -\sum_m \log P(t_m | t_{<m}, A)$"),
        "total": r"total loss (eq. 7):  $\alpha L_{cl} + (1 - \alpha) L_{ce}$",
        "legend": (f"sizes: {models} model\nb: batch size, M: caption length"
                   + ("\nframes: time steps of the feature map" if "frames" in memory_len else "")),
    }


def _box(ax: Axes, name: str, xy: Point, size: Point, text: str, *, face: str, group: bool = False,
         dashed: bool = False) -> None:
    """A rounded box, lower-left corner ``xy`` and ``size`` in inches, with ``text`` centred in it (a
    ``group`` frame: its title at the top left)."""
    from matplotlib.patches import FancyBboxPatch

    (x, y), (w, h) = xy, size
    gid = f"{'group' if group else 'box'}:{name}"
    patch = FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.06", facecolor=face,
                           edgecolor="0.4", linewidth=0.8, linestyle="--" if dashed else "-",
                           zorder=1 if group else 2, gid=gid)
    ax.add_patch(patch)
    if group:
        ax.text(x + 0.08, y + h - 0.06, text, ha="left", va="top", fontsize=_FONT, style="italic",
                zorder=3, gid=gid)
    else:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=_FONT,
                multialignment="center", zorder=3, gid=gid)


def _arrow(ax: Axes, *points: Point) -> None:
    """An arrow along the straight segments through ``points``, its head at the last one."""
    if len(points) > 2:
        xs, ys = zip(*points[:-1], strict=True)
        ax.plot(xs, ys, color="0.25", linewidth=0.9, solid_capstyle="butt", zorder=4)
    ax.annotate("", xy=points[-1], xytext=points[-2], zorder=4,
                arrowprops={"arrowstyle": "-|>", "color": "0.25", "linewidth": 0.9, "shrinkA": 0,
                            "shrinkB": 0, "mutation_scale": 8})


def _down(ax: Axes, x: float, tops: Sequence[tuple[float, float]]) -> None:
    """Vertical arrows at ``x`` from each ``(start, end)`` height pair."""
    for start, end in tops:
        _arrow(ax, (x, start), (x, end))


def _grid(ax: Axes, left: float, bottom: float, cell: float, n: int) -> None:
    """The n x n similarity grid: row i is A_i, column k is T_k; the diagonal is purple."""
    from matplotlib.patches import Rectangle

    for i in range(n):
        for k in range(n):
            ax.add_patch(Rectangle((left + k * cell, bottom + (n - 1 - i) * cell), cell, cell,
                                   facecolor=_POSITIVE if i == k else _NEGATIVE, edgecolor="white",
                                   linewidth=1.0, zorder=2))
    rows = [*(f"$A_{j + 1}$" for j in range(n - 2)), r"$\vdots$", "$A_b$"]
    columns = [*(f"$T_{j + 1}$" for j in range(n - 2)), r"$\cdots$", "$T_b$"]
    for j, (row, column) in enumerate(zip(rows, columns, strict=True)):
        y = bottom + (n - 1 - j) * cell + cell / 2
        ax.text(left - 0.05, y, row, ha="right", va="center", fontsize=_FONT, zorder=3)
        ax.text(left + j * cell + cell / 2, bottom - 0.04, column, ha="center", va="top",
                fontsize=_FONT, zorder=3)


def architecture_figure(config: ModelConfig, other: ModelConfig | None = None) -> Figure:
    """CLIP-AAC's block diagram (the paper's Figure 1) labelled with the sizes of ``config`` (and
    ``other``: ``"config / other"`` where they differ).

    Left: the audio head (waveform, fbsp front end, ESResNeXt, A) above the text head (caption, CLIP
    text Transformer, T); middle: the decoder memory and a 4 x 4 picture of the b x b similarity grid
    (purple diagonal: the b matching pairs; grey: the b^2 - b negatives) above the contrastive loss;
    right: the caption decoder from the words to the vocabulary and the caption loss; bottom: the total
    loss of eq. 7. With ``audio_memory="frames"`` the memory comes from the last feature map instead of
    A. Returns a :data:`FIGURE_SIZE` figure on an Agg canvas, already drawn.

    Notebook: ``notebooks/02_architecture.ipynb``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    text = architecture_labels(config, other)
    width, height = FIGURE_SIZE
    fig = Figure(figsize=FIGURE_SIZE, dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.set_axis_off()

    # left column: the audio head flows down, the text head up; they meet at the grid --------------
    x0, w0 = 0.16, 2.4
    _box(ax, "audio_head", (0.06, 2.9), (2.6, 2.64), text["audio_head"], face="none", group=True,
         dashed=True)
    _box(ax, "waveform", (x0, 4.92), (w0, 0.38), text["waveform"], face=_AUDIO)
    _box(ax, "frontend", (x0, 4.21), (w0, 0.56), text["frontend"], face=_AUDIO)
    _box(ax, "esresnext", (x0, 3.50), (w0, 0.56), text["esresnext"], face=_AUDIO)
    _box(ax, "audio_emb", (x0, 2.97), (w0, 0.38), text["audio_emb"], face=_AUDIO)
    _down(ax, x0 + w0 / 2, [(4.92, 4.77), (4.21, 4.06), (3.50, 3.35)])
    _box(ax, "text_head", (0.06, 0.72), (2.6, 2.06), text["text_head"], face="none", group=True,
         dashed=True)
    _box(ax, "text_emb", (x0, 2.06), (w0, 0.38), text["text_emb"], face=_TEXT)
    _box(ax, "text_transformer", (x0, 1.45), (w0, 0.46), text["text_transformer"], face=_TEXT)
    _box(ax, "caption", (x0, 0.84), (w0, 0.46), text["caption"], face=_TEXT)
    _down(ax, x0 + w0 / 2, [(1.30, 1.45), (1.91, 2.06)])
    ax.text(0.1, 0.4, text["legend"], ha="left", va="center", fontsize=_FONT, color="0.3")

    # middle column: memory, similarity grid, contrastive loss -----------------------------------------
    x1, w1 = 2.86, 2.0
    _box(ax, "memory", (x1, 4.80), (w1, 0.52), text["memory"], face=_DECODER)
    start = (x0 + w0, 3.78) if config.audio_memory == "frames" else (x0 + w0, 3.27)
    _arrow(ax, start, (2.76, start[1]), (2.76, 5.06), (x1, 5.06))
    _box(ax, "contrastive_group", (x1, 0.62), (w1, 4.0), text["contrastive_group"], face="none",
         group=True, dashed=True)
    for row, (kind, colour) in enumerate((("positive", _POSITIVE), ("negative", _NEGATIVE))):
        y = 4.18 - row * 0.22
        ax.add_patch(Rectangle((x1 + 0.14, y - 0.06), 0.12, 0.12, facecolor=colour, zorder=2))
        ax.text(x1 + 0.32, y, text[kind], ha="left", va="center", fontsize=_FONT, zorder=3)
    cell, n = 0.26, 4
    grid_left, grid_bottom = x1 + w1 / 2 - n * cell / 2 + 0.08, 3.16 - n * cell / 2
    _grid(ax, grid_left, grid_bottom, cell, n)
    _arrow(ax, (x0 + w0, 3.10), (grid_left - 0.24, 3.10))
    under = grid_bottom - 0.22  # below the T_k labels
    _arrow(ax, (x0 + w0, 2.25), (grid_left + n * cell / 2, 2.25), (grid_left + n * cell / 2, under))
    ax.text(x1 + w1 / 2, 1.83, text["grid_caption"], ha="center", va="center", fontsize=_FONT,
            multialignment="center", zorder=3)
    _box(ax, "contrastive", (x1 + 0.08, 0.76), (w1 - 0.16, 0.56), text["contrastive"], face=_LOSS)
    _down(ax, x1 + w1 / 2, [(1.58, 1.32)])

    # right column: the decoder, top to bottom ------------------------------------------------------
    x2, w2 = 5.06, 2.38
    xi, wi = x2 + 0.1, w2 - 0.2
    mid = xi + wi / 2
    _box(ax, "decoder_group", (x2, 0.62), (w2, 4.92), text["decoder_group"], face="none", group=True,
         dashed=True)
    _box(ax, "words", (xi, 4.92), (wi, 0.38), text["words"], face=_DECODER)
    _box(ax, "embedding", (xi, 4.30), (wi, 0.38), text["embedding"], face=_DECODER)
    _box(ax, "blocks", (xi, 2.34), (wi, 1.78), text["blocks"], face=_BLOCKS, group=True)
    xb, wb = xi + 0.1, wi - 0.2
    _box(ax, "self_attention", (xb, 3.44), (wb, 0.34), text["self_attention"], face=_DECODER)
    _box(ax, "cross_attention", (xb, 2.88), (wb, 0.42), text["cross_attention"], face=_DECODER)
    _box(ax, "feed_forward", (xb, 2.42), (wb, 0.32), text["feed_forward"], face=_DECODER)
    _box(ax, "output", (xi, 1.64), (wi, 0.38), text["output"], face=_DECODER)
    _box(ax, "caption_loss", (xi, 0.76), (wi, 0.56), text["caption_loss"], face=_LOSS)
    _down(ax, mid, [(4.92, 4.68), (4.30, 3.78), (3.44, 3.30), (2.88, 2.74), (2.42, 2.02),
                    (1.64, 1.32)])
    _arrow(ax, (x1 + w1, 5.06), (4.96, 5.06), (4.96, 3.09), (xb, 3.09))

    # bottom: the total loss ------------------------------------------------------------------------
    _box(ax, "total", (x1, 0.06), (x2 + w2 - x1, 0.4), text["total"], face=_LOSS)
    _down(ax, x1 + w1 / 2, [(0.76, 0.46)])
    _down(ax, mid, [(0.76, 0.46)])
    fig.canvas.draw()
    return fig
