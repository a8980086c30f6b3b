"""Registry commands: `baobab registries ...` — define registries, grant rights, import and
export records with a progress bar, verify and export the history.

The console operator acts unrestricted (like every console command) and appears in the history
and the audit log as ``cli:<user>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baobab.cli.console import actor, console, errors, platform
from baobab.registries import (
    Caller,
    RegistryService,
    compile_schema,
    example_schema,
    export_records,
    import_records,
    read_csv,
    read_jsonl,
    write_csv,
    write_jsonl,
)
from baobab.registries.adapters.sql import vacuum
from baobab.registries.disclosure_chain import disclosure_payload
from baobab.registries.domain import ImportReport, Operation
from baobab.registries.errors import ImportRejected

registries_app = typer.Typer(
    help="Schema-driven registries: define, grant, import, export, verify.", no_args_is_help=True
)


@contextmanager
def _service(*, after_bulk_load: bool = False) -> Iterator[RegistryService]:
    with platform() as built:
        yield built.registries
        if after_bulk_load:
            vacuum(built.db)


def _operator() -> Caller:
    return Caller(actor(), unrestricted=True)


def _format(path: Path, given: str | None) -> str:
    chosen = given or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    if chosen not in ("csv", "jsonl"):
        errors.print("[red]error[/red] --format is csv or jsonl")
        raise typer.Exit(2)
    return chosen


@registries_app.command("define")
def define(
    *,
    code: Annotated[str, typer.Argument(help="Registry code, e.g. social-registry")],
    version: Annotated[str, typer.Option(help="Schema version, e.g. 1.0")],
    schema: Annotated[Path | None, typer.Option(help="JSON Schema file")] = None,
    example: Annotated[
        str | None, typer.Option(help="A shipped schema: social-registry, beneficiary-registry")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    description: Annotated[str, typer.Option(help="What the registry holds")] = "",
) -> None:
    """Define a registry, or publish a new version of its schema."""
    if (schema is None) == (example is None):
        errors.print("[red]error[/red] give either --schema FILE or --example NAME")
        raise typer.Exit(2)
    document: dict[str, Any] = (
        json.loads(schema.read_text()) if schema is not None else example_schema(str(example))
    )
    with _service() as registries:
        defined = registries.define(
            _operator(),
            code=code,
            version=version,
            schema=document,
            name=name,
            description=description,
        )
        console.print(
            f"registry {defined.code} at version {defined.current.version} "
            f"({len(defined.versions)} version(s))"
        )


@registries_app.command("list")
def list_registries() -> None:
    """List registries with their versions and field marks."""
    with _service() as registries:
        table = Table("code", "name", "versions", "id field", "indexed", "personal")
        for registry in registries.list_registries():
            compiled = compile_schema(registry.current.schema_text)
            table.add_row(
                registry.code,
                registry.name,
                ", ".join(v.version for v in registry.versions),
                compiled.id_field,
                ", ".join(f.name for f in compiled.indexed),
                ", ".join(sorted(compiled.personal)),
            )
        console.print(table)


@registries_app.command("grant")
def grant(
    code: Annotated[str, typer.Argument(help="Registry code")],
    client: Annotated[str, typer.Argument(help="INSTANCE/CLASS/MEMBER/SUBSYSTEM")],
    operation: Annotated[
        list[str], typer.Option(help=f"Repeatable: {', '.join(o.value for o in Operation)}")
    ],
) -> None:
    """Allow a directory subsystem operations on one registry."""
    with _service() as registries:
        rights = registries.grant(_operator(), code=code, client_id=client, operations=operation)
        console.print(f"{client} may {', '.join(str(r.operation) for r in rights)} on {code}")


@registries_app.command("revoke")
def revoke(
    code: Annotated[str, typer.Argument(help="Registry code")],
    client: Annotated[str, typer.Argument(help="INSTANCE/CLASS/MEMBER/SUBSYSTEM")],
    operation: Annotated[list[str], typer.Option(help="Repeatable")],
) -> None:
    """Withdraw operations on one registry from a subsystem."""
    with _service() as registries:
        registries.revoke(_operator(), code=code, client_id=client, operations=operation)
        console.print(f"revoked {', '.join(operation)} on {code} from {client}")


def _lines(path: Path) -> int:
    with path.open("rb") as counted:
        return sum(1 for line in counted if line.strip())


def _print_report(report: dict[str, Any]) -> None:
    table = Table("row", "field", "reason", title="Validation report")
    for violation in report["violations"]:
        table.add_row(str(violation.get("row", "")), violation["field"], violation["reason"])
    errors.print(table)
    shown, total = len(report["violations"]), report["violations_total"]
    if total > shown:
        errors.print(f"... and {total - shown} more")


@registries_app.command("import")
def import_file(
    *,
    code: Annotated[str, typer.Argument(help="Registry code")],
    version: Annotated[str, typer.Argument(help="Schema version (the current one)")],
    path: Annotated[Path, typer.Argument(help="CSV (header row) or JSON Lines file")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by extension)")
    ] = None,
    partial: Annotated[
        bool, typer.Option(help="Import the good rows even if some are bad")
    ] = False,
    reason: Annotated[str, typer.Option(help="Kept in every record's history")] = "bulk import",
) -> None:
    """Import new records; by default all or nothing, with a report naming every bad row."""
    chosen = _format(path, file_format)
    total = _lines(path) - (1 if chosen == "csv" else 0)
    with (
        _service(after_bulk_load=True) as registries,
        path.open(encoding="utf-8", newline="") as source,
    ):
        schema = compile_schema(registries.get_registry(code).version(version).schema_text)
        rows = read_csv(source, schema) if chosen == "csv" else read_jsonl(source)
        columns = (
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("import", total=max(total, 0))
            try:
                report: ImportReport = import_records(
                    registries,
                    _operator(),
                    code,
                    version,
                    rows,
                    all_or_nothing=not partial,
                    reason=reason,
                    progress=lambda done: progress.update(task, completed=done),
                )
            except ImportRejected as rejected:
                progress.stop()
                _print_report(rejected.extra["report"])
                errors.print(f"[red]import rejected[/red]: {rejected.detail}")
                raise typer.Exit(1) from rejected
    if report.violations:
        _print_report(report.as_dict(limit=100))
    console.print(
        f"imported {report.imported} of {report.rows} rows into {code} {version}"
        + (f"; {report.rejected_rows} rejected" if report.rejected_rows else "")
    )


@registries_app.command("export")
def export_file(
    code: Annotated[str, typer.Argument(help="Registry code")],
    version: Annotated[str, typer.Argument(help="Schema version to export through")],
    path: Annotated[Path, typer.Argument(help="Where to write (.csv or .jsonl)")],
    file_format: Annotated[str | None, typer.Option("--format", help="csv or jsonl")] = None,
) -> None:
    """Export every live record (personal fields included; each read is logged)."""
    chosen = _format(path, file_format)
    with _service() as registries, path.open("w", encoding="utf-8", newline="") as out:
        schema = compile_schema(registries.get_registry(code).version(version).schema_text)
        collected: list[dict[str, Any]] = []
        count = export_records(
            registries, _operator(), code, version, lambda data: collected.append(dict(data))
        )
        lines = (
            write_csv(collected, sorted(schema.fields))
            if chosen == "csv"
            else write_jsonl(collected)
        )
        out.writelines(lines)
    console.print(f"exported {count} records of {code} {version} to {path}")


@registries_app.command("history")
def history(
    code: Annotated[str, typer.Argument(help="Registry code")],
    record_id: Annotated[str, typer.Argument(help="The record's id")],
) -> None:
    """Show every revision of one record: who, when, why."""
    with _service() as registries:
        table = Table("#", "version", "change", "at", "actor", "reason", "hash")
        for revision in registries.history(_operator(), code, record_id):
            table.add_row(
                str(revision.sequence),
                str(revision.record_version),
                str(revision.change),
                revision.at,
                revision.actor,
                revision.reason,
                revision.hash[:12] + "…",
            )
        console.print(table)


@registries_app.command("verify")
def verify(code: Annotated[str, typer.Argument(help="Registry code")]) -> None:
    """Re-compute a registry's revision and disclosure chains; check every record."""
    with _service() as registries:
        verdict = registries.verify(_operator(), code)
    if verdict.intact:
        console.print(
            f"[green]{code}: history intact[/green]: {verdict.revisions} revisions and "
            f"{verdict.disclosures} disclosures verified"
        )
        return
    where = (
        f"disclosure {verdict.first_broken_disclosure}"
        if verdict.first_broken_disclosure is not None
        else f"revision {verdict.first_broken}"
    )
    errors.print(f"[red]{code}: history broken at {where}[/red]: {verdict.reason}")
    raise typer.Exit(1)


