"""`pulse report` on a real warehouse, looked at in headless Chromium.

Two ways to put marts behind `marts` for `pulse_bi`:

- fast (default): each mart's table is created in a build schema from its dbt contract (column
  names and types read from the marts' yml, so the fixture cannot drift from the models), filled
  with a few weeks of hand-made figures, and exposed through `marts` views granted to pulse_bi
  the way `pulse.publishing.promote` does it. Dead letters are written to raw.
- slow: the real pipeline on generated events (generator -> decode -> raw, dbt build into a build
  schema, marts gate, promote), about a minute and a half on a 2-core machine.

Either way the report is built (marts read after SET ROLE pulse_bi) and opened in headless
Chromium: a screenshot is taken, and the DOM after the page's own script ran says whether every
chart drew its data points and whether any script error happened.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pulse.paths import REPO_ROOT
from pulse.report import COLUMNS_READ, ReportError, build_report
from pulse.settings import Settings

pytestmark = [pytest.mark.integration]

MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"
BUILD = "build_report_fixture"
LAST_DAY = date(2026, 3, 29)  # a Sunday: five whole ISO weeks end here
DAYS = 35
CHROMIUM_MISSING = "headless Chromium not installed; .ci/run installs Debian's chromium"
CHARTS = (
    "engagement_rate",
    "engagement_micro_vs_broad",
    "lift",
    "retention",
    "brand_voice",
    "feedback_funnel",
    "feedback_status",
    "response_times",
    "sentiment",
    "dead_letters",
)


# -- marts from their contracts ------------------------------------------------------------------


def mart_contracts() -> dict[str, list[tuple[str, str]]]:
    """Column names and types of every mart, as its dbt contract states them."""
    contracts: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(MARTS_DIR.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            contracts[model["name"]] = [(c["name"], c["data_type"]) for c in model["columns"]]
    return contracts


COMMUNITIES = (
    # community_id, brand_id, name, kind, members
    ("acme.micro.trail", "acme", "Acme Trail Runners", "micro", 40),
    ("acme.micro.yoga", "acme", "Acme Sunrise Yoga", "micro", 28),
    ("acme.broad.fans", "acme", "Acme Fans", "broad", 600),
    ("bloom.micro.ferns", "bloom", "Bloom Fern Friends", "micro", 35),
    ("bloom.micro.bonsai", "bloom", "Bloom Bonsai Circle", "micro", 22),
    ("bloom.broad.support", "bloom", "Bloom Support", "broad", 450),
)


def _days() -> list[date]:
    return [LAST_DAY - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]


def _wave(n: int, k: int, amplitude: float) -> float:
    return amplitude * math.sin(n / 2.3 + k)


def fixture_rows() -> dict[str, list[dict[str, Any]]]:
    """A few weeks of plausible figures: micro groups engage ~6x more, one broad channel turns
    sour in the last three days, one small group is suppressed on its quiet days."""
    rows: dict[str, list[dict[str, Any]]] = {mart: [] for mart in COLUMNS_READ}
    first = _days()[0]
    for k, (cid, brand, name, kind, members) in enumerate(COMMUNITIES):
        rows["dim_community"].append(
            {
                "community_id": cid,
                "brand_id": brand,
                "community_name": name,
                "community_kind": kind,
                "is_suppressed": False,
                "members_current": members,
                "first_event_on": first,
            }
        )
        micro = kind == "micro"
        for n, day in enumerate(_days()):
            suppressed = cid == "bloom.micro.bonsai" and n % 9 == 4
            soured = cid == "acme.broad.fans" and n >= DAYS - 3
            posts = (4 if micro else 20) + n % 3
            comments = (8 if micro else 30) + (n * 7 + k) % 5
            rate = (0.08 if micro else 0.013) * (1 + _wave(n, k, 0.25))
            negative = 0.8 if soured else 0.18 + _wave(n, k, 0.06)
            brand_items = round((0.62 if cid == "acme.micro.yoga" else 0.12) * (posts + comments))
            figures = {
                "posts": posts,
                "comments": comments,
                "members_at_start": members,
                "engagements": round(rate * posts * members),
                "engagements_per_post": round(rate * members, 4),
                "brand_voice_share": round(brand_items / (posts + comments), 4),
                "avg_sentiment": round(-0.5 if soured else 0.25 + _wave(n, k, 0.2), 4),
                "negative_share": round(negative, 4),
            }
            rows["fct_community_daily"].append(
                {
                    "community_id": cid,
                    "activity_date": day,
                    "is_suppressed": suppressed,
                    **({key: None for key in figures} if suppressed else figures),
                }
            )
        for cohort in range(5):
            cohort_week = first + timedelta(days=7 * cohort)
            size = (members // 4 if cohort == 0 else members // 12) + 3
            for weeks in range(5 - cohort):
                retained = size if weeks == 0 else round(size * (0.78 if micro else 0.62))
                rows["fct_member_retention"].append(
                    {
                        "community_id": cid,
                        "cohort_week": cohort_week,
                        "weeks_since_join": weeks,
                        "week_start": cohort_week + timedelta(days=7 * weeks),
                        "is_suppressed": False,
                        "cohort_members": size,
                        "retained_members": retained - (weeks % 2),
                    }
                )
        for i in range(6):
            status = ("submitted", "under_review", "accepted", "implemented", "declined")[
                (i + k) % 5
            ]
            answered = status != "submitted"
            decided = status in ("accepted", "implemented", "declined")
            rows["fct_feedback_ideas"].append(
                {
                    "idea_id": f"idea-{k}-{i}",
                    "community_id": cid,
                    "current_status": status,
                    "decision_status": status if decided else None,
                    "is_suppressed": False,
                    "hours_to_first_response": 2.5 + 9 * i if answered else None,
                    "hours_to_decision": 40 + 30 * i if decided else None,
                    "submitted_at": datetime.combine(first, datetime.min.time(), tzinfo=UTC),
                }
            )
    for b, brand in enumerate(("acme", "bloom")):
        for week in range(5):
            micro_rate, broad_rate = 0.08 + 0.005 * ((week + b) % 3), 0.013
            rows["fct_brand_engagement_lift"].append(
                {
                    "brand_id": brand,
                    "week_start": first + timedelta(days=7 * week),
                    "is_suppressed": False,
                    "micro_posts": 60 + week,
                    "broad_posts": 150 + week,
                    "micro_engagement_rate": micro_rate,
                    "micro_engagement_rate_lower_95": micro_rate - 0.012,
                    "micro_engagement_rate_upper_95": micro_rate + 0.014,
                    "broad_engagement_rate": broad_rate,
                    "broad_engagement_rate_lower_95": broad_rate - 0.002,
                    "broad_engagement_rate_upper_95": broad_rate + 0.002,
                    "lift": round(micro_rate / broad_rate, 4),
                    "lift_lower_95": round((micro_rate - 0.012) / (broad_rate + 0.002), 4),
                    "lift_upper_95": round((micro_rate + 0.014) / (broad_rate - 0.002), 4),
                    "small_group_engagement_share": 0.31,
                }
            )
    return rows


def publish_fixture_marts(dsn: str) -> None:
    """Build-schema tables from the contracts, the fixture rows, and `marts` views for BI."""
    contracts = mart_contracts()
    rows = fixture_rows()
    with psycopg.connect(dsn) as conn:
        conn.execute("set role pulse_transform")  # as dbt does
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(BUILD)))
        for mart, columns in contracts.items():
            conn.execute(
                sql.SQL("create table {} ({})").format(
                    sql.Identifier(BUILD, mart),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(data_type))
                        for name, data_type in columns
                    ),
                )
            )
            for row in rows.get(mart, []):
                conn.execute(
                    sql.SQL("insert into {} ({}) values ({})").format(
                        sql.Identifier(BUILD, mart),
                        sql.SQL(", ").join(map(sql.Identifier, row)),
                        sql.SQL(", ").join(sql.Placeholder() * len(row)),
                    ),
                    list(row.values()),
                )
        conn.execute("set role pulse_owner")  # only the owner may create views in marts
        for mart in contracts:
            view = sql.Identifier("marts", mart)
            conn.execute(
                sql.SQL("create view {} as select * from {}").format(
                    view, sql.Identifier(BUILD, mart)
                )
            )
            conn.execute(sql.SQL("grant select on {} to pulse_bi").format(view))
            conn.execute(
                sql.SQL("comment on view {} is {}").format(
                    view, sql.Literal(f"{mart} of build {BUILD} (run fixture), validated")
                )
            )


def write_dead_letters(dsn: str) -> dict[str, int]:
    counts = {"invalid_json": 5, "schema_violation": 3, "future_timestamp": 1}
    with psycopg.connect(dsn) as conn:
        offset = 0
        for reason, n in counts.items():
            for _ in range(n):
                conn.execute(
                    "insert into raw.dead_letter_events (source_topic, source_partition, "
                    "source_offset, reason, detail, value_bytes, value_sha256) "
                    "values ('test.events', 0, %s, %s, 'fixture', 10, repeat('0', 64))",
                    [offset, reason],
                )
                offset += 1
    return counts


# -- headless Chromium ---------------------------------------------------------------------------


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    binary = binary or shutil.which("google-chrome")
    if binary is None:
        pytest.skip(CHROMIUM_MISSING)
    return binary


class _BodyAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self.body is None:
            self.body = dict(attrs)


def look_at(page: Path, scratch: Path) -> tuple[Path, dict[str, str | None], str]:
    """Screenshot the page and dump its DOM after its scripts ran: (png, body attributes, dom)."""
    binary = chromium()
    common = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]
    png = scratch / "report.png"
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(
            [
                *common,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1400,3000",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        dom = subprocess.run(
            [*common, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    parser = _BodyAttributes()
    parser.feed(dom)
    assert parser.body is not None, dom[:500]
    return png, parser.body, dom


def assert_page_is_whole(page: Path, scratch: Path, points: dict[str, int]) -> None:
    png, body, dom = look_at(page, scratch)
    assert png.exists() and png.stat().st_size > 50_000, "screenshot missing or blank"
    assert body.get("data-js-errors") == "0", re.search(r'<pre id="js-errors"[^>]*>.*?</pre>', dom)
    assert body.get("data-empty-charts") == "", body.get("data-empty-charts")
    assert body.get("data-js-ok") == "true", body
    drawn = json.loads(body["data-chart-counts"] or "{}")
    assert drawn == points  # what the browser drew is what the report says it drew


# -- tests ---------------------------------------------------------------------------------------


def test_report_reads_marts_as_pulse_bi_and_every_chart_draws_in_chromium(
    pg_dsn: str, tmp_path: Path
) -> None:
    publish_fixture_marts(pg_dsn)
    dead_letters = write_dead_letters(pg_dsn)
    out = tmp_path / "reports" / "community-pulse.html"

    summary = build_report(pg_dsn, out, settings=Settings(pg_dsn=pg_dsn))

    assert summary.path == out and out.exists()
    assert set(summary.points) == set(CHARTS)
    assert all(n > 0 for n in summary.points.values()), summary.points
    assert summary.read_as == "pulse_bi"
    assert summary.build == f"fct_community_daily of build {BUILD} (run fixture), validated"
    # 6 communities x 5 weeks; the bonsai circle's suppressed days are gaps, never zeros
    assert summary.points["engagement_rate"] == 30
    assert summary.points["dead_letters"] == len(dead_letters)
    assert summary.points["feedback_status"] == 5
    html = out.read_text()
    assert "pulse_transform" in summary.dead_letters_source
    assert "raw.dead_letter_events" in html and "SET ROLE pulse_bi" in html
    # Self-contained: nothing to fetch, and the page forbids fetching anyway.
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and " src=" not in html
    assert "Content-Security-Policy" in html
    # The sour last days of Acme Fans are alert markers (the publisher's rule, no alert published).
    assert "computed here" in summary.alerts_source
    assert html.count("negative_sentiment_spike (") >= 3
    assert "Acme Fans (broad) · Mar 29" in html

    assert_page_is_whole(out, tmp_path, summary.points)


def test_a_pulse_bi_login_is_enough_for_every_chart_drawn_from_marts(
    pg_dsn: str, tmp_path: Path
) -> None:
    publish_fixture_marts(pg_dsn)
    write_dead_letters(pg_dsn)
    as_bi = make_conninfo(pg_dsn, user="pulse_bi")

    summary = build_report(as_bi, tmp_path / "r.html", settings=Settings(pg_dsn=as_bi))

    assert summary.read_as == "pulse_bi"
    assert summary.empty_charts == []
    assert all(n > 0 for name, n in summary.points.items() if name != "dead_letters")
    # raw is not BI's to read: the page says so instead of failing
    assert summary.points["dead_letters"] == 0
    assert summary.dead_letters_source.startswith("not shown")
    assert "not readable as pulse_bi" in summary.alerts_source


def test_report_marks_the_alerts_the_publisher_recorded(pg_dsn: str, tmp_path: Path) -> None:
    publish_fixture_marts(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        if conn.execute("select to_regclass('quality.published_alerts')").fetchone()[0] is None:
            pipeline = resources.files("pulse.warehouse").joinpath("sql/pipeline.sql")
            if not pipeline.is_file():
                pytest.skip("quality.published_alerts is not part of the warehouse yet")
            conn.execute(pipeline.read_text())
        conn.execute(
            "insert into quality.published_alerts (alert_id, alert_type, community_id, subject, "
            "severity, run_id) values (gen_random_uuid(), 'negative_sentiment_spike', "
            "'bloom.micro.ferns', '2026-03-10', 'warning', 'scheduled__x'), "
            "(gen_random_uuid(), 'idea_unanswered', 'bloom.micro.ferns', 'idea-3-0', "
            "'warning', 'scheduled__x')"
        )

    summary = build_report(pg_dsn, tmp_path / "r.html", settings=Settings(pg_dsn=pg_dsn))

    html = (tmp_path / "r.html").read_text()
    assert "quality.published_alerts" in summary.alerts_source
    # exactly the published day alert, not the ones the rule would find
    assert html.count("negative_sentiment_spike (") == 1
    assert "negative_sentiment_spike (warning) · Bloom Fern Friends (micro) · Mar 10" in html


def test_report_refuses_a_dsn_that_cannot_act_as_pulse_bi(pg_dsn: str, tmp_path: Path) -> None:
    publish_fixture_marts(pg_dsn)
    as_ingest = make_conninfo(pg_dsn, user="pulse_ingest")

    with pytest.raises(ReportError, match="may not act as"):
        build_report(as_ingest, tmp_path / "r.html", settings=Settings(pg_dsn=as_ingest))
    assert not (tmp_path / "r.html").exists()


def test_report_says_marts_are_missing_before_the_first_promotion(
    pg_dsn: str, tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match=r"marts\.dim_community"):
        build_report(pg_dsn, tmp_path / "r.html", settings=Settings(pg_dsn=pg_dsn))


@pytest.mark.slow
def test_report_on_the_real_pipeline_over_generated_events(pg_dsn: str, tmp_path: Path) -> None:
    """Generated events -> raw -> dbt build -> marts gate -> promote -> report -> Chromium."""
    from pulse.local.generator import GeneratorConfig, generate
    from pulse.orchestration.dbt import run_dbt
    from pulse.publishing.promote import promote
    from pulse.quality import GateSettings, copy_project, run_marts_gate
    from streaming.decode import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, Decoder, EventRow
    from streaming.privacy import Pseudonymizer

    key = "test-pseudonym-key-not-secret"
    settings = Settings(pg_dsn=pg_dsn, pseudonym_key=key)
    decoder = Decoder(Pseudonymizer(key), timedelta(minutes=5))
    events, dead = [], []
    config = GeneratorConfig(seed=7, events=12_000, days=35, invalid_share=0.01)
    for offset, message in enumerate(generate(config)):
        row = decoder.decode("test.events", 0, offset, message.key, message.value)
        if isinstance(row, EventRow):
            events.append(row.copy_row("test.events"))
        else:
            dead.append(row.copy_row())
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "create temp table incoming (like raw.community_events including defaults) "
            "on commit drop"
        )
        columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
        with conn.cursor().copy(sql.SQL("copy incoming ({}) from stdin").format(columns)) as cp:
            for row in events:
                cp.write_row(row)
        conn.execute(
            sql.SQL(
                "insert into raw.community_events ({c}) select {c} from incoming "
                "on conflict (event_id) do nothing"
            ).format(c=columns)
        )
        dead_columns = sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS))
        copy_dead = sql.SQL("copy raw.dead_letter_events ({}) from stdin").format(dead_columns)
        with conn.cursor().copy(copy_dead) as cp:
            for row in dead:
                cp.write_row(row)
    build = "build_report_generated"
    run_dbt(
        ["build", "--vars", json.dumps({"marts_schema": build})],
        pg_dsn,
        settings,
        target_path=tmp_path / "dbt-target",
    )
    gate = run_marts_gate(
        pg_dsn,
        run_id="report-test",
        build_schema=build,
        gate_settings=GateSettings.from_settings(
            Settings(gx_project_dir=copy_project(tmp_path / "gx"))
        ),
    )
    assert gate.success, "\n".join(gate.summary_lines())
    promote(pg_dsn, run_id="report-test", build_schema=build)
    out = tmp_path / "community-pulse.html"

    summary = build_report(pg_dsn, out, settings=settings)

    assert summary.empty_charts == [], summary.points
    assert all(n > 0 for n in summary.points.values()), summary.points
    assert f"build {build}" in (summary.build or "")
    # the generator sours one broad channel per brand in its last days
    assert out.read_text().count("negative_sentiment_spike (") >= 3
    assert_page_is_whole(out, tmp_path, summary.points)
