"""The ground floor: infrastructure every other layer may use, and that uses no other layer.

- :mod:`~clipaac_lib.common.paths`: the user cache folder (``$CLIPAAC_CACHE``) and its sub-folders;
- :mod:`~clipaac_lib.common.fileio`: atomic writes (a crash never leaves a half-written file);
- :mod:`~clipaac_lib.common.download`: resumable downloads verified by checksum, mirrors' checksum tables;
- :mod:`~clipaac_lib.common.devices`: ``"auto"`` device selection;
- :mod:`~clipaac_lib.common.records`: records read back from JSON, their keys checked;
- :mod:`~clipaac_lib.common.display`: numbers rounded for reading (3 significant digits);
- :mod:`~clipaac_lib.common.progress`: progress bars that honour ``TQDM_DISABLE`` everywhere;
- :mod:`~clipaac_lib.common.threads`: the CPU cores a process may use, torch's threads fitted to them;
- :mod:`~clipaac_lib.common.collectives`: sums and gathers across ``torchrun`` processes (identity alone);
- :mod:`~clipaac_lib.common.constants`: facts with one home (sample rates, the vocabulary's special ids).
"""

from clipaac_lib.common.colab import colab_setup, on_colab
from clipaac_lib.common.collectives import (
    all_reduce_with_grad,
    gather_with_grad,
    global_sum,
    global_sum_tensor,
    is_distributed,
)
from clipaac_lib.common.constants import AUDIOCLIP_SAMPLE_RATE, BOS_ID, EOS_ID, PAD_ID, SAMPLE_RATE, UNK_ID
from clipaac_lib.common.devices import resolve_device
from clipaac_lib.common.display import PlainText, fmt_significant, png_bytes, significant
from clipaac_lib.common.download import (
    Checksum,
    ChecksumError,
    DownloadError,
    download,
    file_hash,
    read_checksum_table,
    verify,
)
from clipaac_lib.common.fileio import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from clipaac_lib.common.paths import cache_dir, subdir
from clipaac_lib.common.progress import progress_disabled, tqdm
from clipaac_lib.common.records import from_known_fields
from clipaac_lib.common.threads import ThreadGovernor, usable_cores

__all__ = [
    "all_reduce_with_grad",
    "gather_with_grad",
    "global_sum",
    "global_sum_tensor",
    "is_distributed",
    "AUDIOCLIP_SAMPLE_RATE",
    "BOS_ID",
    "EOS_ID",
    "PAD_ID",
    "SAMPLE_RATE",
    "UNK_ID",
    "Checksum",
    "ChecksumError",
    "DownloadError",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cache_dir",
    "colab_setup",
    "on_colab",
    "download",
    "file_hash",
    "read_checksum_table",
    "PlainText",
    "ThreadGovernor",
    "fmt_significant",
    "png_bytes",
    "from_known_fields",
    "progress_disabled",
    "resolve_device",
    "significant",
    "subdir",
    "tqdm",
    "usable_cores",
    "verify",
]
