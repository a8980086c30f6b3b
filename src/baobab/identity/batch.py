"""Batch deduplication of a register file: its rows read as :class:`PersonRecord` s, its clusters
written out.

A register file is CSV with a header row or JSON Lines (one object a line). Its columns (keys)
are named after the fields of :class:`PersonRecord` - ``record_id``, ``given_name``,
``family_name``, ``other_names``, ``birth_date``, ``sex``, ``location``, ``phone`` - or mapped to
them with ``columns`` (field -> column). Only ``record_id`` is required; other columns are not
read and are reported as such. A value is text (a JSON number is read as its digits); an empty
one is unknown. Every bad row is collected, and the file is refused as a whole with
:class:`RegisterFileError` naming each line: matching a register with holes in it would give
clusters nobody can trust. No message repeats a value from the file.

The report lists every record in a cluster: ``cluster_id`` (from 1), ``record_id``,
``cluster_size``, as CSV or JSON Lines chosen by the file's extension, written to a temporary
file beside it and renamed into place, so a run that fails leaves the previous report whole.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from baobab.identity.matching import PersonRecord
from baobab.identity.schema import parse_partial_date
from baobab.kernel.errors import InvalidInput

__all__ = [
    "FIELDS",
    "ClusterSummary",
    "Register",
    "RegisterFileError",
    "file_format",
    "read_register",
    "summarise",
    "write_clusters",
]

FIELDS = tuple(field.name for field in fields(PersonRecord))
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_PROBLEMS_KEPT = 100  # the rest are only counted: the first hundred show what is wrong
_REPORT_HEADER = ("cluster_id", "record_id", "cluster_size")
_AFTER_CR = re.compile(r"(?<=\r)(?!\n)")  # where a bare carriage return ends a CSV line


class RegisterFileError(InvalidInput):
    """A register file that cannot be deduplicated as it stands. ``extra["problems"]`` lists up
    to a hundred ``{"line": n, "reason": ...}``, ``extra["problems_total"]`` counts them all."""

    code = "identity.bad_register_file"
    title = "Register file that cannot be deduplicated"


@dataclass(frozen=True)
class Register:
    """The records of a register file and the columns of it that were not read."""

    records: list[PersonRecord]
    unread_columns: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSummary:
    """What a deduplication found: ``clustered`` records fall in ``clusters`` groups of two or
    more, the biggest holding ``largest``."""

    records: int
    clusters: int
    clustered: int
    largest: int


def file_format(path: Path) -> str:
    """``"csv"`` or ``"jsonl"`` by the extension of ``path`` (``.csv``, ``.jsonl``, ``.ndjson``)."""
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise RegisterFileError(
            f"{path.name}: the extension says neither CSV (.csv) nor JSON Lines (.jsonl, .ndjson)"
        ) from None


class _Reader:
    """Turns raw rows into records, collecting every problem with its line."""

    def __init__(self, columns: Mapping[str, str]) -> None:
        self.columns = columns
        self.records: list[PersonRecord] = []
        self.problems: list[dict[str, object]] = []
        self.problems_total = 0
        self.line_of: dict[str, int] = {}

    def problem(self, line: int, reason: str) -> None:
        self.problems_total += 1
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append({"line": line, "reason": reason})

    def decoded(self, lines: Iterable[bytes]) -> Iterator[str]:
        """Each line as text; one that is not UTF-8 is a problem and reads as blank, so line
        numbers stay those of the file."""
        for number, raw in enumerate(lines, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.problem(number, "not UTF-8 text")
                text = "\n"
            yield text.removeprefix("\ufeff") if number == 1 else text

    def add(self, line: int, row: Mapping[str, object]) -> None:
        values: dict[str, str | None] = {}
        for field, column in self.columns.items():
            raw = row.get(column)
            if isinstance(raw, str):
                values[field] = raw.strip() or None
            elif isinstance(raw, int) and not isinstance(raw, bool):
                values[field] = str(raw)
            elif raw is None:
                values[field] = None
            else:
                self.problem(line, f"{column} is not text")
                return
        record_id = values.pop("record_id")
        if record_id is None:
            self.problem(line, f"no {self.columns['record_id']}")
            return
        first = self.line_of.setdefault(record_id, line)
        if first != line:
            self.problem(line, f"the {self.columns['record_id']} of line {first} again")
            return
        birth_date = values["birth_date"]
        if birth_date is not None and parse_partial_date(birth_date) is None:
            self.problem(
                line,
                f"{self.columns['birth_date']} is not a date that can be "
                "(YYYY, YYYY-MM or YYYY-MM-DD)",
            )
            return
        self.records.append(PersonRecord(record_id, **values))

    def read_csv(self, lines: Iterable[bytes]) -> set[str]:
        # The csv module wants lines split as universal newlines split them (a bare \r too).
        split = (piece for text in self.decoded(lines) for piece in _AFTER_CR.split(text))
        reader = csv.reader((piece for piece in split if piece), strict=True)
        try:
            header = [name.strip() for name in next(reader, [])]
            if self.columns["record_id"] not in header:
                raise RegisterFileError(
                    f"line 1: the header has no {self.columns['record_id']} column"
                )
            if len(set(header)) != len(header):
                raise RegisterFileError("line 1: the header names a column twice")
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    self.problem(
                        reader.line_num, f"{len(cells)} cells where the header has {len(header)}"
                    )
                    continue
                self.add(reader.line_num, dict(zip(header, cells, strict=True)))
        except csv.Error as exc:  # a quote never closed or closed too soon: the rest cannot be read
            self.problem(reader.line_num, f"not CSV: {exc}")
        return set(header)

    def read_jsonl(self, lines: Iterable[bytes]) -> set[str]:
        keys: set[str] = set()
        for number, line in enumerate(self.decoded(lines), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem(number, f"not JSON: {exc.msg}")
                continue
            if not isinstance(row, dict):
                self.problem(number, "not a JSON object")
                continue
            keys.update(row)
            self.add(number, row)
        return keys


def read_register(
    lines: Iterable[bytes], *, file_format: str, columns: Mapping[str, str] | None = None
) -> Register:
    """The records of a register file given as its raw lines (a file opened ``"rb"``).

    ``columns`` maps a :data:`FIELDS` name to the column holding it where the two differ.
    Raises :class:`RegisterFileError` if any row is bad, or the file holds no record.
    """
    unknown = sorted(set(columns or {}) - set(FIELDS))
    if unknown:
        raise RegisterFileError(f"not fields of a person record: {', '.join(unknown)}")
    mapping = {field: (columns or {}).get(field, field) for field in FIELDS}
    reader = _Reader(mapping)
    if file_format == "csv":
        seen = reader.read_csv(lines)
    elif file_format == "jsonl":
        seen = reader.read_jsonl(lines)
    else:
        raise RegisterFileError(f"a register file is csv or jsonl, not {file_format!r}")
    if reader.problems:
        first = reader.problems[0]
        raise RegisterFileError(
            f"{reader.problems_total} bad row(s); the first, line {first['line']}: "
            f"{first['reason']}",
            extra={"problems": reader.problems, "problems_total": reader.problems_total},
        )
    if not reader.records:
        raise RegisterFileError("the file holds no records")
    return Register(reader.records, tuple(sorted(seen - set(mapping.values()))))


def summarise(records: int, clusters: Sequence[Sequence[str]]) -> ClusterSummary:
    """The counts the console prints after a run over ``records`` records."""
    sizes = [len(cluster) for cluster in clusters]
    return ClusterSummary(records, len(sizes), sum(sizes), max(sizes, default=0))


def write_clusters(clusters: Sequence[Sequence[str]], path: Path) -> None:
    """Write the cluster report to ``path`` (CSV or JSON Lines by its extension), whole or not
    at all: it goes to a temporary file beside ``path`` and is renamed into place."""
    chosen = file_format(path)
    rows = (
        (number, record_id, len(cluster))
        for number, cluster in enumerate(clusters, start=1)
        for record_id in cluster
    )
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            if chosen == "csv":
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(_REPORT_HEADER)
                writer.writerows(rows)
            else:
                out.writelines(
                    json.dumps(dict(zip(_REPORT_HEADER, row, strict=True)), ensure_ascii=False)
                    + "\n"
                    for row in rows
                )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
