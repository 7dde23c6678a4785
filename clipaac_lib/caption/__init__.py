"""Using a trained model: caption files, search the test clips by text, and the demo of notebook 07.

- :func:`caption_file` / :func:`caption_audio`: a caption for a file or a waveform from a run;
- :func:`caption_files`: captions for many files and folders (:func:`audio_files`) with one loading of
  the model, :func:`write_captions_csv` their ``file,caption`` table; :func:`newest_run` the run that
  ``clipaac caption`` uses when none is named;
- :class:`CaptionDemo`: the model, its test clips and a caption bank, with ipywidgets fronts; its
  :meth:`~CaptionDemo.search` ranks the test clips for a sentence (:class:`SearchResult`).

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from clipaac_lib.caption.demo import NO_TEXT_HEAD, CaptionDemo, Description, SearchHit, SearchResult
from clipaac_lib.caption.inference import (
    AUDIO_SUFFIXES,
    audio_files,
    caption_audio,
    caption_file,
    caption_files,
    newest_run,
    write_captions_csv,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "NO_TEXT_HEAD",
    "CaptionDemo",
    "Description",
    "SearchHit",
    "SearchResult",
    "audio_files",
    "caption_audio",
    "caption_file",
    "caption_files",
    "newest_run",
    "write_captions_csv",
]
