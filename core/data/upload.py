"""Uploaded CSV/JSON/JSONL files: parsed defensively into a frame, then mapped to a ``TextDataset``.

The app is public, so every input is hostile until proven otherwise: the size cap
is checked before any parsing, nothing is ever unpickled (no pickle, no
``pd.read_pickle``, no ``pd.read_json``), JSON nesting and value counts are
measured on the raw text before ``json.loads`` allocates anything, and the file
name is only used for its extension. Every problem becomes a ``LensError``.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable
from itertools import islice
from typing import Any

import pandas as pd

from core.data.dataset import TASK_SEQ_CLS, Example, TextDataset, check_task
from core.errors import LensError
from core.i18n import human_bytes
from core.limits import MAX_COLUMNS, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_ROWS, MAX_UPLOAD_BYTES  # noqa: F401 - re-exported

MIN_ROWS = 4

_JSON_STRING = re.compile(r'"[^"]*"')
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_CSV_BAD_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


# --- file -> text ---------------------------------------------------------------


def _base_and_extension(filename: str) -> tuple[str, str]:
    """The last path component and its lower-cased extension; directories are ignored."""
    base = re.split(r"[\\/]", filename or "")[-1]
    return base, os.path.splitext(base)[1].lower()


def _decode(data: bytes) -> str:
    """UTF-8 text (a BOM is fine); binary files and other encodings are refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LensError("data.not_utf8")  # UTF-16: full of NULs, but not "binary"
    if b"\x00" in data:
        raise LensError("data.binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LensError("data.not_utf8") from None


# --- JSON guards -----------------------------------------------------------------


def _json_shape(text: str) -> tuple[bool, int]:
    """(nested deeper than allowed?, rough value count), measured without parsing so
    a nesting bomb or a flood of tiny values is refused before it costs memory.

    Escapes are removed first, so strings are ``"[^"]*"`` and can be blanked by a
    regex without a backtracking stack; brackets are then isolated with
    ``bytes.translate`` and peeled one level per pass. All steps are linear C loops.
    """
    plain = text.replace("\\\\", "").replace('\\"', "")
    strings = plain.count('"') // 2
    if strings > MAX_JSON_VALUES:  # refuse before the regex builds one piece per string
        return False, strings
    bare = _JSON_STRING.sub("0", plain)
    nest = bare.encode().translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    values = bare.count(",") + nest.count(b"[") + 1
    for _ in range(MAX_JSON_DEPTH):  # each pass peels exactly one level of nesting
        peeled = nest.replace(b"[]", b"")
        if peeled == nest:  # fully peeled, or unbalanced (then json.loads reports it)
            return False, values
        nest = peeled
    return b"[]" in nest, values


def _cell(value: Any) -> str:
    """Every column becomes text; nested values keep their JSON form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def frame_from_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows of objects (a JSON file, a Hub stream) -> an all-string frame; a missing key becomes an empty cell."""
    if not records:
        raise LensError("data.no_rows")
    if len(records) > MAX_ROWS:
        raise LensError("data.too_many_rows", limit=f"{MAX_ROWS:,}")
    columns = list(dict.fromkeys(str(k) for row in records for k in row))
    _check_columns(len(columns))
    data = {c: [_cell(row.get(c)) for row in records] for c in columns}
    return pd.DataFrame(data, columns=columns, dtype=str)


def _check_columns(count: int) -> None:
    if count == 0:
        raise LensError("data.no_columns")
    if count > MAX_COLUMNS:
        raise LensError("data.too_many_columns", count=count, limit=MAX_COLUMNS)


def _parse_json(text: str) -> pd.DataFrame:
    """A list of objects, or ``{"data": [...]}`` (the shape many exports use)."""
    too_deep, values = _json_shape(text)
    if too_deep:
        raise LensError("data.json_too_deep", limit=MAX_JSON_DEPTH)
    if values > MAX_JSON_VALUES:
        raise LensError("data.json_too_complex", count=f"{values:,}", limit=f"{MAX_JSON_VALUES:,}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise LensError("data.json_invalid", line=e.lineno, column=e.colno) from None
    except RecursionError:  # unbalanced brackets can hide depth from _json_shape
        raise LensError("data.json_too_deep", limit=MAX_JSON_DEPTH) from None
    if isinstance(doc, dict) and "data" in doc:
        doc = doc["data"]
    if not isinstance(doc, list):
        raise LensError("data.json_shape")
    for i, row in enumerate(doc, start=1):
        if not isinstance(row, dict):
            raise LensError("data.json_row_not_object", row=i)
    return frame_from_records(doc)


def _jsonl_records(text: str) -> Iterable[dict[str, Any]]:
    """One object per non-blank line; errors name the 1-based line number."""
    budget = MAX_JSON_VALUES
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        too_deep, values = _json_shape(line)
        budget -= values
        if too_deep:
            raise LensError("data.jsonl_too_deep", line=number, limit=MAX_JSON_DEPTH)
        if budget < 0:
            raise LensError(
                "data.json_too_complex", count=f"{MAX_JSON_VALUES:,}+", limit=f"{MAX_JSON_VALUES:,}"
            )
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise LensError("data.jsonl_bad_line", line=number) from None
        except RecursionError:
            raise LensError("data.jsonl_too_deep", line=number, limit=MAX_JSON_DEPTH) from None
        if not isinstance(row, dict):
            raise LensError("data.jsonl_not_object", line=number)
        yield row


def _parse_jsonl(text: str) -> pd.DataFrame:
    return frame_from_records(list(islice(_jsonl_records(text), MAX_ROWS + 1)))


def _parse_csv(text: str) -> pd.DataFrame:
    """Comma-separated with a header row; every cell read as literal text (no NA guessing)."""
    commas = text.split("\n", 1)[0].count(",")
    if commas >= MAX_COLUMNS:  # refuse a million-column header before pandas builds it
        raise LensError("data.too_many_columns", count=commas + 1, limit=MAX_COLUMNS)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
            index_col=False, nrows=MAX_ROWS + 1,
        )
    except pd.errors.EmptyDataError:
        raise LensError("data.no_columns") from None
    except (pd.errors.ParserError, ValueError) as e:
        found = _CSV_BAD_LINE.search(str(e))
        if found:
            expected, line, saw = found.groups()
            raise LensError("data.csv_bad_line", line=line, expected=expected, found=saw) from None
        raise LensError("data.csv_invalid") from None
    _check_columns(frame.shape[1])
    if frame.empty:
        raise LensError("data.no_rows")
    if len(frame) > MAX_ROWS:
        raise LensError("data.too_many_rows", limit=f"{MAX_ROWS:,}")
    frame.columns = [str(c) for c in frame.columns]
    return frame.astype(str)


_PARSERS = {".csv": _parse_csv, ".json": _parse_json, ".jsonl": _parse_jsonl}


def parse_upload(filename: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """An uploaded .csv/.json/.jsonl file -> a frame whose columns are all strings."""
    if len(data) > max_bytes:
        raise LensError("data.too_large", size=human_bytes(len(data)), limit=human_bytes(max_bytes))
    base, ext = _base_and_extension(filename)
    if not ext:
        raise LensError("data.no_extension", name=base)
    parser = _PARSERS.get(ext)
    if parser is None:
        raise LensError("data.unsupported_type", ext=ext)
    text = _decode(bytes(data))
    if not text.strip():
        raise LensError("data.empty_file")
    return parser(text)


# --- frame -> dataset --------------------------------------------------------------


def _clean(values: Iterable[Any]) -> list[str]:
    """Stripped text; NaN/None become empty so they count as missing."""
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip() for v in values]


def dataset_from_frame(
    df: pd.DataFrame, task: str, text_col: str, target_col: str, name: str = "upload"
) -> TextDataset:
    """Pick the text and target columns for ``task`` (target = response for
    causal-lm, label for seq-cls). Rows with an empty side are dropped and
    counted in ``TextDataset.dropped``."""
    check_task(task)
    columns = [str(c) for c in df.columns]
    for column in (text_col, target_col):
        if column not in columns:
            raise LensError("data.missing_column", column=column, available=", ".join(columns))
    if text_col == target_col:
        raise LensError("data.same_column", column=text_col)
    if df.empty:
        raise LensError("data.no_rows")
    texts, targets = _clean(df[text_col]), _clean(df[target_col])
    for column, values in ((text_col, texts), (target_col, targets)):
        if not any(values):
            raise LensError("data.empty_column", column=column)
    pairs = [(x, y) for x, y in zip(texts, targets, strict=True) if x and y]
    dropped = len(texts) - len(pairs)
    if len(pairs) < MIN_ROWS:
        raise LensError("data.too_few_rows", count=len(pairs), dropped=dropped, minimum=MIN_ROWS)
    if task == TASK_SEQ_CLS:
        classes = {y for _, y in pairs}
        if len(classes) < 2:
            raise LensError("data.single_class", column=target_col, label=classes.pop())
        examples = tuple(Example(text=x, label=y) for x, y in pairs)
    else:
        examples = tuple(Example(text=x, response=y) for x, y in pairs)
    return TextDataset(name=name, examples=examples, dropped=dropped)
