"""Identity commands: `baobab identity profiles|enrol|review|lock|unlock|outbox|rotate-key|reseal|
purge|dedup`."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baobab.cli.console import actor, console, errors, platform
from baobab.directory import ClientId
from baobab.identity import ReviewDecision
from baobab.identity.adapters.crypto import keystore_path, load_keystore
from baobab.identity.adapters.reseal import reseal, rotate_key
from baobab.identity.batch import (
    FIELDS,
    RegisterFileError,
    file_format,
    read_register,
    summarise,
    write_clusters,
)
from baobab.identity.matching import InvalidModel, MatchModel, Thresholds, deduplicate
from baobab.kernel.errors import BaobabError
from baobab.kernel.signing import Signer

identity_app = typer.Typer(
    help="The population register: profiles, enrolment, review queue, locks, outbox.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="The manual review queue of possible duplicates.", no_args_is_help=True
)
identity_app.add_typer(review_app, name="review")


@identity_app.command("profiles")
def identity_profiles(
    show: Annotated[str | None, typer.Option(help="Print this profile, e.g. example-a@2")] = None,
) -> None:
    """List the ID schema profiles shipped, the active one marked; or print one."""
    with platform() as built:
        profiles = built.identity.profiles
        if show is not None:
            console.print_json(json.dumps(profiles.get(show).document))
            return
        table = Table("profile", "country", "UIN digits", "required", "used for matching")
        for profile in profiles.all():
            mark = " (active)" if profile is profiles.active else ""
            table.add_row(
                profile.ref + mark,
                profile.country,
                str(profile.uin_policy.length),
                ", ".join(profile.tagged("required")),
                ", ".join(profile.tagged("used-for-matching")),
            )
        console.print(table)


@identity_app.command("enrol")
def identity_enrol(
    packets: Annotated[Path, typer.Argument(help="JSON Lines file: one enrolment packet a line")],
    agency: Annotated[
        str, typer.Option("--as", help="The enrolling subsystem, CLASS/MEMBER/SUBSYSTEM")
    ],
    key: Annotated[Path, typer.Option(help="The subsystem's private JWK file (it signs)")],
) -> None:
    """Sign each packet with the agency's key and submit it; print what became of them."""
    signer = Signer(json.loads(key.read_text()))
    outcomes: Counter[str] = Counter()
    failed = 0
    with platform() as built:
        instance = built.settings.instance
        caller = str(ClientId.parse(agency if agency.count("/") == 3 else f"{instance}/{agency}"))
        with packets.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    enrolment = built.identity.enrolment.submit(
                        caller=caller, signed_packet=signer.encode(json.loads(line))
                    )
                except (BaobabError, ValueError) as exc:
                    failed += 1
                    code = getattr(exc, "code", "identity.malformed_packet")
                    errors.print(f"line {number}: [red]{code}[/red] {exc}")
                    continue
                outcomes[enrolment.state.value] += 1
    table = Table("outcome", "packets")
    for state, count in sorted(outcomes.items()):
        table.add_row(state, str(count))
    if failed:
        table.add_row("refused", str(failed))
    console.print(table)
    if failed:
        raise typer.Exit(1)


@review_app.command("list")
def review_list(
    everything: Annotated[bool, typer.Option("--all", help="Decided cases too")] = False,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
) -> None:
    """Cases waiting for an officer (oldest first)."""
    with platform() as built:
        cases = built.identity.enrolment.review_queue(open_only=not everything, limit=limit)
        table = Table("case", "packet", "opened", "candidates", "decision")
        for case in cases:
            best = ", ".join(f"{c.uin} ({c.score:.1f})" for c in case.candidates[:3])
            table.add_row(
                case.case_id,
                case.packet_id,
                case.opened_at.isoformat(timespec="seconds"),
                best,
                case.decision.value if case.decision else "",
            )
        console.print(table)


