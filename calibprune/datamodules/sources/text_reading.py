"""Read the texts of a local calibration file, checking every record: the one reader of ``.txt``/``.jsonl``/...

The command line calls it before any model is loaded and :class:`~.text_file.FileSource` reads its documents with
it, so no path calibrates on a file it did not check. A file is refused, naming the line (or byte, or row), when it
is not UTF-8, empty, binary, malformed, or when a record's ``text_field`` is missing or not a string (a dict's or a
number's Python repr, or an empty string for a missing value, would otherwise be calibrated on). A UTF-8 byte-order
mark is dropped.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from calibprune.errors import OptionError

TEXT_FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")
_ACCEPTED_FILE = (
    "a UTF-8 .txt file, .jsonl (one JSON object per line), .json (a list of objects), .csv (with a header row) "
    "or .parquet, with a text_field column"
)
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def read_texts(path: str | Path, text_field: str = "text") -> list[str]:
    """Return the texts of a local calibration file, one per record (a ``.txt`` file is one text).

    Args:
        path: a ``.txt``, ``.jsonl``, ``.json``, ``.csv`` or ``.parquet`` file.
        text_field: the column holding the text (not used for ``.txt``).

    Raises:
        OptionError: ``calibration`` for a missing, unreadable or malformed file or record, ``text_field`` when
            no record has that column.
    """
    path = Path(path)
    if path.suffix not in TEXT_FILE_SUFFIXES:
        raise OptionError("calibration", f"{str(path)!r} is not a text file", _ACCEPTED_FILE)
    if path.is_dir():
        raise OptionError("calibration", f"{str(path)!r} is a folder, not a {path.suffix} file", _ACCEPTED_FILE)
    if not path.exists():
        raise OptionError("calibration", f"text file {str(path)!r} does not exist", _ACCEPTED_FILE)
    if not path.is_file():  # a device or a pipe would be read forever
        raise OptionError("calibration", f"{str(path)!r} is not a regular file", _ACCEPTED_FILE)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise OptionError("calibration", f"cannot read {str(path)!r}: {err.strerror or err}", _ACCEPTED_FILE) from None
    if not raw.strip():
        raise OptionError("calibration", f"local data file {str(path)!r} is empty", _ACCEPTED_FILE)
    if path.suffix == ".parquet":
        return _parquet(path, text_field)
    text = _decode(path, raw)
    if not text.strip():
        raise OptionError("calibration", f"local data file {str(path)!r} holds only a byte-order mark", _ACCEPTED_FILE)
    if path.suffix == ".txt":
        return [text]
    if path.suffix == ".csv":
        return _csv(path, text, text_field)
    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            if err.msg != "Extra data":  # several JSON values: JSON lines in a .json file, read as such
                raise _unparsable(path, f"line {err.lineno}, column {err.colno}: {err.msg}") from None
        else:
            return _json_document(path, document, text_field)
    return _json_lines(path, text, text_field)


def _decode(path: Path, raw: bytes) -> str:
    """The file's text: UTF-8, its byte-order mark dropped; other encodings and binary data refused."""
    for bom, encoding in _BOMS.items():
        if raw.startswith(bom):
            raise OptionError(
                "calibration", f"{path.name} is {encoding} text (its byte-order mark), not UTF-8", _ACCEPTED_FILE
            )
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise OptionError(
            "calibration", f"{path.name} holds binary data (a NUL byte at line {line}, byte {nul})", _ACCEPTED_FILE
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise OptionError(
            "calibration",
            f"{path.name} is not UTF-8: byte 0x{raw[err.start]:02x} at line {line}, column {column} (byte {err.start})",
            "UTF-8 text (convert it first, e.g. iconv -t UTF-8)",
        ) from None


def _unparsable(path: Path, detail: str) -> OptionError:
    return OptionError("calibration", f"cannot parse a local data file {path.name}: {detail}", _ACCEPTED_FILE)


def _text_of(path: Path, record: Any, field: str, where: str, columns: list[str] | None) -> str:
    """The string under ``field`` of one record; anything else is refused, naming the record."""
    if not isinstance(record, dict):
        raise _unparsable(path, f"{where} is {_kind(record)}, not a JSON object")
    if field not in record:
        if columns is None:  # the first record: the column is missing from the file, not from one record
            raise OptionError(
                "text_field",
                f"{field!r} is not a column of {path.name} ({where}); columns: {', '.join(record) or 'none'}",
                "one of its columns",
            )
        raise OptionError("calibration", f"{path.name} {where} has no {field!r} field", f"{field!r} in every record")
    value = record[field]
    if not isinstance(value, str):
        raise OptionError(
            "calibration",
            f"{path.name} {where}: {field!r} is {_kind(value)}, not a string",
            f"a string in {field!r} in every record",
        )
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _json_lines(path: Path, text: str, field: str) -> list[str]:
    texts: list[str] = []
    columns: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise _unparsable(path, f"line {number}, column {err.colno}: {err.msg}") from None
        texts.append(_text_of(path, record, field, f"line {number}", columns))
        columns = list(record)
    return texts


def _json_document(path: Path, document: Any, field: str) -> list[str]:
    if isinstance(document, dict) and isinstance(document.get(field), list):  # columnar: {"text": [...]}
        document = [{field: value} for value in document[field]]
    if not isinstance(document, list) or not document:
        held = "an empty list" if document == [] else _kind(document)
        raise _unparsable(path, f"it holds {held}, not a list of objects")
    texts: list[str] = []
    for index, record in enumerate(document):
        texts.append(_text_of(path, record, field, f"item {index}", None if index == 0 else [field]))
    return texts


def _csv(path: Path, text: str, field: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        if field not in header:
            raise OptionError(
                "text_field",
                f"{field!r} is not a column of {path.name}; columns: {', '.join(header)}",
                "one of its columns",
            )
        index, texts = header.index(field), []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise _unparsable(path, f"line {reader.line_num} has {len(row)} fields, the header {len(header)}")
            texts.append(row[index])
    except csv.Error as err:
        raise _unparsable(path, f"line {reader.line_num}: {err}") from None
    return texts


def _parquet(path: Path, field: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        if field not in schema.names:
            raise OptionError(
                "text_field",
                f"{field!r} is not a column of {path.name}; columns: {', '.join(schema.names)}",
                "one of its columns",
            )
        column = pq.read_table(path, columns=[field]).column(field)
    except (pa.ArrowException, OSError) as err:
        raise _unparsable(path, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise OptionError(
            "calibration", f"{path.name}: column {field!r} holds {column.type} values, not strings", "a string column"
        )
    values = column.to_pylist()
    if None in values:
        raise OptionError(
            "calibration", f"{path.name} row {values.index(None)}: {field!r} is null", "a string in every row"
        )
    return values
