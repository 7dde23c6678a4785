"""The ground floor: infrastructure every other layer may use, and that uses no other layer.

- :mod:`~clipaac_lib.common.paths`: the user cache folder (``$CLIPAAC_CACHE``) and its sub-folders;
- :mod:`~clipaac_lib.common.fileio`: atomic writes (a crash never leaves a half-written file);
- :mod:`~clipaac_lib.common.download`: resumable downloads verified by checksum;
- :mod:`~clipaac_lib.common.devices`: ``"auto"`` device selection;
- :mod:`~clipaac_lib.common.records`: records read back from JSON, their keys checked;
- :mod:`~clipaac_lib.common.display`: numbers rounded for reading (3 significant digits);
- :mod:`~clipaac_lib.common.constants`: facts with one home (sample rates, the vocabulary's special ids).
"""

from clipaac_lib.common.constants import AUDIOCLIP_SAMPLE_RATE, BOS_ID, EOS_ID, PAD_ID, SAMPLE_RATE, UNK_ID
from clipaac_lib.common.devices import resolve_device
from clipaac_lib.common.display import PlainText, fmt_significant, png_bytes, significant
from clipaac_lib.common.download import Checksum, ChecksumError, DownloadError, download, file_hash, verify
from clipaac_lib.common.fileio import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from clipaac_lib.common.paths import cache_dir, subdir
from clipaac_lib.common.records import from_known_fields

__all__ = [
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
    "download",
    "file_hash",
    "PlainText",
    "fmt_significant",
    "png_bytes",
    "from_known_fields",
    "resolve_device",
    "significant",
    "subdir",
    "verify",
]
