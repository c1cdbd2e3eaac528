"""`pulse demo` at small scale, run as a user runs it (a subprocess of the CLI): every step runs,
the headline figures it prints are what queries of the marts give, written here (plain rows,
arithmetic in Python), never the demo's own `read_summary`, and what the user sees (stdout and
stderr) holds none of Airflow's own log lines."""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.pipeline import private_airflow, pulse_environment

from pulse.local.demo import MARTS, RETENTION_WEEK, rate_ratio_interval, wilson
from pulse.orchestration import airflow_environment
from pulse.paths import DEFAULT_REPORT_PATH
from pulse.settings import Settings

Z_95 = 1.959963984540054
BRAND_TITLE = "per brand, whole period (from marts, read as pulse_bi)"


def test_wilson_interval_matches_a_hand_computed_value() -> None:
    # 10 of 100: p=0.1; Wilson 95% is about [0.0552, 0.1744] (standard tables).
    low, high = wilson(10, 100)
    assert math.isclose(low, 0.0552, abs_tol=5e-4) and math.isclose(high, 0.1744, abs_tol=5e-4)


def test_rate_ratio_interval_is_the_marts_conditional_binomial_one() -> None:
    # The lift mart's reference case (tests/unit/test_interval_references.py): 5 of 8 against
    # 4 of 40 gives [1.8180, 21.4861] around 6.25; 0 events on the first side starts at 0.
    low, high = rate_ratio_interval(5, 8, 4, 40)
    assert (round(low, 4), round(high, 4)) == (1.818, 21.4861)
    assert rate_ratio_interval(0, 10, 10, 10)[0] == 0.0


