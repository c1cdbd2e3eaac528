"""The topics figure: what each community talked about in the latest complete week, and what rose.

One small panel per community (marts.fct_community_topics_weekly): its top tags by posts, and
the rising ones among the rest, each bar with a tick at the tag's weekly average over the four
weeks before; a table lists every rising tag in words.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from pulse.report import svg as charts
from pulse.report.data import ReportData, TopicWeek
from pulse.report.derived import latest_complete_week
from pulse.report.figures.communities import (
    NO_BRAND,
    brand_label,
    community_label,
    community_names,
)
from pulse.report.figures.layout import Figure, figure, panel_width
from pulse.report.figures.numbers import share_text
from pulse.report.svg import (
    BROAD_COLOR,
    MICRO_COLOR,
    TEXT_COLOR,
    Bar,
    Chart,
    LegendItem,
    day_label,
    esc,
)

TOP_TOPICS = 5  # tags per panel by posts
RISING_BEYOND_TOP = 3  # rising tags shown besides the top ones
RISING_TABLE_ROWS = 20
RISING_COLOR = "#e8590c"
RISING_MARK = "\u25b2"  # after a rising bar's figures, so the bar does not rely on colour alone
TAG_LABEL_CHARS = 16


def topic_rows(data: ReportData) -> tuple[date | None, dict[str, list[TopicWeek]]]:
    """The latest complete week, and each community's tags in it to show: top ones, then rising.

    Args:
        data: the report's figures.

    Returns:
        The week's Monday (None: no complete week yet) and, per community with tagged posts
        that week, its `TOP_TOPICS` tags with the most posts, then up to `RISING_BEYOND_TOP`
        rising ones that are not among them (the largest rise over their average first).
    """
    week = latest_complete_week(data.last_day)
    by_community: dict[str, list[TopicWeek]] = defaultdict(list)
    for row in data.topics:
        if row.week_start == week:
            by_community[row.community_id].append(row)
    shown: dict[str, list[TopicWeek]] = {}
    for community_id, rows in by_community.items():
        top = sorted(rows, key=lambda r: (-r.posts, r.tag))[:TOP_TOPICS]
        rising = sorted(
            (r for r in rows if r.is_rising and r not in top), key=lambda r: (-_rise(r), r.tag)
        )
        shown[community_id] = top + rising[:RISING_BEYOND_TOP]
    return week, shown


def topics_figure(data: ReportData) -> Figure:
    """Top and rising topics per community in the latest complete week, one panel each.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew (one per tag shown).
    """
    names = community_names(data)
    week, shown = topic_rows(data)
    order = [c.community_id for c in data.communities if c.community_id in shown]
    order += sorted(set(shown) - set(order))
    panels: list[Chart] = []
    for community_id in order:
        community = names.get(community_id)
        label = community_label(community, community_id)
        is_broad = community is not None and community.kind == "broad"
        rows = shown[community_id]
        bars = [_bar(row, label, BROAD_COLOR if is_broad else MICRO_COLOR) for row in rows]
        top = max([r.posts for r in rows] + [r.posts_previous_4_weeks_avg or 0 for r in rows])
        rising = [r.tag for r in rows if r.is_rising]
        panels.append(
            charts.hbar_chart(
                bars,
                title=label,
                subtitle=brand_label((community.brand_id if community else None) or NO_BRAND),
                x_format=charts.number(0),
                x_label="posts with the tag that week",
                # a multiple of 5 (at least 10) keeps every tick a whole number of posts; the
                # room above the longest bar holds its annotation
                x_domain=(0.0, float(max(10, 5 * math.ceil(top * 1.2 / 5)))),
                width=panel_width(len(order)),
                row_height=24,
                label_width=118,
                description=(
                    "top topics by posts: "
                    + "; ".join(f"{r.tag} {r.posts:,} posts" for r in rows)
                    + (f". Rising: {', '.join(rising)}" if rising else ". None rising")
                ),
            )
        )
    if not panels:
        message = "no tagged post in the week" if week else "no complete week yet"
        panels = [charts.empty_chart("Topics", message)]
    title = "Top and rising topics per community"
    if week:
        title += f", week of {day_label(week)} \u2013 {day_label(week + timedelta(days=6))}"
    return figure(
        "topics",
        title,
        "marts.fct_community_topics_weekly, the latest complete ISO week (the current one is "
        f"still in progress): each community's {TOP_TOPICS} tags with the most posts, and the "
        "rising tags among the rest (is_rising: enough posts, well above the tag's weekly "
        "average over the four weeks before). Bar: the week's posts with the tag (its share of "
        "the week's posts beside it; a post may carry several tags); tick: that average. Each "
        "panel has its own scale; a community-week with too few active members has no topics.",
        panels,
        legend=charts.legend(
            [
                LegendItem("tag of a micro community", MICRO_COLOR, "bar"),
                LegendItem("tag of a broad channel", BROAD_COLOR, "bar"),
                LegendItem(f"rising tag ({RISING_MARK})", RISING_COLOR, "bar"),
                LegendItem("weekly average over the 4 weeks before", TEXT_COLOR, "tick"),
            ]
        ),
        columns=min(3, len(panels)),
        after=_rising_table(data, week) if shown else "",
    )


def _rise(row: TopicWeek) -> float:
    """Posts above the tag's average of the four weeks before."""
    return row.posts - (row.posts_previous_4_weeks_avg or 0.0)


