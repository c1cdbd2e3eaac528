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
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pulse.paths import REPO_ROOT
from pulse.publishing.mart_views import replace_mart_view
from pulse.report import COLUMNS_READ, ReportError, build_report
from pulse.settings import Settings
from pulse.warehouse.brand_access import grant_brand

pytestmark = [pytest.mark.integration]

MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"
PULSE = str(Path(sys.executable).with_name("pulse"))
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
    "brand_voice_over_time",
    "topics",
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


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _incident(
    community_id: str,
    alert_type: str,
    opened: date,
    last_seen: date,
    resolved: date | None,
    **figures: Any,
) -> dict[str, Any]:
    """A row of fct_alert_incidents (windows from midnight to midnight, UTC)."""
    return {
        "incident_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{community_id}|{alert_type}|{opened}"),
        "community_id": community_id,
        "brand_id": community_id.split(".")[0],
        "idea_id": None,
        "alert_type": alert_type,
        "status": "open" if resolved is None else "resolved",
        "resolution": None if resolved is None else "condition_ended",
        "opened_at": _midnight(opened),
        "escalated_at": None,
        "last_seen_at": _midnight(last_seen),
        "resolved_at": None if resolved is None else _midnight(resolved),
        **figures,
    }


def incident_rows() -> list[dict[str, Any]]:
    """Acme Fans' sour last days, still open; two incidents resolved weeks ago; an idea waiting."""
    first = _days()[0]
    sour = LAST_DAY - timedelta(days=2)  # the first of Acme Fans' sour days
    return [
        # held on the two complete sour days; the last day with data may be in progress
        _incident(
            "acme.broad.fans",
            "negative_sentiment_spike",
            sour,
            LAST_DAY,
            None,
            severity="critical",
            metric="negative_share",
            observed=0.8,
            baseline=0.18,
            days_held=2,
            peak_on=LAST_DAY - timedelta(days=1),
        ),
        _incident(
            "acme.micro.yoga",
            "brand_voice_too_high",
            date(2026, 3, 9),
            date(2026, 3, 12),
            date(2026, 3, 15),
            severity="warning",
            metric="brand_post_share",
            observed=0.71,
            baseline=0.55,
            days_held=3,
            peak_on=date(2026, 3, 10),
        ),
        _incident(
            "bloom.micro.ferns",
            "engagement_drop",
            date(2026, 3, 3),
            date(2026, 3, 6),
            date(2026, 3, 9),
            severity="warning",
            metric="engagements_per_post",
            observed=1.9,
            baseline=2.9,
            days_held=3,
            peak_on=date(2026, 3, 4),
        ),
        # idea-5-0 (Bloom Support) was submitted on the first day and never answered
        {
            **_incident(
                "bloom.broad.support",
                "idea_unanswered",
                first + timedelta(days=7),
                LAST_DAY,
                None,
                severity="critical",
                metric="hours_unanswered",
                observed=(LAST_DAY - first).days * 24.0,
                baseline=None,
                days_held=(LAST_DAY - first).days - 7,
                peak_on=LAST_DAY,
            ),
            "idea_id": "idea-5-0",
            "escalated_at": _midnight(first + timedelta(days=14)),
        },
    ]


TAGS = ("events", "questions", "photos", "tips", "feedback", "offtopic")
RISING_WEEK = date(2026, 3, 16)  # the latest complete week: the last day may be in progress


def topic_rows(community_id: str, micro: bool) -> list[dict[str, Any]]:
    """Six steady tags a week; the trail runners' ultra-training rises in the latest complete
    week, the fern friends' heatwave in the week still in progress (which the report skips)."""
    rows = []
    for week in range(5):
        week_start = _days()[0] + timedelta(days=7 * week)
        tags = {
            tag: ((7 - j) * (1 if micro else 3) + week % 2, False) for j, tag in enumerate(TAGS)
        }
        if community_id == "acme.micro.trail" and week_start == RISING_WEEK:
            tags["ultra-training"] = (9, True)
        if community_id == "bloom.micro.ferns" and week_start == RISING_WEEK + timedelta(days=7):
            tags["heatwave"] = (12, True)
        total = sum(posts for posts, _ in tags.values())
        for tag, (posts, rising) in tags.items():
            before = 1.5 if rising else float(posts)
            rows.append(
                {
                    "community_id": community_id,
                    "brand_id": community_id.split(".")[0],
                    "week_start": week_start,
                    "tag": tag,
                    "posts": posts,
                    "engagements": posts * (5 if micro else 2),
                    "share_of_posts": round(posts / total, 4),
                    "engagements_per_post": 5.0 if micro else 2.0,
                    "posts_previous_4_weeks_avg": before if week else None,
                    "posts_change": round(posts / before - 1, 4) if week else None,
                    "is_rising": rising,
                }
            )
    return rows