@pytest.mark.slow
def test_demo_prints_the_figures_queries_of_the_marts_give_and_no_airflow_log_lines(
    settings: Settings, tmp_path: Path
) -> None:
    # The session's Airflow (migrated once) for the demo's run; the test's database and topics.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    environment.update(airflow_environment(private_airflow()))
    environment.update(pulse_environment(settings))
    environment["COLUMNS"] = "400"  # wide: no cell of the summary is wrapped
    done = subprocess.run(
        # five weeks: week-4 retention has cohorts to show
        [sys.executable, "-m", "pulse.cli", "demo", "--events", "8000", "--days", "35"],
        cwd=tmp_path,  # the report goes to reports/ under the working directory
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
    assert_no_airflow_log_lines(done.stdout, done.stderr)
    text = done.stdout
    report = tmp_path / DEFAULT_REPORT_PATH
    assert report.exists() and f"report: {DEFAULT_REPORT_PATH}" in text
    assert settings.pg_dsn is not None
    with psycopg.connect(settings.pg_dsn.get_secret_value()) as conn:
        expected = Marts(conn)
    assert_printed_matches(text, expected)


# Airflow's own log lines, in the forms it writes them: its classic format
# ("[2026-05-01T10:00:00.123+0000] {dagrun.py:123} INFO - ..."), the structured one of Airflow 3
# ("2026-05-01T10:00:00Z [info     ] ... [airflow.models.dagrun]"), its logger names (dotted
# module paths such as airflow.models.dagrun, alembic.runtime.migration), warnings raised in
# its code and the start-up lines it logs before its logging is configured (plain messages).
# `pulse run` and `pulse demo` keep all of it in a file (orchestration/airflow_log.py).
AIRFLOW_LINE = re.compile(
    r"^\[\d{4}-\d{2}-\d{2}[T ][^\]]*\] \{"
    r"|\b(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) - "
    r"|^\S+ \[(?:debug|info|warning|error|critical)\s*\] "
    r"|(?<![\w./-])(?:airflow|alembic)\.[a-z_]+\.[a-z_]+"
    r"|/airflow/[\w/]+\.py:\d+: \w*Warning"
    r"|^Reading the config from \S*airflow\.cfg|^Configured default timezone "
)


def assert_no_airflow_log_lines(stdout: str, stderr: str) -> None:
    """No line the user sees is one of Airflow's; a JSON log line (stderr off a terminal) comes
    from a logger of this project."""
    found = []
    for line in [*stdout.splitlines(), *stderr.splitlines()]:
        if AIRFLOW_LINE.search(line):
            found.append(line)
        elif line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            logger = str(record.get("logger", "")) if isinstance(record, dict) else ""
            if logger.split(".")[0] in {"airflow", "alembic", "sqlalchemy", "airflow_sdk"}:
                found.append(line)
    assert not found, f"{len(found)} Airflow log lines in the demo's output, e.g.:\n" + "\n".join(
        found[:10]
    )


def test_the_airflow_line_pattern_knows_airflows_formats() -> None:
    airflow = [
        "[2026-05-01T10:00:00.123+0000] {dagrun.py:123} INFO - Marking run successful",
        "2026-05-01T10:00:00.123456Z [info     ] Filling up the DagBag [airflow.models.dagbag]",
        "INFO  [alembic.runtime.migration] Running upgrade",
        "/x/site-packages/airflow/configuration.py:858: FutureWarning: section/key renamed",
        '{"level": "info", "logger": "airflow.task", "message": "x"}',
        "Reading the config from /tmp/pulse-airflow-x/airflow.cfg",
        "Configured default timezone UTC",
    ]
    ours = [
        '{"time": "2026-05-01T10:00:00Z", "level": "info", "logger": '
        '"pulse.orchestration.airflow", "message": "ingest is fresh: raw holds events up to x"}',
        "run manual__2026 succeeded: logs in .pulse/logs/airflow/run-20260501T100000Z.log",
        "──────── community_metrics (Airflow dag.test) ────────",
    ]
    for line in airflow:
        with pytest.raises(AssertionError):
            assert_no_airflow_log_lines(line, "")
    assert_no_airflow_log_lines("\n".join(ours), "\n".join(ours))


# -- what the marts say, queried here ------------------------------------------------------------


class Marts:
    """The headline figures, from plain rows of raw, quality and marts."""

    def __init__(self, conn: psycopg.Connection) -> None:
        def rows(query: str, params: Any = None) -> list[tuple[Any, ...]]:
            return conn.execute(query, params).fetchall()

        self.events = rows("select count(*) from raw.community_events")[0][0]
        self.dead_letters = dict(
            rows("select reason, count(*) from raw.dead_letter_events group by reason")
        )
        self.checks = rows(
            "select count(*) filter (where success), count(*) filter (where not success) "
            "from quality.validation_results"
        )[0]
        self.mart_rows = {mart: rows(f"select count(*) from marts.{mart}")[0][0] for mart in MARTS}
        # Incidents (what the demo shows instead of alerts), from the mart BI reads.
        self.incidents = {
            kind: (opened, still_open)
            for kind, opened, still_open in rows(
                "select alert_type, count(*), count(*) filter (where status = 'open') "
                "from marts.fct_alert_incidents group by 1"
            )
        }
        # Rising topics of the latest complete week (the last day may be in progress), per brand.
        (last_day,) = rows("select max(activity_date) from marts.fct_community_daily")[0]
        weeks = [
            week
            for (week,) in rows("select distinct week_start from marts.fct_brand_topics_weekly")
            if week + timedelta(days=7) <= last_day
        ]
        self.topics_week = max(weeks) if weeks else None
        self.rising: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for brand, tag, posts in rows(
            "select brand_id, tag, posts from marts.fct_brand_topics_weekly "
            "where is_rising and week_start = %s",
            [self.topics_week],
        ):
            self.rising[brand].append((tag, posts))
        for brand, tags in self.rising.items():
            self.rising[brand] = sorted(tags, key=lambda t: (-t[1], t[0]))[:3]
        brand_of = dict(rows("select community_id, brand_id from marts.dim_community"))
        self.brands = sorted(set(brand_of.values()))
        self.open_incidents_by_brand = _count(
            brand_of.get(c)
            for (c,) in rows(
                "select community_id from marts.fct_alert_incidents where status = 'open'"
            )
        )
        self.lift_sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 4)
        for brand, *figures in rows(
            "select brand_id, micro_engagements, micro_member_post_opportunities, "
            "broad_engagements, broad_member_post_opportunities "
            "from marts.fct_brand_engagement_lift where not is_suppressed"
        ):
            for n, value in enumerate(figures):
                self.lift_sums[brand][n] += float(value or 0)
        self.retention: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for community, retained, cohort in rows(
            "select community_id, retained_members, cohort_members from marts.fct_member_retention "
            "where weeks_since_join = %s and not is_suppressed",
            [RETENTION_WEEK],
        ):
            self.retention[brand_of[community]][0] += float(retained or 0)
            self.retention[brand_of[community]][1] += float(cohort or 0)
        self.voice: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for community, share, posts, comments in rows(
            "select community_id, brand_voice_share, posts, comments "
            "from marts.fct_community_daily where brand_voice_share is not null"
        ):
            items = float(posts or 0) + float(comments or 0)
            self.voice[brand_of[community]][0] += float(share) * items
            self.voice[brand_of[community]][1] += items
        self.response_hours: dict[str, list[float]] = defaultdict(list)
        self.ideas: dict[str, dict[str, int]] = defaultdict(dict)
        for community, status, hours in rows(
            "select community_id, current_status, hours_to_first_response "
            "from marts.fct_feedback_ideas"
        ):
            brand = brand_of[community]
            self.ideas[brand][status] = self.ideas[brand].get(status, 0) + 1
            if hours is not None:
                self.response_hours[brand].append(float(hours))

    def brand_row(self, brand: str) -> dict[str, float | None]:
        """The brand's figures as the brand table shows them (None where it shows "-")."""
        micro_k, micro_n, broad_k, broad_n = self.lift_sums[brand]
        lift = low = high = None
        if micro_n and broad_n and broad_k:
            lift = (micro_k / micro_n) / (broad_k / broad_n)
            low, high = _lift_interval(micro_k, micro_n, broad_k, broad_n)
        retained, cohort = self.retention[brand]
        voiced, items = self.voice[brand]
        hours = self.response_hours[brand]
        return {
            "lift": lift,
            "low": low,
            "high": high,
            "micro share": micro_k / (micro_k + broad_k) if micro_k + broad_k else None,
            f"ret wk{RETENTION_WEEK}": retained / cohort if cohort else None,
            "voice": voiced / items if items else None,
            "resp.": statistics.median(hours) if hours else None,
            "open inc.": self.open_incidents_by_brand.get(brand, 0),
        }


