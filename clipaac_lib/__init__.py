"""clipaac: CLIP-AAC (Chen et al., Interspeech 2022) as a small tested library.

Sub-packages are imported on demand so that ``import clipaac_lib`` stays cheap:

- :mod:`clipaac_lib.model`: audio head, text head, decoder, :class:`CLIPAAC` (notebook 02);
- :mod:`clipaac_lib.model.losses`: contrastive and caption losses (notebook 03);
- :mod:`clipaac_lib.data`: Clotho and the synthetic Clotho-format dataset (notebook 01);
- :mod:`clipaac_lib.metrics`: caption metrics (notebook 04);
- :mod:`clipaac_lib.train`: training, decoding, evaluation (notebook 05);
- :mod:`clipaac_lib.pretrain.published`: AudioCLIP checkpoints and initialisation strategies (notebook 06).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
