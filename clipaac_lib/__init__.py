"""clipaac: CLIP-AAC (Chen et al., Interspeech 2022) as a small tested library.

The package is in layers; each imports only from the layers below it (``../shared/tools/structure-check``
holds it to that), and each package's ``__init__`` is its public face, the names notebooks and users import:

- :mod:`clipaac_lib.common` (ground floor): the cache folder, atomic writes, verified downloads, devices,
  constants with one home;
- :mod:`clipaac_lib.data` (notebook 01): Clotho and the synthetic Clotho-format dataset, vocabulary,
  typed batches; :mod:`clipaac_lib.model` (notebooks 02, 03, 05): audio head, text head, decoder,
  :class:`~clipaac_lib.model.CLIPAAC`, the losses, decoding; :mod:`clipaac_lib.metrics` (notebook 04):
  caption metrics and retrieval recall;
- :mod:`clipaac_lib.pretrain` (notebook 06): the published AudioCLIP weights and the book's own
  pretrained encoders;
- :mod:`clipaac_lib.train` (notebook 05): training, evaluation and run directories;
- :mod:`clipaac_lib.experiments` (notebooks 05, 06): the paper's tables, baselines, the ablation grid and
  its findings; :mod:`clipaac_lib.caption` (notebook 07): captioning a file, the demo;
- :mod:`clipaac_lib.cli`: the ``clipaac`` command.

Data flows data -> model -> loss -> training -> experiments -> the book. Sub-packages are imported on
demand, so ``import clipaac_lib`` stays cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