def _count(values: Any) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _lift_interval(k1: float, e1: float, k2: float, e2: float) -> tuple[float, float]:
    """95% interval of (k1/e1)/(k2/e2): Wilson's interval of k1 out of k1 + k2, as odds, scaled."""
    n = k1 + k2
    p = k1 / n
    denominator = 1 + Z_95**2 / n
    centre = (p + Z_95**2 / (2 * n)) / denominator
    half = Z_95 / denominator * math.sqrt(p * (1 - p) / n + Z_95**2 / (4 * n * n))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return low / (1 - low) * e2 / e1, (high / (1 - high) * e2 / e1 if high < 1 else math.inf)


# -- what the demo printed -----------------------------------------------------------------------


def table(text: str, title: str) -> list[list[str]]:
    """The rows (header first, if shown) of the table titled `title` in rich's plain output."""
    lines = text.splitlines()
    start = next(
        n for n, line in enumerate(lines) if line.strip() and title.startswith(line.strip())
    )
    found: list[list[str]] = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped.startswith("└"):
            return found
        if stripped[:1] in ("│", "┃"):
            cells = [cell.strip() for cell in re.split("[│┃]", stripped)[1:-1]]
            if found and not cells[0]:  # a wrapped cell goes on in the next line
                found[-1] = [f"{a} {b}".strip() for a, b in zip(found[-1], cells, strict=True)]
            else:
                found.append(cells)
    raise AssertionError(f"no end of table {title!r} in:\n{text}")


