"""A run never halts on valid data, and an incremental run equals a full refresh on any of it.

Hypothesis draws a few hundred *streams* (tests/integration/_event_streams.py: the events of one
brand, its 1-3 communities and their members, in every shape the inbound contract allows: members
who never joined, leaves without joins, re-joins, removals of reactions never added, votes on
unknown ideas, erasures before and after the member's activity, duplicates, re-sends, late
batches, odd UTC offsets, days and weeks cut at UTC midnight ...). To keep the suite fast they all
go into ONE warehouse, each under its own brand and communities. As the pipeline would see them
arrive: the first load batch of three streams in four arrives first and is built (a full build
into a build schema, its marts gate, promote); then every later batch (late events, re-votes,
erasures, re-sends) and the fourth stream arrive and are built incrementally from that build,
and that build goes through its marts gate too. Finally a full refresh is built from the same
raw, and every row of all seven marts of the incremental build must equal it: late batches are
exactly the shape that finds incremental bugs.

When dbt or a gate fails, or a mart differs from the full refresh, the message names each failing
test, expectation or mart, the streams (brand / community ids `sNNN-...`) its rows belong to,
and prints the smallest failing streams as JSON lines, ready to become a fixture (all of them
are written to a file too). The Hypothesis seed is printed: `PULSE_GENERATIVE_SEED=<seed>` draws
the very same streams again (`PULSE_GENERATIVE_STREAMS` changes how many).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from psycopg import sql
from psycopg.rows import dict_row
from support.event_streams import (
    OFFSETS,
    OPTIONAL_UPSERT_FIELDS,
    Stream,
    brand_id,
    community_id,
    compact_lines,
    event_id,
    materialize,
    prefix_of,
    streams,
)
from support.warehouse import load_raw

from pulse.errors import PulseError
from pulse.maintenance.erasure import apply_erasures
from pulse.orchestration.build_plan import BuildPlan, plan_build, record_build, with_deletions
from pulse.orchestration.dbt import run_dbt
from pulse.orchestration.steps import dbt_build_args
from pulse.publishing.promote import build_schema_name, promote
from pulse.quality import GateResult, GateSettings, Outcome, copy_project, rules, run_marts_gate
from pulse.settings import Settings
from pulse.warehouse.names import MARTS
from streaming.contracts import EVENT_TYPES, INBOUND_ADAPTER, CommunityUpserted
from streaming.decode import Decoder, EventRow
from streaming.privacy import Pseudonymizer

STREAMS = int(os.environ.get("PULSE_GENERATIVE_STREAMS", "210"))
SHOWN_STREAMS = 3  # failing streams printed in full in the message (the smallest ones)
SHOWN_EVENTS = 150  # events printed per stream

_COLLECT_SETTINGS = hypothesis_settings(
    max_examples=STREAMS,
    deadline=None,
    database=None,
    # No shrinking: the examples are only collected here; the assertion comes after the build.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


def collect_streams(count: int, hypothesis_seed: int) -> list[Stream]:
    """`count` streams drawn by Hypothesis, deterministically for a given seed."""
    drawn: list[Stream] = []

    @seed(hypothesis_seed)
    @hypothesis_settings(_COLLECT_SETTINGS, max_examples=count)
    @given(streams())
    def collect(stream: Stream) -> None:
        drawn.append(stream)

    collect()
    return drawn


def prefix(number: int) -> str:
    return f"s{number:03d}"


# -- where failing rows come from ---------------------------------------------------------------


@dataclass
class Failure:
    """One failing dbt test or gate expectation, and the streams its rows belong to."""

    source: str  # "dbt" or "gate"
    name: str
    detail: str
    rows: int | None = None
    streams: Counter[str] = field(default_factory=Counter)
    note: str = ""

    def lines(self) -> list[str]:
        where = ", ".join(f"{p} ({n})" for p, n in self.streams.most_common(12))
        more = len(self.streams) - 12
        where += f", ... {more} more" if more > 0 else ""
        rows = f"{self.rows:,} rows" if self.rows is not None else "rows unknown"
        text = [f"  x [{self.source}] {self.name}", f"      {self.detail}"]
        text.append(
            f"      {rows} in {len(self.streams)} stream(s): {where}"
            if self.streams
            else f"      {rows}; not traced to a stream {self.note}".rstrip()
        )
        return text


STREAM_COLUMNS = ("community_id", "brand_id")


def streams_of(rows: Iterable[dict[str, Any]], known: set[str]) -> Counter[str]:
    """How many rows name each stream (through their community or brand id)."""
    found: Counter[str] = Counter()
    for row in rows:
        prefixes = {
            prefix_of(str(row[column]))
            for column in STREAM_COLUMNS
            if row.get(column) is not None and prefix_of(str(row[column])) in known
        }
        found.update(prefixes)
    return found


def _parameter(value: Any, gate_settings: GateSettings) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name == rules.PARAM_MIN_GROUP_SIZE:
            return gate_settings.min_group_size
        raise KeyError(name)
    return value


def _row_condition(kwargs: dict[str, Any]) -> sql.Composable | None:
    """The SQL of a GX row_condition like `is_suppressed == False` (the kind the suites use)."""
    condition = kwargs.get("row_condition")
    if not condition:
        return None
    if isinstance(condition, dict) and condition.get("type") == "comparison":
        column = (condition.get("column") or {}).get("name")
        operator = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}.get(
            condition.get("operator", "")
        )
        if column and operator:
            return sql.SQL("{} {} {}").format(
                sql.Identifier(column), sql.SQL(operator), sql.Literal(condition.get("parameter"))
            )
    raise ValueError(f"row condition not understood: {condition!r}")


def unexpected_rows_query(outcome: Outcome, gate_settings: GateSettings) -> sql.Composable | None:
    """SELECT of the rows of the build's mart that fail `outcome`'s expectation (None: a kind
    of expectation this translation does not know)."""
    kwargs = outcome.kwargs
    table = sql.Identifier(outcome.data_asset)
    if outcome.expectation == "unexpected_rows_expectation":
        query = kwargs["unexpected_rows_query"].replace("{batch}", f'"{outcome.data_asset}"')
        return sql.SQL(query)
    conditions: list[sql.Composable] = []
    if outcome.expectation == "expect_column_values_to_be_between":
        column = sql.Identifier(kwargs["column"])
        bounds = []
        low = _parameter(kwargs.get("min_value"), gate_settings)
        high = _parameter(kwargs.get("max_value"), gate_settings)
        if low is not None:
            bounds.append(
                sql.SQL("{} {} {}").format(
                    column, sql.SQL("<=" if kwargs.get("strict_min") else "<"), sql.Literal(low)
                )
            )
        if high is not None:
            bounds.append(
                sql.SQL("{} {} {}").format(
                    column, sql.SQL(">=" if kwargs.get("strict_max") else ">"), sql.Literal(high)
                )
            )
        conditions.append(sql.SQL("({})").format(sql.SQL(" or ").join(bounds)))
    elif outcome.expectation == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = sql.Identifier(kwargs["column_A"]), sql.Identifier(kwargs["column_B"])
        operator = sql.SQL(">=" if kwargs.get("or_equal") else ">")
        conditions.append(sql.SQL("not ({} {} {})").format(a, operator, b))
    elif outcome.expectation == "expect_column_values_to_not_be_null":
        conditions.append(sql.SQL("{} is null").format(sql.Identifier(kwargs["column"])))
    elif outcome.expectation == "expect_column_values_to_be_in_set":
        conditions.append(
            sql.SQL("{} is not null and not ({} = any({}))").format(
                sql.Identifier(kwargs["column"]),
                sql.Identifier(kwargs["column"]),
                sql.Literal(list(kwargs["value_set"])),
            )
        )
    elif outcome.expectation in (
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    ):
        columns = kwargs.get("column_list") or [kwargs["column"]]
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        conditions.append(
            sql.SQL("({}) in (select {} from {} group by {} having count(*) > 1)").format(
                names, names, table, names
            )
        )
    else:
        return None
    condition = _row_condition(kwargs)
    if condition is not None:
        conditions.append(condition)
    return sql.SQL("select * from {} where {}").format(table, sql.SQL(" and ").join(conditions))


def gate_failures(
    dsn: str, build: str, result: GateResult, gate_settings: GateSettings, known: set[str]
) -> list[Failure]:
    failures = []
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        conn.execute("set transaction read only")
        conn.execute("select set_config('search_path', %s, true)", [build])
        for outcome in result.failed:
            failure = Failure(
                source="gate",
                name=f"{outcome.suite}: {outcome.expectation}"
                + (f" ({outcome.column})" if outcome.column else ""),
                detail=f"{outcome.rule or ''} -> {outcome.describe_observed()}",
            )
            if outcome.exception_message:
                failure.note = "(the expectation raised)"
                failures.append(failure)
                continue
            try:
                query = unexpected_rows_query(outcome, gate_settings)
            except (KeyError, ValueError) as error:
                query, failure.note = None, f"({error})"
            if query is not None:
                with conn.transaction():
                    rows = conn.execute(query).fetchall()
                failure.rows = len(rows)
                failure.streams = streams_of(rows, known)
            failures.append(failure)
    return failures


def dbt_failures(dsn: str, target: Path, known: set[str]) -> list[Failure]:
    """The failing or erroring nodes of the last dbt invocation (run_results.json), each with
    the streams its failing rows belong to."""
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError, KeyError):
        return []
    failures = []
    for item in results:
        if item.get("status") not in ("fail", "error", "runtime error"):
            continue
        node = manifest["nodes"].get(item["unique_id"], {})
        failure = Failure(
            source="dbt",
            name=f"{item['status']}: {item['unique_id']}",
            detail=" ".join(str(item.get("message") or "").split())[:300],
            rows=item.get("failures"),
        )
        compiled = item.get("compiled_code") or node.get("compiled_code")
        if node.get("resource_type") == "test" and compiled:
            failure.streams, note = _dbt_test_streams(dsn, node, compiled, manifest, known)
            failure.note = note
        failures.append(failure)
    return failures


def _dbt_test_streams(
    dsn: str, node: dict[str, Any], compiled: str, manifest: dict[str, Any], known: set[str]
) -> tuple[Counter[str], str]:
    """Streams of a failing dbt test's rows; via the tested model's rows holding the failing
    column values when the test's own rows name no community or brand."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        conn.execute("set transaction read only")
        try:
            rows = conn.execute(sql.SQL(f"select * from ({compiled}) as failing")).fetchall()
        except psycopg.Error as error:
            return Counter(), f"(could not re-run the test: {str(error).splitlines()[0]})"
        found = streams_of(rows, known)
        if found or not rows:
            return found, ""
        column = node.get("column_name") or (node.get("test_metadata") or {}).get("kwargs", {}).get(
            "column_name"
        )
        model = manifest["nodes"].get(node.get("attached_node") or "", {})
        relation = model.get("relation_name")
        if not column or not relation or column not in rows[0]:
            return Counter(), "(the test's rows name no community or brand)"
        values = [row[column] for row in rows]
        keys = [c for c in STREAM_COLUMNS if c in model.get("columns", {})] or ["community_id"]
        query = sql.SQL("select {} from {} where {} = any(%s) or ({} is null and %s)").format(
            sql.SQL(", ").join(map(sql.Identifier, keys)),
            sql.SQL(relation),
            sql.Identifier(column),
            sql.Identifier(column),
        )
        try:
            model_rows = conn.execute(
                query, [[v for v in values if v is not None], None in values]
            ).fetchall()
        except psycopg.Error as error:
            return Counter(), f"(could not trace: {str(error).splitlines()[0]})"
        return streams_of(model_rows, known), f"(traced through {relation}.{column})"


