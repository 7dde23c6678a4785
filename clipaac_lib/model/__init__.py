"""The method: the CLIP-AAC model, its losses, decoding and embedding analysis (layer 1, above ``common``).

- the model (notebook 02): ESResNeXt-fbsp audio head, CLIP text head, contrastive temperature, caption
  decoder (:class:`CLIPAAC`, :class:`ModelConfig`, :func:`tokenize`, ``model.pt`` I/O);
- :mod:`~clipaac_lib.model.losses` (notebook 03): the contrastive loss (eqs. 1-5), the caption loss
  (eq. 6) and their sum (eq. 7);
- :mod:`~clipaac_lib.model.decode` (notebook 05): greedy and beam search;
- :mod:`~clipaac_lib.model.analysis` (notebooks 06, 07): text embeddings, similarity matrices, ranking.

``from clipaac_lib.model import CLIPAAC, ModelConfig, tokenize``. The model never imports the data
package: decoding takes its special token ids from :class:`DecodeConfig`. Importing this package imports
torch but not open_clip (the tokenizer loads it on first use).
"""

from clipaac_lib.model.analysis import embed_captions, rank_captions, similarity_matrix
from clipaac_lib.model.checkpoint import (
    load_model,
    load_model_state,
    model_from_state,
    model_state,
    save_model,
)
from clipaac_lib.model.checks import check_audio_values, check_has_targets, check_token_range
from clipaac_lib.model.clipaac import CLIPAAC, AudioEncoding, CLIPAACOutput
from clipaac_lib.model.config import (
    AUDIO_MEMORY_CHOICES,
    CLIP_TEMPERATURE,
    MODEL_PRESETS,
    AudioConfig,
    DecoderConfig,
    ModelConfig,
    TextConfig,
)
from clipaac_lib.model.decode import DecodeConfig, DecodeResult, beam_search, greedy_search, search
from clipaac_lib.model.decoder import CaptionDecoder
from clipaac_lib.model.esresnext import ESResNeXtFBSP
from clipaac_lib.model.figure import architecture_figure, architecture_labels
from clipaac_lib.model.frontend import LinearFBSP, blackman_harris
from clipaac_lib.model.inspection import (
    count_parameters,
    parameter_counts,
    plot_window_and_tone,
    record_output_shapes,
)
from clipaac_lib.model.losses import (
    CAPTION_LOSS_REDUCTIONS,
    LossWeights,
    caption_loss,
    contrastive_logits,
    contrastive_loss,
    contrastive_loss_curve,
    total_loss,
    training_loss,
)
from clipaac_lib.model.text import TextTransformer
from clipaac_lib.model.tokenizer import CONTEXT_LENGTH, EOT_ID, SOT_ID, TokenTruncationWarning, tokenize

__all__ = [
    "check_audio_values",
    "check_has_targets",
    "check_token_range",
    "CLIPAAC",
    "CLIPAACOutput",
    "AudioEncoding",
    "ModelConfig",
    "CLIP_TEMPERATURE",
    "AUDIO_MEMORY_CHOICES",
    "MODEL_PRESETS",
    "AudioConfig",
    "TextConfig",
    "DecoderConfig",
    "ESResNeXtFBSP",
    "TextTransformer",
    "CaptionDecoder",
    "tokenize",
    "TokenTruncationWarning",
    "CONTEXT_LENGTH",
    "SOT_ID",
    "EOT_ID",
    "save_model",
    "load_model",
    "load_model_state",
    "model_from_state",
    "model_state",
    "CAPTION_LOSS_REDUCTIONS",
    "caption_loss",
    "contrastive_logits",
    "contrastive_loss",
    "contrastive_loss_curve",
    "total_loss",
    "LossWeights",
    "training_loss",
    "DecodeConfig",
    "DecodeResult",
    "beam_search",
    "greedy_search",
    "search",
    "embed_captions",
    "rank_captions",
    "similarity_matrix",
    "LinearFBSP",
    "blackman_harris",
    "count_parameters",
    "parameter_counts",
    "plot_window_and_tone",
    "record_output_shapes",
    "architecture_figure",
    "architecture_labels",
]