@review_app.command("show")
def review_show(case_id: Annotated[str, typer.Argument(help="The case id")]) -> None:
    """The packet beside each candidate, field by field (the viewing is audited)."""
    with platform() as built:
        view = built.identity.enrolment.show_case(actor=actor(), case_id=case_id)
        for candidate, attributes in view.candidates:
            table = Table(
                "field",
                "packet",
                f"UIN {candidate.uin}",
                "comparison",
                title=f"score {candidate.score:.1f} ({candidate.outcome.value})",
            )
            for name in sorted(set(view.packet) | set(attributes)):
                table.add_row(
                    name,
                    json.dumps(view.packet.get(name), ensure_ascii=False),
                    json.dumps(attributes.get(name), ensure_ascii=False),
                    candidate.field_levels.get(name, ""),
                )
            console.print(table)


@review_app.command("decide")
def review_decide(
    case_id: Annotated[str, typer.Argument(help="The case id")],
    decision: Annotated[ReviewDecision, typer.Option(help="distinct, duplicate or reject")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
    duplicate_of: Annotated[str | None, typer.Option(help="The candidate UIN")] = None,
) -> None:
    """Settle a case."""
    with platform() as built:
        enrolment = built.identity.enrolment.decide(
            actor=actor(),
            case_id=case_id,
            decision=decision,
            duplicate_of=duplicate_of,
            reason=reason,
        )
        result = enrolment.uin or enrolment.duplicate_of or enrolment.reason or ""
        console.print(f"packet {enrolment.packet_id}: {enrolment.state.value} {result}")


def _set_locked(uin: str, reason: str, *, locked: bool) -> None:
    with platform() as built:
        identity = built.identity.identities.set_locked(
            actor=actor(), uin=uin, locked=locked, reason=reason
        )
        console.print(f"identity {identity.status.value}")


@identity_app.command("lock")
def identity_lock(
    uin: Annotated[str, typer.Argument(help="The UIN")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Lock an identity: no authentication succeeds until it is unlocked."""
    _set_locked(uin, reason, locked=True)


@identity_app.command("unlock")
def identity_unlock(
    uin: Annotated[str, typer.Argument(help="The UIN")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Unlock an identity."""
    _set_locked(uin, reason, locked=False)


@identity_app.command("outbox")
def identity_outbox(
    address: Annotated[str | None, typer.Option(help="Only messages to this address")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 20,
) -> None:
    """Development only: the SMS and e-mails that would have been sent."""
    with platform() as built:
        outbox = built.identity.outbox
        if outbox is None:
            errors.print("[red]error[/red] no development outbox: messages are really sent")
            raise typer.Exit(1)
        table = Table("at", "channel", "to", "text")
        for message in outbox.messages(address=address, limit=limit):
            table.add_row(
                message.created_at.isoformat(timespec="seconds"),
                message.channel,
                message.address,
                message.text,
            )
        console.print(table)


@identity_app.command("rotate-key")
def identity_rotate_key() -> None:
    """Add a new AES-256 key to the identity keystore and make it active (old keys stay).

    Restart every Baobab process so they all know it, then run `baobab identity reseal`."""
    with platform() as built:
        settings = built.settings
        path = keystore_path(settings.identity_keystore_file, data_dir=settings.data_dir)
        kid = rotate_key(built.db, path, clock=built.clock, actor=actor())
        console.print(f"key {kid} is now active in {path}")


@identity_app.command("reseal")
def identity_reseal(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
    max_rows: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rows (run again to go on)")
    ] = None,
) -> None:
    """Re-encrypt every stored personal value still under an old key with the active key.

    Resumable: a run that stops keeps what it did; the next one carries on."""
    with platform() as built:
        settings = built.settings
        cipher = load_keystore(
            settings.identity_keystore_file,
            data_dir=settings.data_dir,
            production=settings.environment == "production",
        )
        report = reseal(
            built.db, cipher, clock=built.clock, actor=actor(), batch=batch, max_rows=max_rows
        )
        table = Table("table", "examined", f"resealed under {report.key}")
        for name, examined in report.examined.items():
            table.add_row(name, str(examined), str(report.resealed[name]))
        console.print(table)


@identity_app.command("purge")
def identity_purge(
    dry_run: Annotated[bool, typer.Option(help="Only list what would be purged")] = False,
) -> None:
    """Delete the personal data of duplicate and rejected packets past their retention period
    (BAOBAB_IDENTITY_PACKET_RETENTION_DAYS); their ids, states and audit entries stay."""
    with platform() as built:
        retention = built.identity.retention
        report = retention.purge(actor=actor(), dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        console.print(
            f"{verb} {len(report.purged)} packets older than {retention.period.days} days"
        )
        for packet_id in report.purged:
            console.print(f"  {packet_id}")


def _column_mapping(specs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for spec in specs:
        field, _, column = spec.partition("=")
        if field not in FIELDS or not column:
            raise typer.BadParameter(
                f"{spec!r} is not FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}",
                param_hint="--column",
            )
        mapping[field] = column
    return mapping


@identity_app.command("dedup")
def identity_dedup(
    register: Annotated[
        Path,
        typer.Argument(
            help="CSV (header row) or JSON Lines file of people", exists=True, dir_okay=False
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write the clusters here (.csv or .jsonl)")
    ] = None,
    model_file: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A model document (MatchModel.to_json); default: learned from the file",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    match: Annotated[
        float | None,
        typer.Option(help="Match threshold in bits; default: the one for the file's size"),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="FIELD=COLUMN: read a person field from another column (repeatable)"),
    ] = None,
    given_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by extension)")
    ] = None,
) -> None:
    """Find the people registered more than once in a register file, offline.

    Prints how many records fall in clusters; --out lists them (cluster_id, record_id,
    cluster_size). Nothing is written unless the whole file is good."""
    columns = _column_mapping(column or [])
    started = time.perf_counter()
    try:
        chosen = given_format or file_format(register)
        if out is not None:
            file_format(out)
            if not out.parent.is_dir():
                raise RegisterFileError(f"--out: no directory {out.parent}")
        model = MatchModel.from_json(model_file.read_text()) if model_file else None
        with register.open("rb") as lines:
            read = read_register(lines, file_format=chosen, columns=columns)
        records = read.records
        limits = Thresholds.for_register(len(records))
        if match is not None:
            limits = Thresholds(match=match, review=min(limits.review, match))
        bar = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*bar, TimeElapsedColumn(), console=console) as progress:
            # With no model given, deduplicate learns one from the records first.
            comparing = progress.add_task("comparing", total=len(records))
            clusters = deduplicate(
                records,
                model,
                limits,
                progress=lambda done: progress.update(comparing, completed=done),
            )
        if out is not None:
            write_clusters(clusters, out)
    except RegisterFileError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from exc
    except (InvalidModel, OSError) as exc:
        errors.print(f"[red]error[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    summary = summarise(len(records), clusters)
    table = Table("", "", title=f"Deduplication of {register.name}", show_header=False)
    table.add_row("records", str(summary.records))
    table.add_row("clusters", str(summary.clusters))
    table.add_row("records in clusters", str(summary.clustered))
    table.add_row("largest cluster", str(summary.largest))
    table.add_row("model", str(model_file) if model_file else "learned from the file")
    table.add_row("match threshold", f"{limits.match:.1f} bits")
    if read.unread_columns:
        table.add_row("columns not read", escape(", ".join(read.unread_columns)))
    table.add_row("seconds", f"{time.perf_counter() - started:.1f}")
    console.print(table)
    if out is not None:
        console.print(f"clusters written to {out}")


def _print_problems(exc: RegisterFileError) -> None:
    errors.print(f"[red]error[/red] {exc.code}: {escape(exc.detail)}")
    problems = exc.extra.get("problems", [])
    for problem in problems:  # column names come from the file: no markup in them
        errors.print(f"  line {problem['line']}: {escape(problem['reason'])}")
    if exc.extra.get("problems_total", 0) > len(problems):
        errors.print(f"  ... and {exc.extra['problems_total'] - len(problems)} more")
