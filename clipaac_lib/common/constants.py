"""Facts with one home that more than one layer needs.

- :data:`SAMPLE_RATE`: the rate of the synthetic Clotho-format WAV files, of the book's pretraining
  corpus and of the small model's front end (16 kHz; the synthetic events reach 7 kHz);
- :data:`AUDIOCLIP_SAMPLE_RATE`: the rate of AudioCLIP's ESResNeXt-fbsp front end and of Clotho's files
  (44.1 kHz; ``../shared/reference/facts.md``);
- :data:`PAD_ID`, :data:`BOS_ID`, :data:`EOS_ID`, :data:`UNK_ID`: the special ids of the caption
  vocabulary, before the words (the data's :class:`~clipaac_lib.data.Vocabulary` assigns them, the
  model's decoder and losses read them: neither package imports the other for them).

Notebooks: ``notebooks/01_data.ipynb`` (the data's rate), ``notebooks/02_architecture.ipynb`` (the model's).
"""

__all__ = ["AUDIOCLIP_SAMPLE_RATE", "BOS_ID", "EOS_ID", "PAD_ID", "SAMPLE_RATE", "UNK_ID"]

SAMPLE_RATE = 16000
AUDIOCLIP_SAMPLE_RATE = 44100
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