def fixture_rows() -> dict[str, list[dict[str, Any]]]:
    """A few weeks of plausible figures: micro groups engage ~6x more, one broad channel turns
    sour in the last three days (an open incident), one small group is suppressed on its quiet
    days, one tag rises."""
    rows: dict[str, list[dict[str, Any]]] = {mart: [] for mart in COLUMNS_READ}
    rows["fct_alert_incidents"] = incident_rows()
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
        rows["fct_community_topics_weekly"] += topic_rows(cid, micro)
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
            has_brand = "brand_id" in {name for name, _ in columns}
            for row in rows.get(mart, []):
                if has_brand and "community_id" in row:  # every mart row carries its brand
                    row = {"brand_id": row["community_id"].split(".")[0], **row}
                conn.execute(
                    sql.SQL("insert into {} ({}) values ({})").format(
                        sql.Identifier(BUILD, mart),
                        sql.SQL(", ").join(map(sql.Identifier, row)),
                        sql.SQL(", ").join(sql.Placeholder() * len(row)),
                    ),
                    list(row.values()),
                )
        conn.execute("set role pulse_owner")  # only the owner may create views in marts
        for mart in contracts:  # as promote makes them: filtered by brand for brand roles
            replace_mart_view(
                conn, mart, BUILD, comment=f"{mart} of build {BUILD} (run fixture), validated"
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
    # every community's five busiest tags of the latest complete week
    assert summary.points["topics"] == 30
    html = out.read_text()
    assert "pulse_transform" in summary.dead_letters_source
    assert "raw.dead_letter_events" in html and "SET ROLE pulse_bi" in html
    # Self-contained: nothing to fetch, and the page forbids fetching anyway.
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and " src=" not in html
    assert "Content-Security-Policy" in html
    # Acme Fans' sour last days are an open incident: a row of the table, a window on the chart.
    assert "Open incidents (2)" in html and "Resolved in the period (2)" in html
    assert (
        "<td>acme</td><td>Acme Fans (broad)</td><td>negative_sentiment_spike</td>"
        '<td class="severity-critical">critical</td><td class="when">2026-03-27</td>'
        '<td class="when">2026-03-28</td>'
        "<td>2</td><td>80% vs 18% (4.4\u00d7)</td>"
    ) in html
    sentiment = html[html.index('id="chart-sentiment"') : html.index('id="quality"')]
    assert sentiment.count('<g class="band">') == 1
    assert (
        '<g class="band"><title>negative_sentiment_spike (critical) · Acme Fans (broad) · '
        "Mar 27 \u2013 open, last seen Mar 28"
    ) in sentiment
    # the resolved incidents are shaded on their own charts
    assert "<title>engagement_drop (warning) · Bloom Fern Friends (micro) · Mar 3" in html
    assert "<title>brand_voice_too_high (warning) · Acme Sunrise Yoga (micro) · Mar 9" in html
    # the rising tag of the latest complete week shows; the week in progress does not
    assert "<caption>Rising topics, week of Mar 16</caption>" in html
    assert "<td>Acme Trail Runners (micro)</td><td>ultra-training</td><td>9</td>" in html
    assert "heatwave" not in html

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


def test_report_refuses_a_dsn_that_cannot_act_as_pulse_bi(pg_dsn: str, tmp_path: Path) -> None:
    publish_fixture_marts(pg_dsn)
    as_ingest = make_conninfo(pg_dsn, user="pulse_ingest")

    with pytest.raises(ReportError, match="may not act as"):
        build_report(as_ingest, tmp_path / "r.html", settings=Settings(pg_dsn=as_ingest))
    assert not (tmp_path / "r.html").exists()


@pytest.fixture
def brand_roles(pg_dsn: str) -> Iterator[list[str]]:
    """Role names of this test's own (roles belong to the server, not to one database)."""
    names: list[str] = []
    yield names
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def test_a_brand_report_reads_as_that_brands_role_and_shows_that_brand_only(
    pg_dsn: str, tmp_path: Path, brand_roles: list[str]
) -> None:
    publish_fixture_marts(pg_dsn)
    write_dead_letters(pg_dsn)
    bloom, agency = f"bloom_{uuid.uuid4().hex[:8]}", f"agency_{uuid.uuid4().hex[:8]}"
    brand_roles += [bloom, agency]
    grant_brand(pg_dsn, brand_id="bloom", role=bloom, login_password="pw")
    for brand in ("acme", "bloom"):
        grant_brand(pg_dsn, brand_id=brand, role=agency, login_password="pw")

    # the CLI, as an operator runs it: the role is looked up from the grants
    out = tmp_path / "bloom.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    done = subprocess.run(
        [PULSE, "report", "--brand", "bloom", "--out", str(out)],
        env={**env, "PULSE_PG_DSN": pg_dsn},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "brand bloom" in html and f"SET ROLE {bloom}" in html
    for _, brand, name, _, _ in COMMUNITIES:
        assert (name in html) == (brand == "bloom"), name
    assert "Acme" not in html and "acme." not in html
    assert "not shown in a brand&#x27;s report" in html or "not shown in a brand's report" in html

    # a role that sees another brand too cannot make one brand's report; nor can nobody
    with pytest.raises(ReportError, match="sees other brands"):
        build_report(pg_dsn, tmp_path / "x.html", settings=Settings(), brand="bloom", role=agency)
    with pytest.raises(ReportError, match="no role sees brand acme alone"):
        build_report(pg_dsn, tmp_path / "y.html", settings=Settings(), brand="acme")
    # the brand's own login may make its report itself (it cannot read the grants: --role)
    summary = build_report(
        make_conninfo(pg_dsn, user=bloom),
        tmp_path / "own.html",
        settings=Settings(),
        brand="bloom",
        role=bloom,
    )
    assert summary.read_as == bloom


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
    html = out.read_text()
    # the incidents the build found are tabled, however many there are
    assert re.search(r"Open incidents \(\d+\)|No open incident\.", html)
    assert_page_is_whole(out, tmp_path, summary.points)