# -- the test -----------------------------------------------------------------------------------


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, started: float) -> None:
        self.seconds[name] = time.perf_counter() - started

    def line(self) -> str:
        return ", ".join(f"{name} {value:.1f} s" for name, value in self.seconds.items())


# Small, so that the incremental build's window starts after the first load (seconds before).
ARRIVAL_MARGIN_S = 0.5


def phases(drawn: list[Stream]) -> list[list[list[bytes]]]:
    """The streams' load batches in two phases: the first batch of three streams in four, then
    everything else (later batches, and every batch of the fourth stream). Within a phase,
    batch n of all its streams is one load transaction."""
    loads: list[list[list[bytes]]] = [[], []]
    for number, stream in enumerate(drawn):
        for position, messages in enumerate(materialize(stream, prefix(number))):
            phase = 1 if number % 4 == 3 or position > 0 else 0
            slot = position - 1 if phase == 1 and number % 4 != 3 else position
            while len(loads[phase]) <= slot:
                loads[phase].append([])
            loads[phase][slot].extend(messages)
    return loads


def load_batches(dsn: str, batches: list[list[bytes]], settings: Settings, offset: int) -> int:
    """Each batch in its own transaction (its own ingested_at); returns rows inserted."""
    inserted = 0
    for batch in batches:
        # load_raw decodes every message as the consumer does and asserts it is an EventRow.
        inserted += load_raw(dsn, batch, settings, first_offset=offset)
        offset += len(batch)
    return inserted


