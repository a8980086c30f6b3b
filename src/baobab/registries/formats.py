"""Bulk files: CSV and JSON Lines in (one record per row, numbered from 1) and out.

In CSV the header names top-level fields; a cell is converted to its field's type, an empty cell
leaves the field out, and an object or array field holds JSON text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from baobab.registries.domain import Violation
from baobab.registries.jsontext import parse_canonical
from baobab.registries.schema import RegistrySchema, coerce_text


class Row(NamedTuple):
    """One data row of a file: its number, the record it holds, and why it could not be read;
    ``encoded`` is the record's canonical JSON when the reader made it on the way (a JSON
    line), to be stored and hashed as it is unless the record changes."""

    number: int
    data: dict[str, Any]
    violations: tuple[Violation, ...] = ()
    encoded: bytes | None = None


def read_jsonl(lines: Iterable[str]) -> Iterator[Row]:
    """One JSON object per non-empty line."""
    number = 0
    for line in lines:
        if not line.strip():
            continue
        number += 1
        try:
            data, encoded = parse_canonical(line)
        except json.JSONDecodeError as exc:
            yield Row(number, {}, (Violation("", f"not valid JSON: {exc.msg}", number),))
            continue
        except UnicodeEncodeError:  # "\ud800": no UTF-8 text can hold it, nor the database
            yield Row(number, {}, (Violation("", "holds a lone surrogate (\\ud800)", number),))
            continue
        if not isinstance(data, dict):
            yield Row(number, {}, (Violation("", "a line must hold a JSON object", number),))
            continue
        yield Row(number, data, (), encoded)


def read_csv(lines: Iterable[str], schema: RegistrySchema) -> Iterator[Row]:
    """Rows of a CSV file with a header line naming the registry's fields."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    unknown = [name for name in header if name not in schema.fields]
    converters = [schema.fields.get(name) for name in header]
    for number, cells in enumerate(reader, start=1):
        if not any(cells):
            continue
        data: dict[str, Any] = {}
        problems = [Violation(name, "is not a field of this registry", number) for name in unknown]
        if len(cells) != len(header):
            problems.append(
                Violation("", f"has {len(cells)} cells, the header {len(header)}", number)
            )
        for name, spec, cell in zip(header, converters, cells, strict=False):
            if spec is None or cell == "":
                continue
            if spec.scalar_type is None:
                try:
                    data[name] = json.loads(cell)
                except json.JSONDecodeError:
                    problems.append(Violation(name, "must be JSON text in a CSV cell", number))
                continue
            try:
                data[name] = coerce_text(spec, cell)
            except ValueError as exc:
                problems.append(Violation(name, str(exc), number))
        yield Row(number, data, tuple(problems))


def write_jsonl(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for data in records:
        yield json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"


def write_csv(records: Iterable[Mapping[str, Any]], fields: list[str]) -> Iterator[str]:
    """CSV text, one line at a time, with ``fields`` as the header."""

    class _Line:
        text = ""

        def write(self, value: str) -> None:
            self.text = value

    line = _Line()
    writer = csv.writer(line, lineterminator="\n")
    writer.writerow(fields)
    yield line.text
    for data in records:
        cells = []
        for name in fields:
            value = data.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, dict | list):
                cells.append(json.dumps(value, ensure_ascii=False, sort_keys=True))
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            else:
                cells.append(str(value))
        writer.writerow(cells)
        yield line.text
