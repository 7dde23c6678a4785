"""Caption metrics: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr (pycocoevalcap), and the
scores DCASE ranks by since 2023: SPIDEr-FL, FENSE, sentence-BERT similarity, SPIDEr-max, vocabulary.

>>> from clipaac_lib.metrics import evaluate_captions
>>> evaluate_captions(["a man is speaking"], [["a man speaks", "someone talks"]])  # doctest: +SKIP

- :func:`evaluate_captions` scores a whole corpus at once (``scoring.py``); :func:`evaluate_corpora` scores
  several, each on its own, with one JVM per tool; :func:`score_in_corpus` scores one caption inside a
  corpus, :func:`score_each_in_corpus` several, each in its own (``corpus.py``);
- :func:`install_spice` / ``python -m clipaac_lib.metrics install-spice`` installs the Stanford
  CoreNLP 3.6.0 jars SPICE needs into the cache; :func:`spice_available` tells whether they are there;
- :func:`retrieval_recall` / :func:`chance_recall`: audio-text retrieval recall@k, :func:`retrieval_map` /
  :func:`chance_map`: text-to-audio mAP@10 as the DCASE retrieval task computes it (``retrieval.py``);
- :func:`fense`, :func:`sbert_sim`, :func:`spider_fl`, :func:`vocab` (``modern.py``; their models:
  ``modern_models.py``, :func:`download_modern_models`) and :func:`spider_max` (``multi_candidates.py``);
  ``evaluate_captions(..., modern="auto")`` adds :data:`MODERN_KEYS` after the paper's
  :data:`METRIC_KEYS`;
- :func:`held_out_cider_d`: CIDEr-D with each reference held out in turn, the footing on which model,
  consensus, shuffled and human captions are compared (``held_out.py``);
- :func:`missing_tools_note`: one note per page on the tools missing here (``tools.py``);
- ``java.py`` finds Java (:func:`find_java`, clear install instructions when missing; :func:`java_version`)
  and keeps it locale-safe;
- ``ptb.py`` (:func:`ptb_tokenize`), ``meteor.py``, ``paraphrase.py`` (METEOR's paraphrase table as
  arrays: :func:`build_index`, :func:`load_index`), ``spice.py`` run the Java tools, each started once
  per evaluation; :func:`spice_dir` is where SPICE's jars go.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from clipaac_lib.metrics.corpus import score_each_in_corpus, score_in_corpus
from clipaac_lib.metrics.held_out import HUMAN, CiderScores, held_out_cider_d
from clipaac_lib.metrics.java import JavaNotFoundError, find_java, java_version
from clipaac_lib.metrics.modern import MODERN_KEYS, fense, sbert_sim, spider_fl, vocab
from clipaac_lib.metrics.modern_models import (
    ModelMetricsUnavailableError,
    ModelMetricsUnavailableWarning,
    download_modern_models,
)
from clipaac_lib.metrics.multi_candidates import spider_max
from clipaac_lib.metrics.paraphrase import build_index, load_index
from clipaac_lib.metrics.ptb import ptb_tokenize
from clipaac_lib.metrics.retrieval import chance_map, chance_recall, retrieval_map, retrieval_recall
from clipaac_lib.metrics.scoring import (
    METRIC_KEYS,
    SpiceUnavailableWarning,
    evaluate_captions,
    evaluate_corpora,
)
from clipaac_lib.metrics.spice import SpiceNotInstalledError, spice_available
from clipaac_lib.metrics.spice_install import (
    SPICE_INSTALL_COMMAND,
    CoreNLPSource,
    SpiceInstallError,
    install_spice,
    spice_dir,
)
from clipaac_lib.metrics.tools import MissingTool, ToolsNote, missing_tools, missing_tools_note

__all__ = [
    "HUMAN",
    "CiderScores",
    "held_out_cider_d",
    "METRIC_KEYS",
    "MODERN_KEYS",
    "SPICE_INSTALL_COMMAND",
    "CoreNLPSource",
    "JavaNotFoundError",
    "MissingTool",
    "ModelMetricsUnavailableError",
    "ModelMetricsUnavailableWarning",
    "SpiceInstallError",
    "SpiceNotInstalledError",
    "SpiceUnavailableWarning",
    "ToolsNote",
    "chance_map",
    "chance_recall",
    "download_modern_models",
    "evaluate_captions",
    "evaluate_corpora",
    "fense",
    "build_index",
    "find_java",
    "java_version",
    "load_index",
    "install_spice",
    "missing_tools",
    "missing_tools_note",
    "ptb_tokenize",
    "retrieval_map",
    "retrieval_recall",
    "sbert_sim",
    "score_each_in_corpus",
    "score_in_corpus",
    "spice_available",
    "spice_dir",
    "spider_fl",
    "spider_max",
    "vocab",
]
