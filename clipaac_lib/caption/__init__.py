"""Using a trained model: caption a file, and the interactive demo of notebook 07.

- :func:`caption_file` / :func:`caption_audio`: a caption for a waveform from a finished run;
- :class:`CaptionDemo`: the model, its test clips and a caption bank, with an ipywidgets front.

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from clipaac_lib.caption.demo import CaptionDemo, Description
from clipaac_lib.caption.inference import caption_audio, caption_file

__all__ = ["CaptionDemo", "Description", "caption_audio", "caption_file"]
