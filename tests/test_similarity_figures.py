"""The audio-text similarity grids are drawn the right way up: the cell level with row label A_i and under
column label T_k shows the similarity of clip i and caption k, so the matching pairs (A_i, T_i) sit on
the labelled diagonal. Checked on what is drawn (the rendered pixels, the cells' artists) against where
the tick labels are, for the paper's Figure 2 heat maps (``clipaac_lib.experiments.plot_figure2``, from
a known similarity matrix) and for the grid of Figure 1 (``clipaac_lib.model.architecture_figure``)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

N = 4
#: Identity-dominant: each clip is most similar to its own caption (0.7), 0.1 to the others.
BEFORE = torch.full((N, N), 0.1) + 0.6 * torch.eye(N)
#: Not symmetric, so that a transposed grid shows too: clip i matches caption i (0.6), then caption i + 1.
AFTER = torch.tensor([[0.60 if k == i else 0.30 if k == (i + 1) % N else 0.05 for k in range(N)]
                      for i in range(N)])


def _centres(labels: list, renderer, axis: int) -> dict[str, float]:
    """{tick label text: centre of its drawn box along ``axis`` (0: x, 1: y), in display pixels}."""
    out = {}
    for label in labels:
        box = label.get_window_extent(renderer)
        out[label.get_text()] = (box.x0 + box.x1) / 2 if axis == 0 else (box.y0 + box.y1) / 2
    return out


def test_figure2_cells_sit_level_with_their_row_and_column_labels() -> None:
    """For every (A_i, T_k): the pixel in the cell at T_k's x and A_i's y (a quarter cell off the centre,
    clear of the printed value) has the colour of ``sim[i, k]``, and the value printed there is
    ``sim[i, k]``; so the bright diagonal is the (A_i, T_i) one."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import QuadMesh

    from clipaac_lib.experiments import plot_figure2

    fig = plot_figure2(BEFORE, AFTER)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        pixels = np.asarray(fig.canvas.buffer_rgba())  # (H, W, 4), top row first
        height = pixels.shape[0]
        panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
        assert set(panels) == {"(A) before training", "(B) after training"}
        for title, sim in (("(A) before training", BEFORE), ("(B) after training", AFTER)):
            ax = panels[title]
            rows = _centres(ax.get_yticklabels(), renderer, axis=1)
            columns = _centres(ax.get_xticklabels(), renderer, axis=0)
            assert sorted(rows) == [f"A{i + 1}" for i in range(N)]
            assert sorted(columns) == [f"T{k + 1}" for k in range(N)]
            step = abs(rows["A2"] - rows["A1"])  # one cell, in pixels
            [mesh] = [c for c in ax.collections if isinstance(c, QuadMesh)]
            printed = {}
            for text in ax.texts:
                x, y = ax.transData.transform(text.get_position())
                printed[(round(x), round(y))] = text.get_text()
            for i in range(N):
                for k in range(N):
                    x, y = columns[f"T{k + 1}"], rows[f"A{i + 1}"]
                    rgba = pixels[height - 1 - round(y + step / 4), round(x)] / 255
                    expected = mesh.cmap(mesh.norm(float(sim[i, k])))
                    assert rgba[:3] == pytest.approx(expected[:3], abs=3 / 255), (title, i, k)
                    near = [t for (px, py), t in printed.items()
                            if abs(px - x) < step / 4 and abs(py - y) < step / 4]
                    assert near == [f"{float(sim[i, k]):.2f}"], (title, i, k)
    finally:
        plt.close(fig)


def test_figure1_grid_positives_are_on_the_labelled_diagonal() -> None:
    """Figure 1's 4 x 4 grid: each cell's centre lies level with one row label ($A_1$, $A_2$, $\\vdots$,
    $A_b$) and under one column label ($T_1$, $T_2$, $\\cdots$, $T_b$); it is purple (a matching pair)
    exactly when the two labels have the same index, and the $A_1$ row is the top one."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Rectangle

    from clipaac_lib.model import ModelConfig, architecture_figure

    fig = architecture_figure(ModelConfig.small(vocab_size=135))
    ax = fig.axes[0]
    row_index = {"$A_1$": 1, "$A_2$": 2, r"$\vdots$": 3, "$A_b$": 4}
    column_index = {"$T_1$": 1, "$T_2$": 2, r"$\cdots$": 3, "$T_b$": 4}
    rows = {row_index[t.get_text()]: t.get_position()[1] for t in ax.texts if t.get_text() in row_index}
    columns = {column_index[t.get_text()]: t.get_position()[0]
               for t in ax.texts if t.get_text() in column_index}
    assert sorted(rows) == sorted(columns) == [1, 2, 3, 4]
    assert rows[1] > rows[2] > rows[3] > rows[4]  # A_1 on top, read downwards
    purple, grey = to_rgba("#8e6bbf"), to_rgba("#d4d4d4")
    cells = {}
    for patch in ax.patches:
        if not isinstance(patch, Rectangle):
            continue
        x, y = patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2
        column = [k for k, cx in columns.items() if abs(cx - x) < 1e-6]
        row = [i for i, cy in rows.items() if abs(cy - y) < 1e-6]
        if column and row:
            cells[(row[0], column[0])] = patch.get_facecolor()
    assert sorted(cells) == [(i, k) for i in range(1, 5) for k in range(1, 5)]
    for (i, k), colour in cells.items():
        assert colour == pytest.approx(purple if i == k else grey), (i, k)