@dataclass
class Built:
    """One build as the pipeline's dbt_build step makes it, and its marts gate."""

    build: str
    plan: BuildPlan
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    gate: GateResult | None = None


def build_and_gate(
    dsn: str,
    settings: Settings,
    gate_settings: GateSettings,
    run_id: str,
    known: set[str],
    target: Path,
    *,
    full_refresh: bool = False,
    gate: bool = True,
) -> Built:
    """The dbt_build step's sequence (erasures, plan, `dbt build`, watermark, erasures), kept
    here with its own dbt target so that failing nodes can be traced, then the marts gate and,
    when it passes, promote (the next build starts from it)."""
    time.sleep(ARRIVAL_MARGIN_S * 2)
    build = build_schema_name(run_id)
    apply_erasures(dsn, run_id=run_id)
    plan = with_deletions(dsn, plan_build(dsn, settings, full_refresh=full_refresh))
    built = Built(build, plan)
    try:
        run_dbt(dbt_build_args(settings, build, plan), dsn, settings, target_path=target)
    except PulseError as error:
        built.errors.append(f"{plan.mode} build: {error}")  # "dbt build failed: <first>"
        built.failures += dbt_failures(dsn, target, known)
        return built
    record_build(dsn, build_schema=build, run_id=run_id, plan=plan)
    apply_erasures(dsn, run_id=run_id)
    if not gate:
        return built
    try:
        built.gate = run_marts_gate(
            dsn,
            run_id=run_id,
            build_schema=build,
            gate_settings=gate_settings,
            base_build=plan.base_build,
        )
    except PulseError as error:  # e.g. dbt stopped before building every mart
        built.errors.append(f"marts gate of the {plan.mode} build could not run: {error}")
        return built
    if built.gate.success:
        promote(dsn, run_id=run_id, build_schema=build)
    else:
        built.failures += gate_failures(dsn, build, built.gate, gate_settings, known)
    return built


