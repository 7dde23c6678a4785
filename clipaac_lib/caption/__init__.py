"""Using a trained model: caption files, search the test clips by text, and the demo of notebook 07.

- :func:`caption_file` / :func:`caption_audio`: a caption for a file or a waveform from a run;
- :func:`caption_files`: captions for many files and folders (:func:`audio_files`) with one loading of
  the model, :func:`write_captions_csv` their ``file,caption`` table; :func:`caption_outcomes` the same
  file by file (:class:`CaptionOutcome`), skipping unreadable files instead of stopping;
- :func:`clip_warnings`: why a caption should not be trusted (a clip shorter than one analysis window of
  the front end, or digitally silent: peak below :data:`SILENT_PEAK`);
- :func:`choose_run`: the run ``clipaac caption`` uses when none is named, the book's model
  (:func:`default_run`, the run of ``TrainConfig()``) or else :func:`newest_run`;
- :class:`CaptionDemo`: the model, its test clips and a caption bank, with ipywidgets fronts; its
  :meth:`~CaptionDemo.search` ranks the test clips for a sentence (:class:`SearchResult`).

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from clipaac_lib.caption.checks import SILENT_PEAK, clip_warnings, min_samples
from clipaac_lib.caption.demo import NO_TEXT_HEAD, CaptionDemo, Description, SearchHit, SearchResult
from clipaac_lib.caption.inference import (
    AUDIO_SUFFIXES,
    CaptionOutcome,
    audio_files,
    caption_audio,
    caption_file,
    caption_files,
    caption_outcomes,
    write_captions_csv,
)
from clipaac_lib.caption.runs import RunChoice, choose_run, config_differences, default_run, newest_run

__all__ = [
    "AUDIO_SUFFIXES",
    "NO_TEXT_HEAD",
    "SILENT_PEAK",
    "CaptionDemo",
    "CaptionOutcome",
    "Description",
    "RunChoice",
    "SearchHit",
    "SearchResult",
    "audio_files",
    "caption_audio",
    "caption_file",
    "caption_files",
    "caption_outcomes",
    "choose_run",
    "clip_warnings",
    "config_differences",
    "default_run",
    "min_samples",
    "newest_run",
    "write_captions_csv",
]