def _bar(row: TopicWeek, community: str, color: str) -> Bar:
    """One tag of one community as a bar: posts, with the earlier average as its tick."""
    tag = row.tag if len(row.tag) <= TAG_LABEL_CHARS else row.tag[: TAG_LABEL_CHARS - 1] + "…"
    share = f" · {share_text(row.share_of_posts)}" if row.share_of_posts is not None else ""
    before = (
        f"; {row.posts_previous_4_weeks_avg:,.1f} a week over the 4 weeks before"
        if row.posts_previous_4_weeks_avg is not None
        else "; no earlier weeks"
    )
    per_post = (
        f", {row.engagements_per_post:,.1f} engagements per post"
        if row.engagements_per_post is not None
        else ""
    )
    return Bar(
        tag,
        float(row.posts),
        RISING_COLOR if row.is_rising else color,
        f"{row.tag} · {community}: {row.posts:,} posts{share.replace(' · ', ', ')} of the "
        f"week{per_post}{before}{' · rising' if row.is_rising else ''}",
        f"{row.posts:,}{share}" + (f" {RISING_MARK}" if row.is_rising else ""),
        reference=row.posts_previous_4_weeks_avg,
    )


def _decimal(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _rising_table(data: ReportData, week: date | None) -> str:
    """Every rising tag of the week in words (the panels show at most a few per community)."""
    names = community_names(data)
    rising = sorted(
        (r for r in data.topics if week and r.week_start == week and r.is_rising),
        key=lambda r: (-_rise(r), r.community_id, r.tag),
    )
    if not week or not rising:
        return '<p class="note">No rising topic in the week.</p>'
    rows = "".join(
        f"<tr><td>{esc(community_label(names.get(r.community_id), r.community_id))}</td>"
        f"<td>{esc(r.tag)}</td><td>{r.posts:,}</td>"
        f"<td>{_decimal(r.posts_previous_4_weeks_avg)}</td>"
        f"<td>{esc(share_text(r.share_of_posts))}</td>"
        f"<td>{_decimal(r.engagements_per_post)}</td></tr>"
        for r in rising[:RISING_TABLE_ROWS]
    )
    more = len(rising) - RISING_TABLE_ROWS
    return (
        f'<table class="listing"><caption>Rising topics, week of {esc(day_label(week))}'
        '</caption><thead><tr><th scope="col">community</th><th scope="col">tag</th>'
        '<th scope="col">posts</th><th scope="col">weekly average, 4 weeks before</th>'
        '<th scope="col">share of the week\'s posts</th>'
        '<th scope="col">engagements per post</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        + (f'<p class="note">… and {more:,} more.</p>' if more > 0 else "")
    )
