"""Caption metrics: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr (pycocoevalcap).

>>> from clipaac_lib.metrics import evaluate_captions
>>> evaluate_captions(["a man is speaking"], [["a man speaks", "someone talks"]])  # doctest: +SKIP

- :func:`evaluate_captions` scores a whole corpus at once (``scoring.py``); :func:`score_in_corpus` scores
  one caption inside a corpus (``corpus.py``);
- :func:`install_spice` / ``python -m clipaac_lib.metrics install-spice`` installs the Stanford
  CoreNLP 3.6.0 jars SPICE needs into the cache; :func:`spice_available` tells whether they are there;
- :func:`retrieval_recall` / :func:`chance_recall`: audio-text retrieval recall@k (``retrieval.py``);
- ``java.py`` finds Java (clear install instructions when missing) and keeps it locale-safe;
- ``ptb.py``, ``meteor.py``, ``paraphrase.py``, ``spice.py`` run the Java tools, each started once
  per evaluation.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from clipaac_lib.metrics.corpus import score_in_corpus
from clipaac_lib.metrics.java import JavaNotFoundError, find_java
from clipaac_lib.metrics.retrieval import chance_recall, retrieval_recall
from clipaac_lib.metrics.scoring import METRIC_KEYS, SpiceUnavailableWarning, evaluate_captions
from clipaac_lib.metrics.spice import SpiceNotInstalledError, spice_available
from clipaac_lib.metrics.spice_install import (
    SPICE_INSTALL_COMMAND,
    CoreNLPSource,
    SpiceInstallError,
    install_spice,
)

__all__ = [
    "METRIC_KEYS",
    "SPICE_INSTALL_COMMAND",
    "CoreNLPSource",
    "JavaNotFoundError",
    "SpiceInstallError",
    "SpiceNotInstalledError",
    "SpiceUnavailableWarning",
    "chance_recall",
    "evaluate_captions",
    "find_java",
    "install_spice",
    "retrieval_recall",
    "score_in_corpus",
    "spice_available",
]