@registries_app.command("export-history")
def export_history(
    code: Annotated[str, typer.Argument(help="Registry code")],
    path: Annotated[Path, typer.Argument(help="JSON Lines file of revisions")],
    disclosures: Annotated[
        bool, typer.Option(help="Export the log of personal-data reads instead")
    ] = False,
) -> None:
    """Export the revision chain (verifiable elsewhere) or the log of personal-data reads."""
    written = 0
    with _service() as registries, path.open("w", encoding="utf-8") as out:
        if disclosures:
            after = 0
            while entries := registries.disclosures(_operator(), code, after=after, limit=5000):
                for d in entries:
                    line = {
                        **disclosure_payload(d, d.sequence),
                        "previous_hash": d.previous_hash,
                        "hash": d.hash,
                    }
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += len(entries)
                after = entries[-1].sequence
        else:
            sequence = 0
            while revisions := registries.revisions(_operator(), code, after=sequence, limit=5000):
                for r in revisions:
                    out.write(
                        json.dumps(
                            {**r.payload(), "previous_hash": r.previous_hash, "hash": r.hash},
                            ensure_ascii=False,
                        )
                    )
                    out.write("\n")
                written += len(revisions)
                sequence = revisions[-1].sequence
    console.print(f"exported {written} {'disclosures' if disclosures else 'revisions'} to {path}")
