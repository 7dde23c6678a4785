"""Looking inside a model: parameter counts per part, output shapes of named blocks, the front end.

- :func:`count_parameters` / :func:`parameter_counts`: how big a module, and each part of CLIP-AAC, is;
- :func:`record_output_shapes`: a context manager that records the output shape of named sub-modules
  during a forward pass (forward hooks, removed on exit);
- :func:`plot_window_and_tone`: the Blackman-Harris window next to the power of a pure tone through the
  fbsp transform and through ``torch.fft.rfft``.

matplotlib is imported when a figure is drawn. Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from torch import Tensor, nn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from clipaac_lib.model.clipaac import CLIPAAC

__all__ = ["count_parameters", "parameter_counts", "record_output_shapes", "plot_window_and_tone"]


def count_parameters(module: nn.Module | None) -> int:
    """Number of scalar parameters (trainable or not) of ``module``; 0 for ``None`` (a dropped head).

    Notebook: ``notebooks/02_architecture.ipynb``.
    """
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def parameter_counts(model: CLIPAAC) -> dict[str, float]:
    """Millions of parameters of CLIP-AAC's parts: audio head, text head, decoder (with the memory
    projection and its LayerNorm, the decoder's view of the audio), and the total (which also holds the
    temperature). Notebook: ``notebooks/02_architecture.ipynb``.
    """
    decoder = sum(count_parameters(m) for m in (model.decoder, model.memory_proj, model.memory_norm))
    return {"audio head": count_parameters(model.audio) / 1e6,
            "text head": count_parameters(model.text) / 1e6,
            "decoder (+ memory projection)": decoder / 1e6,
            "total": count_parameters(model) / 1e6}


@contextmanager
def record_output_shapes(module: nn.Module, names: Sequence[str]) -> Iterator[dict[str, tuple[int, ...]]]:
    """Within the ``with`` block, record ``{name: output shape}`` of each named sub-module of ``module``.

    The dict is filled in the order the blocks run (a block that runs twice keeps its last shape);
    the hooks are removed on exit, even after an error. An unknown name raises ``AttributeError``
    before anything runs. Notebook: ``notebooks/02_architecture.ipynb``.
    """
    shapes: dict[str, tuple[int, ...]] = {}

    def hook_for(name: str) -> Callable[[nn.Module, Any, Tensor], None]:
        def hook(_mod: nn.Module, _inputs: Any, output: Tensor) -> None:
            shapes[name] = tuple(output.shape)

        return hook

    blocks = [module.get_submodule(name) for name in names]
    handles = [block.register_forward_hook(hook_for(name)) for name, block in zip(names, blocks, strict=True)]
    try:
        yield shapes
    finally:
        for handle in handles:
            handle.remove()


def plot_window_and_tone(window: Tensor, fbsp_power: Tensor, fft_power: Tensor, tone_bin: int) -> Figure:
    """Two panels: the analysis ``window`` (win_length,), and the power spectra (n_fft // 2 + 1,) of
    one pure tone at bin ``tone_bin`` through the fbsp transform (``fbsp_power``) and through
    ``torch.fft.rfft`` (``fft_power``, dashed), on a log scale up to bin ``4 * tone_bin``.

    Notebook: ``notebooks/02_architecture.ipynb``.
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 2.8))
    left.plot(window.numpy())
    left.set(title=f"Blackman-Harris window, {window.shape[0]} samples", xlabel="sample")
    right.semilogy(fbsp_power.numpy(), label="fbsp at initialisation")
    right.semilogy(fft_power.numpy(), "--", label="torch.fft.rfft")
    right.set(title=f"power of a tone at bin {tone_bin}", xlabel="bin", xlim=(0, 4 * tone_bin))
    right.legend()
    fig.tight_layout()
    return fig