def mart_differences(dsn: str, left: str, right: str, known: set[str]) -> list[Failure]:
    """One Failure per mart whose rows differ between two builds, traced to streams."""
    failures = []
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        for mart in MARTS:
            a, b = sql.Identifier(left, mart), sql.Identifier(right, mart)
            only = conn.execute(
                sql.SQL(
                    "(select 'incremental' as build, * from (table {} except table {}) as x) "
                    "union all (select 'full refresh', * from (table {} except table {}) as y)"
                ).format(a, b, b, a)
            ).fetchall()
            if only:
                failures.append(
                    Failure(
                        source="incremental",
                        name=f"{mart} differs from a full refresh",
                        # Whole rows: the column that differs may be any of them.
                        detail="; ".join(f"{row['build']}: {dict(row)}" for row in only[:2]),
                        rows=len(only),
                        streams=streams_of(only, known),
                    )
                )
    return failures


@pytest.mark.integration
@pytest.mark.slow
def test_dbt_build_and_marts_gate_pass_on_any_valid_event_streams(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    hypothesis_seed = int(os.environ.get("PULSE_GENERATIVE_SEED") or secrets.randbelow(2**32))
    reproduce = (
        f"hypothesis seed {hypothesis_seed}: reproduce with PULSE_GENERATIVE_SEED="
        f"{hypothesis_seed} PULSE_GENERATIVE_STREAMS={STREAMS} .venv/bin/pytest "
        "tests/integration/dbt/test_dbt_generative.py"
    )
    timings = Timings()
    settings = settings.model_copy(update={"pipeline_arrival_margin_s": ARRIVAL_MARGIN_S})

    started = time.perf_counter()
    drawn = collect_streams(STREAMS, hypothesis_seed)
    timings.measure("drawing", started)
    assert len(drawn) >= min(STREAMS, 200), len(drawn)
    known = {prefix(number) for number in range(len(drawn))}
    by_prefix = {prefix(number): stream for number, stream in enumerate(drawn)}
    first_loads, later_loads = phases(drawn)
    sent = sum(len(batch) for batch in first_loads + later_loads)
    distinct = len({event_id(prefix(n), e.serial) for n, s in enumerate(drawn) for e in s.events})
    gate_settings = replace(
        GateSettings.from_settings(settings), project_dir=copy_project(tmp_path / "gx")
    )
    run_id = f"generative__{hypothesis_seed}"

    first_distinct = len({json.loads(v)["event_id"] for batch in first_loads for v in batch})
    started = time.perf_counter()
    inserted = first_inserted = load_batches(pg_dsn, first_loads, settings, 0)
    timings.measure("loading", started)
    started = time.perf_counter()
    first = build_and_gate(
        pg_dsn, settings, gate_settings, f"{run_id}_1", known, tmp_path / "dbt-1"
    )
    timings.measure("full build + gate", started)
    builds = [first]
    if not first.errors and first.gate is not None and first.gate.success:
        started = time.perf_counter()
        inserted += load_batches(pg_dsn, later_loads, settings, sent)
        timings.measure("loading the rest", started)
        started = time.perf_counter()
        builds.append(
            build_and_gate(
                pg_dsn, settings, gate_settings, f"{run_id}_2", known, tmp_path / "dbt-2"
            )
        )
        timings.measure("incremental build + gate", started)
        started = time.perf_counter()
        builds.append(
            build_and_gate(
                pg_dsn,
                settings,
                gate_settings,
                f"{run_id}_3",
                known,
                tmp_path / "dbt-3",
                full_refresh=True,
                gate=False,
            )
        )
        timings.measure("full refresh", started)
    # Raw keeps one row per event id: the duplicates (same event_id) are dropped on ingest. (A
    # copy of an erased member's event that arrives after the erasure is stored again, then
    # erased as a late arrival: the total may exceed the distinct ids.)
    assert first_inserted == first_distinct, (first_inserted, first_distinct)
    assert inserted >= distinct or len(builds) == 1, (inserted, distinct)

    failures = [failure for built in builds for failure in built.failures]
    errors = [error for built in builds for error in built.errors]
    if len(builds) == 3 and not errors:
        incremental, full = builds[1], builds[2]
        assert incremental.plan.incremental and incremental.plan.base_build == first.build
        assert not full.plan.incremental
        failures += mart_differences(pg_dsn, incremental.build, full.build, known)

    summary = (
        f"{len(drawn)} streams, {sent:,} messages ({distinct:,} distinct event ids) in "
        f"{len(first_loads)} + {len(later_loads)} load batches; {timings.line()}"
    )
    print(f"generative marts test: {summary}; {reproduce}")  # shown with -s or -rP
    gates = [built.gate for built in builds if built.gate is not None]
    if not errors and not failures and all(gate.success for gate in gates) and len(builds) == 3:
        return

    lines = [f"a run halted on valid data, or differs from a full refresh ({summary})", reproduce]
    lines.extend(errors)
    for gate in gates:
        if not gate.success:
            lines.extend(gate.summary_lines(max_failures=40)[:1])
    for failure in failures:
        lines.extend(failure.lines())
    lines.extend(_failing_streams(failures, by_prefix, tmp_path / "failing-streams.jsonl"))
    pytest.fail("\n".join(lines), pytrace=False)


def _failing_streams(
    failures: list[Failure], by_prefix: dict[str, Stream], path: Path
) -> list[str]:
    """The smallest failing streams as JSON lines (at least one per failing check while there is
    room), and every failing stream written to `path`."""
    failing: dict[str, list[str]] = defaultdict(list)
    for failure in failures:
        for name in failure.streams:
            failing[name].append(failure.name)
    if not failing:
        return ["  (no failing row was traced to a stream)"]

    def size(name: str) -> int:
        return len(by_prefix[name].events)

    chosen: list[str] = []
    for failure in failures:  # the smallest stream of each failing check first
        if failure.streams and len(chosen) < SHOWN_STREAMS:
            smallest = min(failure.streams, key=size)
            if smallest not in chosen:
                chosen.append(smallest)
    for name in sorted(failing, key=size):
        if len(chosen) >= SHOWN_STREAMS:
            break
        if name not in chosen:
            chosen.append(name)

    with path.open("w") as out:
        for name in sorted(failing):
            out.write(f"# fails: {'; '.join(failing[name])}\n")
            out.write("\n".join(compact_lines(by_prefix[name], name, limit=10**9)) + "\n")
    lines = [
        f"{len(failing)} failing stream(s), all written to {path}; the smallest "
        f"({', '.join(chosen)}):"
    ]
    for name in chosen:
        lines.append(f"# fails: {'; '.join(failing[name])}")
        lines.extend(compact_lines(by_prefix[name], name, limit=SHOWN_EVENTS))
    return lines


# -- the strategy itself (pure Python) ----------------------------------------------------------


_DECODER = Decoder(Pseudonymizer("strategy-check-key"), timedelta(minutes=5))


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(streams())
def test_drawn_streams_hold_only_contract_valid_events(stream: Stream) -> None:
    """What the strategy draws is valid under the inbound contract, decodes into a raw row as
    the consumer would, and stays inside its stream's ids."""
    name = "s042"
    sent: dict[str, bytes] = {}
    upserted_brands = set()
    communities = {community_id(name, local) for local, _ in stream.communities}
    assert len(communities) == len(stream.communities)
    for batch in materialize(stream, name):
        for offset, value in enumerate(batch):
            event = INBOUND_ADAPTER.validate_json(value)
            row = _DECODER.decode("test.events", 0, offset, None, value)
            assert isinstance(row, EventRow), row
            assert event.community_id in communities
            assert prefix_of(event.community_id) == name
            if event.event_type == "community.upserted":
                upserted_brands.add(event.payload.brand_id)
            # One event id, one content: a duplicate is the very same message.
            assert sent.setdefault(row.event_id, value) == value
    assert upserted_brands <= {brand_id(name)}


def test_drawn_streams_cover_the_shapes_the_marts_must_survive() -> None:
    """200 streams hold every event type and the awkward cases the generative test is for, so
    the strategy cannot silently lose one (pure Python, ~5 s)."""
    drawn = collect_streams(200, hypothesis_seed=20_260_302)
    types = Counter(event.event_type for stream in drawn for event in stream.events)
    assert set(types) == EVENT_TYPES, set(EVENT_TYPES) - set(types)

    offsets = {event.offset for stream in drawn for event in stream.events}
    assert offsets == set(OFFSETS)
    midnights = [
        event
        for stream in drawn
        for event in stream.events
        if abs(event.at - event.at.replace(hour=0, minute=0, second=0, microsecond=0))
        < timedelta(seconds=2)
    ]
    assert any(event.at.weekday() == 0 for event in midnights)
    assert any(event.at.weekday() == 6 for event in midnights)  # just before a Monday

    shapes: Counter[str] = Counter()
    for stream in drawn:
        events = stream.events
        kinds = {kind for _, kind in stream.communities}
        shapes.update(f"kind:{kind}" for kind in kinds)
        shapes[f"communities:{len(stream.communities)}"] += 1
        shapes["no platform" if stream.platform is None else "platform"] += 1
        shapes[f"batches:{stream.batches}"] += 1
        serials = Counter(event.serial for event in events)
        if any(count > 1 for count in serials.values()):
            shapes["same event_id twice"] += 1
        contents = Counter(
            (e.event_type, e.at, e.community, e.member, json.dumps(e.payload, sort_keys=True))
            for e in events
        )
        if len(contents) < len(serials):
            shapes["same content, new event_id"] += 1
        if any(e.batch > 0 for e in events) and _late(events):
            shapes["late event"] += 1
        upserts = Counter(e.community for e in events if e.event_type == "community.upserted")
        if len(upserts) < len(stream.communities):
            shapes["community never upserted"] += 1
        if any(count > 1 for count in upserts.values()):
            shapes["several upserts"] += 1
        kinds_sent = defaultdict(set)
        for e in events:
            if e.event_type == "community.upserted":
                kinds_sent[e.community].add(e.payload["kind"])
        if any(len(sent) > 1 for sent in kinds_sent.values()):
            shapes["community re-classified"] += 1
        shapes.update(_member_shapes(events))
        weeks = (max(e.at for e in events) - min(e.at for e in events)).days // 7 + 1
        shapes[f"weeks:{min(weeks, 10)}"] += 1

    expected = {
        "kind:micro",
        "kind:broad",
        "communities:1",
        "communities:3",
        "no platform",
        "platform",
        "batches:1",
        "batches:4",
        "same event_id twice",
        "same content, new event_id",
        "late event",
        "community never upserted",
        "several upserts",
        "community re-classified",
        "weeks:1",
        "weeks:10",
        "acts without a join",
        "leaves without a join",
        "joins while a member",
        "rejoins after leaving",
        "erased before acting",
        "erased after acting",
        "more removals than additions",
        "reacts to one post with several kinds",
        "comments many times",
        "reply to a comment",
        "reaction to an unknown post",
        "comment on an unknown post",
        "vote on an unknown idea",
        "re-vote",
        "status of an unknown idea",
        "brand author",
        "moderator author",
        "tiny community",
        "large community",
    }
    assert expected <= set(shapes), sorted(expected - set(shapes))

    # Optional payload fields the contract has are drawn, sometimes.
    upserts = [e.payload for s in drawn for e in s.events if e.event_type == "community.upserted"]
    for name in OPTIONAL_UPSERT_FIELDS & set(CommunityUpserted.model_fields):
        assert any(name in payload for payload in upserts), name
        assert any(name not in payload for payload in upserts), name


def _late(events: tuple[Any, ...]) -> bool:
    """Some event of a later batch occurred before one of an earlier batch."""
    earliest_late = min((e.at for e in events if e.batch > 0), default=None)
    latest_first = max((e.at for e in events if e.batch == 0), default=None)
    return bool(earliest_late and latest_first and earliest_late < latest_first)


def _member_shapes(events: tuple[Any, ...]) -> set[str]:
    shapes = set()
    by_member: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.at):
        if event.member is not None:
            by_member[(event.community, event.member)].append(event)
    members_per_community = Counter(community for community, _ in by_member)
    if any(count < 5 for count in members_per_community.values()):
        shapes.add("tiny community")
    if any(count >= 40 for count in members_per_community.values()):
        shapes.add("large community")
    known_posts = {e.payload["post_id"] for e in events if e.event_type == "post.created"}
    known_ideas = {e.payload["idea_id"] for e in events if e.event_type == "feedback.submitted"}
    for timeline in by_member.values():
        types = [e.event_type for e in timeline]
        memberships = [t for t in types if t in ("member.joined", "member.left")]
        if "member.joined" not in types and any(t not in ("member.left",) for t in types):
            shapes.add("acts without a join")
        if memberships[:1] == ["member.left"]:
            shapes.add("leaves without a join")
        pairs = list(itertools.pairwise(memberships))
        if ("member.joined", "member.joined") in pairs:
            shapes.add("joins while a member")
        if ("member.left", "member.joined") in pairs and "member.joined" in memberships[:1]:
            shapes.add("rejoins after leaving")
        if "member.erased" in types:
            first = types.index("member.erased")
            shapes.add("erased before acting" if first == 0 else "erased after acting")
        reactions: Counter[tuple[str, str]] = Counter()
        kinds: dict[str, set[str]] = defaultdict(set)
        votes: Counter[str] = Counter()
        for e in timeline:
            p = e.payload
            if e.event_type == "reaction.added":
                reactions[(p["target_type"], p["target_id"])] += 1
                kinds[p["target_id"]].add(p["reaction"])
                if p["target_type"] == "post" and p["target_id"] not in known_posts:
                    shapes.add("reaction to an unknown post")
            elif e.event_type == "reaction.removed":
                reactions[(p["target_type"], p["target_id"])] -= 1
            elif e.event_type == "comment.created":
                if p.get("parent_comment_id"):
                    shapes.add("reply to a comment")
                if p["post_id"] not in known_posts:
                    shapes.add("comment on an unknown post")
                if p["author_role"] == "brand":
                    shapes.add("brand author")
            elif e.event_type == "post.created" and p["author_role"] != "member":
                shapes.add(f"{p['author_role']} author")
            elif e.event_type == "feedback.voted":
                votes[p["idea_id"]] += 1
                if p["idea_id"] not in known_ideas:
                    shapes.add("vote on an unknown idea")
            elif e.event_type == "feedback.status_changed" and p["idea_id"] not in known_ideas:
                shapes.add("status of an unknown idea")
        if any(count < 0 for count in reactions.values()):
            shapes.add("more removals than additions")
        if any(len(k) >= 3 for k in kinds.values()):
            shapes.add("reacts to one post with several kinds")
        if types.count("comment.created") >= 5:
            shapes.add("comments many times")
        if any(count > 1 for count in votes.values()):
            shapes.add("re-vote")
    return shapes