def counts(cell: str) -> dict[str, int]:
    """ "a 1,234, b 5" -> {"a": 1234, "b": 5}; "none" -> {}."""
    if cell == "none":
        return {}
    pairs = (item.rsplit(" ", 1) for item in cell.split(", "))
    return {name: int(value.replace(",", "")) for name, value in pairs}


def number(cell: str, suffix: str = "") -> float | None:
    if cell == "-":
        return None
    assert cell.endswith(suffix), cell
    return float(cell.removesuffix(suffix))


def assert_shown(cell: str, value: float | None, *, scale: float = 1.0, suffix: str = "") -> None:
    """The cell shows `value` to the precision printed (half a unit of its last digit)."""
    shown = number(cell, suffix)
    if value is None or shown is None:
        assert shown is None and value is None, (cell, value)
        return
    decimals = len(cell.removesuffix(suffix).partition(".")[2])
    assert abs(shown - value * scale) <= 0.5 * 10**-decimals + 1e-9, (cell, value)


def assert_printed_matches(text: str, marts: Marts) -> None:
    ingest = dict(table(text, "ingest"))
    assert int(ingest["events in raw (after erasures)"].replace(",", "")) == marts.events
    assert marts.events > 5000
    assert counts(ingest["dead letters"]) == marts.dead_letters
    passed, failed = marts.checks
    assert ingest["quality checks"] == f"{passed:,} passed, {failed:,} failed"
    assert passed > 0 and failed == 0
    assert counts(ingest["marts rows"]) == marts.mart_rows
    assert all(marts.mart_rows.values()), marts.mart_rows
    incidents = {
        kind: (int(opened), int(still_open))
        for kind, opened, still_open in re.findall(
            r"(\w+) (\d+) \((\d+) open\)", ingest["incidents opened"]
        )
    }
    assert incidents == marts.incidents
    assert marts.incidents, "the generated communities open incidents"

    header, *rows = table(text, BRAND_TITLE)
    retention = f"ret wk{RETENTION_WEEK}"
    assert header == [
        "brand",
        "lift",
        "95% CI",
        "micro share",
        retention,
        "voice",
        "resp.",
        "open inc.",
    ]
    shown = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert sorted(shown) == marts.brands
    for brand, cells in shown.items():
        want = marts.brand_row(brand)
        assert_shown(cells["lift"], want["lift"], suffix="x")
        if want["lift"] is None:
            assert cells["95% CI"] == "-"
        else:
            low, _, high = cells["95% CI"].partition("-")
            assert_shown(low, want["low"])
            assert_shown(high, want["high"])
            assert float(low) <= float(cells["lift"][:-1]) <= float(high)
        for name in ("micro share", retention, "voice"):
            assert_shown(cells[name], want[name], scale=100, suffix="%")
        assert_shown(cells["resp."], want["resp."], suffix=" h")
        assert int(cells["open inc."]) == want["open inc."]
    for name in ("lift", retention, "voice", "resp."):  # no column is "-" everywhere
        assert any(marts.brand_row(b)[name] is not None for b in marts.brands), name

    assert marts.rising, "the generated trends rise in the latest complete week"
    header, *rows = table(text, f"rising topics, week of {marts.topics_week:%Y-%m-%d}")
    assert header == ["brand", "tags (posts that week)"]
    printed = {row[0]: row[1] for row in rows}
    assert sorted(printed) == marts.brands
    for brand in marts.brands:
        want = ", ".join(f"{tag} ({posts})" for tag, posts in marts.rising.get(brand, []))
        assert printed[brand] == (want or "-"), brand

    header, *rows = table(text, "ideas by current status")
    statuses = [status.replace(" ", "_") for status in header[1:]]
    ideas = {row[0]: dict(zip(statuses, map(int, row[1:]), strict=True)) for row in rows}
    assert sorted(ideas) == marts.brands
    for brand in marts.brands:
        assert {s: n for s, n in ideas[brand].items() if n} == marts.ideas[brand]
