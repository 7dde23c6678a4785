"""Notebook glue in ``clipaac_lib.model.inspection``: parameter counts, recorded block shapes and the
front-end figure (notebook 02)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from clipaac_lib.model import CLIPAAC
from clipaac_lib.model.inspection import (
    count_parameters,
    parameter_counts,
    plot_window_and_tone,
    record_output_shapes,
)


def test_count_parameters_by_hand() -> None:
    # Linear(3, 4): 3 * 4 weights + 4 biases; LayerNorm(4): 4 + 4; frozen parameters count too
    module = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    module[1].weight.requires_grad_(False)
    assert count_parameters(module) == 12 + 4 + 8
    assert count_parameters(None) == 0


def test_parameter_counts_split_the_model(make_model: Callable[..., CLIPAAC]) -> None:
    model = make_model(vocab_size=20)
    counts = parameter_counts(model)
    assert list(counts) == ["audio head", "text head", "decoder (+ memory projection)", "total"]
    parts = counts["audio head"] + counts["text head"] + counts["decoder (+ memory projection)"]
    assert round((counts["total"] - parts) * 1e6) == 1  # + the temperature logit_scale_at
    proj = model.config.memory_dim * 128 + 128 + 2 * 128  # memory_proj and memory_norm (d_model 128)
    decoder = sum(p.numel() for p in model.decoder.parameters())
    assert counts["decoder (+ memory projection)"] == pytest.approx((decoder + proj) / 1e6)
    model.drop_text_head()
    assert parameter_counts(model)["text head"] == 0.0


def test_record_output_shapes_in_run_order_and_hooks_removed() -> None:
    net = nn.Sequential()
    net.add_module("second", nn.Linear(5, 3))
    net.add_module("act", nn.ReLU())
    net.add_module("first", nn.Linear(3, 2))
    with record_output_shapes(net, ["first", "second"]) as shapes:
        net(torch.zeros(4, 5))
    assert list(shapes.items()) == [("second", (4, 3)), ("first", (4, 2))]
    assert not net.second._forward_hooks and not net.first._forward_hooks
    net(torch.zeros(1, 5))
    assert shapes == {"second": (4, 3), "first": (4, 2)}  # nothing recorded after the block
    with pytest.raises(RuntimeError), record_output_shapes(net, ["second"]):
        raise RuntimeError("boom")
    assert not net.second._forward_hooks
    with pytest.raises(AttributeError):
        with record_output_shapes(net, ["missing"]):
            pass


def test_plot_window_and_tone_draws_the_given_curves() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window, fbsp, fft = torch.hann_window(10), torch.rand(17) + 0.1, torch.rand(17) + 0.1
    fig = plot_window_and_tone(window, fbsp, fft, tone_bin=3)
    left, right = fig.axes
    assert left.get_title() == "Blackman-Harris window, 10 samples"
    torch.testing.assert_close(torch.as_tensor(left.lines[0].get_ydata()), window)
    assert right.get_title() == "power of a tone at bin 3" and right.get_xlim() == (0, 12)
    assert right.get_yscale() == "log"
    torch.testing.assert_close(torch.as_tensor(right.lines[0].get_ydata()), fbsp)
    torch.testing.assert_close(torch.as_tensor(right.lines[1].get_ydata()), fft)
    assert right.lines[1].get_linestyle() == "--"
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["fbsp at initialisation",
                                                                      "torch.fft.rfft"]
    plt.close(fig)
