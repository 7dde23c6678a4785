"""The numbers CLIP-AAC's paper publishes (Chen et al., Interspeech 2022), for side-by-side tables.

Tables 1, 2 and 3 of the paper: scores on the Clotho evaluation split (1045 clips), as fractions. They
are facts quoted from the paper, never computed here. Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

from typing import Any

from clipaac_lib.metrics import METRIC_KEYS

__all__ = ["CLOTHO_YARDSTICKS", "METRIC_NAMES", "SYSTEM_NAMES", "TABLE1", "TABLE2", "TABLE3", "paper_table",
           "paper_table3", "system_name"]

#: How the paper writes each metric (and audio-to-text recall@1, ours), for tables and sentences.
METRIC_NAMES: dict[str, str] = {"bleu_1": "BLEU-1", "bleu_2": "BLEU-2", "bleu_3": "BLEU-3", "bleu_4": "BLEU-4",
                                "rouge_l": "ROUGE-L", "meteor": "METEOR", "cider_d": "CIDEr-D", "spice": "SPICE",
                                "spider": "SPIDEr", "a2t_r1": "A2T R@1"}

# system id -> (setting, scores in METRIC_KEYS order (the paper's columns)); paper Table 1, all with batch size 8. Systems 1-2
# "only utilize the audio-head in encoders" (section 4.1): no text head, so no contrastive loss (alpha 0);
# systems 3-4 use both heads with the paper's alpha of 0.2.
TABLE1: dict[int, tuple[dict[str, Any], list[float]]] = {
    1: ({"init": "random", "freeze_encoder": False, "alpha": 0.0}, [0.421, 0.246, 0.159, 0.070, 0.312, 0.103, 0.060, 0.059, 0.060]),
    2: ({"init": "audio", "freeze_encoder": False, "alpha": 0.0}, [0.480, 0.285, 0.183, 0.114, 0.326, 0.132, 0.217, 0.081, 0.149]),
    3: ({"init": "audio_text", "freeze_encoder": True, "alpha": 0.2}, [0.521, 0.335, 0.225, 0.147, 0.356, 0.153, 0.333, 0.100, 0.217]),
    4: ({"init": "audio_text", "freeze_encoder": False, "alpha": 0.2}, [0.561, 0.365, 0.245, 0.161, 0.372, 0.168, 0.394, 0.115, 0.254]),
}

# paper Table 2 (encoder initialised from AudioCLIP and fine-tuned, as system 4)
TABLE2: dict[int, tuple[dict[str, Any], list[float]]] = {
    5: ({"init": "audio_text", "alpha": 0.0, "batch_size": 8}, [0.551, 0.358, 0.241, 0.158, 0.369, 0.162, 0.368, 0.109, 0.239]),
    6: ({"init": "audio_text", "alpha": 0.1, "batch_size": 8}, [0.556, 0.359, 0.240, 0.156, 0.367, 0.165, 0.379, 0.115, 0.247]),
    7: ({"init": "audio_text", "alpha": 0.2, "batch_size": 4}, [0.556, 0.365, 0.246, 0.160, 0.371, 0.163, 0.372, 0.109, 0.241]),
    8: ({"init": "audio_text", "alpha": 0.2, "batch_size": 8}, [0.561, 0.365, 0.245, 0.161, 0.372, 0.168, 0.394, 0.115, 0.254]),
    9: ({"init": "audio_text", "alpha": 0.2, "batch_size": 16}, [0.572, 0.379, 0.257, 0.169, 0.379, 0.171, 0.407, 0.118, 0.263]),
    10: ({"init": "audio_text", "alpha": 0.3, "batch_size": 8}, [0.561, 0.366, 0.248, 0.165, 0.374, 0.166, 0.380, 0.114, 0.247]),
}


# paper Table 3: CLIP-AAC (its best system, 9: alpha 0.2, batch 16) against five published systems, as the
# paper prints them (its "[n]" is the paper's reference number). Its SPICE for CLIP-AAC is 0.119, where
# Table 2 gives system 9 0.118: the paper's own rounding or typo, quoted as printed.
TABLE3: dict[str, tuple[str, list[float]]] = {
    "GRU baseline": ("[21], DCASE 2020 baseline, trained from scratch",
                     [0.389, 0.136, 0.055, 0.015, 0.262, 0.084, 0.074, 0.033, 0.054]),
    "PreCNN Transformer": ("[7]", [0.534, 0.343, 0.230, 0.151, 0.356, 0.160, 0.346, 0.108, 0.227]),
    "CL4AC": ("[1]", [0.553, 0.349, 0.226, 0.143, 0.374, 0.168, 0.368, 0.115, 0.242]),
    "AT-CNN10": ("[4]", [0.556, 0.363, 0.242, 0.159, 0.368, 0.169, 0.377, 0.115, 0.246]),
    "TL + RLSSR": ("[11]", [0.551, 0.369, 0.252, 0.168, 0.373, 0.165, 0.380, 0.111, 0.246]),
    "CLIP-AAC": ("the paper (system 9)", [0.572, 0.379, 0.257, 0.169, 0.379, 0.171, 0.407, 0.119, 0.263]),
}

#: CIDEr-D yardsticks on Clotho's evaluation split (1 045 clips), on the held-out footing (each of the five
#: references held out in turn, the candidate scored against the other four, mean over the five rounds),
#: measured from the real caption CSVs with pycocoevalcap's CIDEr-D on lower-cased text without punctuation
#: (``shared/reference/facts.md``, section 4): the consensus caption scores 0.065, humans 0.906 (0.801,
#: 0.991, 0.930, 0.947 and 0.862 for captions 1-5). They put the paper's effects on the scale of a
#: consensus-to-human gap (0.841), so they can be set beside ours.
CLOTHO_YARDSTICKS: dict[str, float] = {"consensus caption": 0.065, "human": 0.906}

#: Each system of Tables 1 and 2 named by what it is (for plot labels and tables).
SYSTEM_NAMES: dict[int, str] = {
    1: "random init",
    2: "AudioSet audio head",
    3: "frozen AudioCLIP",
    4: "fine-tuned AudioCLIP",
    5: "α = 0",
    6: "α = 0.1",
    7: "batch 4",
    8: "α = 0.2, batch 8",
    9: "batch 16",
    10: "α = 0.3",
}


def system_name(system: int) -> str:
    """``"3: frozen AudioCLIP"``: the system's number (the paper's) and what it is."""
    return f"{system}: {SYSTEM_NAMES[system]}" if system in SYSTEM_NAMES else str(system)


def paper_table3() -> Any:
    """The paper's Table 3 as a DataFrame: one row per method, its source, then the scores in
    :data:`~clipaac_lib.metrics.METRIC_KEYS` order."""
    import pandas as pd

    rows = [{"method": name, "source": source, **dict(zip(METRIC_KEYS, scores, strict=True))}
            for name, (source, scores) in TABLE3.items()]
    return pd.DataFrame(rows).set_index("method")


def paper_table(table: dict[int, tuple[dict[str, Any], list[float]]]) -> Any:
    """A pandas DataFrame of :data:`TABLE1` or :data:`TABLE2`: one row per system, settings then scores."""
    import pandas as pd

    rows = [{"system": sid, **setting, **dict(zip(METRIC_KEYS, scores, strict=True))}
            for sid, (setting, scores) in table.items()]
    return pd.DataFrame(rows).set_index("system")
