"""Reading Clotho's CSV files, with errors that name the file, the row and what to do.

Captions CSV (``clotho_captions_<split>.csv``, UTF-8; CRLF line ends in development/validation, LF in
evaluation)::

    file_name,caption_1,caption_2,caption_3,caption_4,caption_5
    Distorted AM Radio noise.wav,A muddled noise of broken channel of the TV,...
    "Grinding, metal.wav","A machine grinds metal, then stops.",...

Columns are found by name (their order does not matter). Fields that contain a comma are double
quoted; the loader keeps every caption exactly as written (no stripping, no normalisation).

Metadata CSV (``clotho_metadata_<split>.csv``, optional, ISO-8859-1): ``file_name, keywords, sound_id,
sound_link, start_end_samples, manufacturer, license``.

Problems found in a row (a wrong number of fields, an empty file name or caption, bytes that are not
UTF-8, a file name seen on an earlier row) are :class:`DataIssue`s: with ``on_error="raise"`` the
first one raises :class:`ClothoFormatError`, with ``on_error="skip"`` the row is left out and the
issue returned so the caller can count and report it. A missing column always raises.

Rows are numbered as in a spreadsheet: ``row 1`` is the first clip, ``line`` is the physical line in
the file (the header is line 1). Notebook: ``notebooks/01_data.ipynb``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CAPTION_COLUMNS",
    "CAPTIONS_HEADER",
    "METADATA_COLUMNS",
    "CaptionRow",
    "ClothoFormatError",
    "DataIssue",
    "read_captions_csv",
    "read_metadata_csv",
]

CAPTION_COLUMNS: tuple[str, ...] = tuple(f"caption_{k}" for k in range(1, 6))
CAPTIONS_HEADER: tuple[str, ...] = ("file_name", *CAPTION_COLUMNS)
METADATA_COLUMNS: tuple[str, ...] = (
    "file_name", "keywords", "sound_id", "sound_link", "start_end_samples", "manufacturer", "license",
)
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # how surrogateescape decoding marks non-UTF-8 bytes


@dataclass(frozen=True)
class DataIssue:
    """One problem with one clip: where it is (``file``, ``row``, ``line``), which clip, and what."""

    file: Path
    row: int | None
    line: int | None
    file_name: str | None
    problem: str

    def where(self) -> str:
        parts = [str(self.file)]
        if self.row is not None:
            parts.append(f"row {self.row} (line {self.line})")
        if self.file_name:
            parts.append(f"clip {self.file_name!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.problem}"


class ClothoFormatError(ValueError):
    """Bad Clotho input; ``issue`` says where. The message ends with what to do about it."""

    def __init__(self, issue: DataIssue, hint: str = "") -> None:
        self.issue = issue
        super().__init__(f"{issue}." + (f" {hint}" if hint else ""))


SKIP_HINT = ("Fix the file, or pass on_error='skip' to leave such clips out "
             "(they are counted and reported).")


@dataclass(frozen=True)
class CaptionRow:
    """One clip of a captions CSV: its row number, physical line, file name and captions as written."""

    row: int
    line: int
    file_name: str
    captions: tuple[str, ...]


def _decode(path: Path) -> str:
    data = path.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def _bad_bytes(value: str) -> str | None:
    found = _BAD_BYTE.findall(value)
    if not found:
        return None
    return " ".join(f"0x{ord(ch) - 0xDC00:02X}" for ch in found[:4])


def _header_index(path: Path, header: list[str], required: tuple[str, ...]) -> dict[str, int]:
    names = [h.strip() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ClothoFormatError(
            DataIssue(path, None, 1, None, f"the header lacks column(s) {', '.join(missing)} "
                      f"(found: {', '.join(names) or 'nothing'})"),
            f"A Clotho CSV starts with the line {','.join(required)}. Re-download the file "
            "(clipaac data clotho) or repair its first line.",
        )
    return {c: names.index(c) for c in required}


def read_captions_csv(
    path: str | os.PathLike[str], on_error: str = "raise"
) -> tuple[list[CaptionRow], list[DataIssue]]:
    """Parse a Clotho captions CSV: ``(rows, issues)``; ``issues`` is empty unless ``on_error='skip'``."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"captions file not found: {path}")
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ClothoFormatError(DataIssue(path, None, 1, None, "the file is empty"),
                                "Re-download it (clipaac data clotho).") from None
    except csv.Error as err:
        raise ClothoFormatError(DataIssue(path, None, 1, None, f"unreadable CSV header ({err})")) from err
    columns = _header_index(path, header, CAPTIONS_HEADER)
    width = len(header)
    rows: list[CaptionRow] = []
    issues: list[DataIssue] = []
    seen: dict[str, int] = {}
    row_number = 0
    line = reader.line_num

    def problem(issue: DataIssue) -> None:
        if on_error == "raise":
            raise ClothoFormatError(issue, SKIP_HINT)
        issues.append(issue)

    while True:
        start_line = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. an unterminated quote: nothing after it can be trusted
            raise ClothoFormatError(DataIssue(path, row_number + 1, start_line, None, f"broken CSV ({err})"),
                                    "Check the quotes on that line; re-download the file if unsure.") from err
        line = reader.line_num
        if not record or all(not field.strip() for field in record):
            continue  # a blank line is not a clip
        row_number += 1
        if len(record) != width:
            problem(DataIssue(path, row_number, start_line, record[0] if record else None,
                              f"has {len(record)} fields, expected {width}; a field that contains a comma "
                              "must be in double quotes"))
            continue
        file_name = record[columns["file_name"]]
        bad = [(c, _bad_bytes(record[i])) for c, i in columns.items() if _bad_bytes(record[i])]
        if bad:
            where = "; ".join(f"{c} has byte(s) {b}" for c, b in bad)
            problem(DataIssue(path, row_number, start_line, file_name,
                              f"bytes that are not UTF-8 ({where}); the captions CSV must be UTF-8 "
                              "(convert it, e.g. iconv -f latin1 -t utf-8, or re-download it)"))
            continue
        if not file_name.strip():
            problem(DataIssue(path, row_number, start_line, None, "the file_name is empty"))
            continue
        empty = [c for c in CAPTION_COLUMNS if not record[columns[c]].strip()]
        if empty:
            problem(DataIssue(path, row_number, start_line, file_name,
                              f"empty caption in column(s) {', '.join(empty)}"))
            continue
        if file_name in seen:
            problem(DataIssue(path, row_number, start_line, file_name,
                              f"duplicate file name: it is already on row {seen[file_name]}"))
            continue
        seen[file_name] = row_number
        rows.append(CaptionRow(row_number, start_line, file_name,
                               tuple(record[columns[c]] for c in CAPTION_COLUMNS)))
    return rows, issues


def read_metadata_csv(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Parse a Clotho metadata CSV (ISO-8859-1): ``{file_name: {column: value}}``."""
    path = Path(path)
    text = path.read_text(encoding="iso-8859-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ClothoFormatError(DataIssue(path, None, 1, None, "the metadata file is empty")) from None
    _header_index(path, header, ("file_name",))
    out: dict[str, dict[str, str]] = {}
    for record in reader:
        if not record:
            continue
        if len(record) != len(header):
            raise ClothoFormatError(
                DataIssue(path, len(out) + 1, reader.line_num, record[0],
                          f"has {len(record)} fields, expected {len(header)}"),
                "The metadata file is optional: delete it, or re-download it.",
            )
        entry = dict(zip(header, record, strict=True))
        out[entry["file_name"]] = entry
    return out
