"""The CLIP-AAC model: ESResNeXt-fbsp audio head, CLIP text head, contrastive temperature, caption decoder.

``from clipaac_lib.model import CLIPAAC, ModelConfig, tokenize``. Importing this package imports torch but
not open_clip (the tokenizer loads it on first use). Notebook: ``notebooks/02_architecture.ipynb``.
"""

from .checkpoint import load_model, load_model_state, model_from_state, model_state, save_model
from .clipaac import CLIPAAC, AudioEncoding, CLIPAACOutput
from .config import AudioConfig, DecoderConfig, ModelConfig, TextConfig
from .decoder import CaptionDecoder
from .esresnext import ESResNeXtFBSP
from .text import TextTransformer
from .tokenizer import CONTEXT_LENGTH, EOT_ID, SOT_ID, TokenTruncationWarning, tokenize

__all__ = [
    "CLIPAAC",
    "CLIPAACOutput",
    "AudioEncoding",
    "ModelConfig",
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
]
