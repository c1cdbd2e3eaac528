"""Planted incidents: conditions with known windows, so the incident rule can be scored.

With `GeneratorConfig(plant_incidents=True)` the world gets, for each brand (windows as shares
of the span, so any span of `PLANT_MIN_DAYS` or more has room for a baseline before each and for
its resolution after it):

- a sentiment crisis in a micro community: 85% of posts and comments negative, 50% busier, for
  `CRISIS[1]` days;
- an engagement collapse in a micro community: members engage with the posts of the window at
  `COLLAPSE_FACTOR` of their usual rate, for `COLLAPSE[1]` days;
- a brand overposting spell in a micro community: the brand writes `OVERPOSTING_SHARE` of the
  posts (three in four, where it writes one in twelve the rest of the time) on top of the
  members' usual posts, for `OVERPOSTING[1]` days;
- a stretch of unanswered ideas in the brand's broad community with the most ideas: the ideas
  submitted during `UNANSWERED[1]` days (one of them in the stretch's first hours) are first
  answered `LATE_ANSWER_DAYS` after their submission, past the 7-day limit;

and, in one micro community of the whole world, a spell of core members going quiet: the
`QUIET_SHARE` most active of its non-lurking members (at least `QUIET_MIN_MEMBERS`) do nothing
at all for `QUIET[1]` weeks, from the first Monday at or after `QUIET[0]` of the span (the
weekly figures count whole ISO weeks, so the spell starts with one and the first week it shows
in starts with it), and then act as before;

plus one *control*: a tiny micro community of brand_1 (`TINY_SIZE` members) with a few
negative posts on one day, which must open nothing. The crises, collapses and spells go to the
brand's micro communities other than its loud one (where the brand always writes ~90% of the
posts) that write at least `MIN_HOST_POSTS` posts on a usual day (a collapse's also get
`MIN_HOST_ENGAGEMENTS` engagements), busiest first, sharing one when the brand has only one
such; a brand without any hosts none. The busiest broad community's
negative turn in the last 3 days (there without planting too) is a planted crisis of a large
community.

What changes when planting is on, and only then: those windows, every other idea gets its first
answer within days (the quarter left unanswered by default would be incidents nobody planted),
the tiny community and the quiet spell. The list of what was planted (`PlantedIncident`) comes from
`pulse.local.generator.planted_incidents(config)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pulse.local.generator.config import DAY_MS, HOUR_MS

# (start as a share of the span, length in days)
CRISIS = (0.30, 4)
COLLAPSE = (0.45, 5)
OVERPOSTING = (0.62, 5)
UNANSWERED = (0.20, 4)
QUIET = (0.50, 2)  # (start as a share of the span, moved on to a Monday; length in weeks)
CONTROL_AT = 0.40  # the tiny community's one bad day
CRISIS_MOOD = (0.05, 0.85)  # positive and negative shares of items during a crisis
CRISIS_BUSIER = 1.5
COLLAPSE_FACTOR = 0.2
OVERPOSTING_SHARE = 0.75
USUAL_BRAND_SHARE = 1 / 12  # the spell's host, the rest of the time
# During the spell the brand posts on top of the members, who post as much as usual.
OVERPOSTING_BUSIER = (1 - USUAL_BRAND_SHARE) / (1 - OVERPOSTING_SHARE)
LATE_ANSWER_DAYS = 10
# The idea_unanswered limit the truth is stated for (PULSE_ALERT_IDEA_UNANSWERED_DAYS' default).
UNANSWERED_LIMIT_DAYS = 7
TINY_SIZE = 20
# A host of a crisis, collapse or spell writes at least this many posts on a usual day: in a
# quieter community a few days of anything are a handful of items, which no rule (and no
# community manager) can tell from chance. A brand without such a micro community hosts none.
MIN_HOST_POSTS = 4.0
# A collapse's host also gets at least this many engagements on a usual day: a collapse of a
# dozen engagements a day is not one anybody could tell from a slow day.
MIN_HOST_ENGAGEMENTS = 25.0
# The quiet spell: the most active quarter of the host's non-lurking members, who are core
# members by any measure, and enough of them that the spell is more than a couple of absences.
QUIET_SHARE = 0.25
QUIET_MIN_MEMBERS = 6
# A quiet member joined this long before the spell (the weekly figures pick core members from
# the four weeks before a week) and stays past its end.
QUIET_TENURE_DAYS = 14


@dataclass(frozen=True)
class PlantedIncident:
    """One planted condition and its window.

    Attributes:
        community_id: Where.
        alert_type: The incident type it should open (`streaming.outbound.ALERT_TYPES`).
        start: When the condition starts to hold (for idea_unanswered: the first planted idea's
            limit has run out; for core_members_quiet: the Monday the members stop, the start
            of the first ISO week they are silent all through, the week whose figures show them).
        end: When it stops (exclusive): the window's end, or the last late answer.
        expect_incident: False for the control, which must open no incident of any type.
        what: One line for humans.
    """

    community_id: str
    alert_type: str
    start: datetime
    end: datetime
    expect_incident: bool = True
    what: str = ""


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def plant(
    communities: list[Any],
    start_ms: int,
    days: int,
    spike_days: int,
    posts_per_day: Callable[[Any, int], float],
) -> list[PlantedIncident]:
    """Give the world's communities their windows (attributes the simulation reads) and say what
    was planted.

    Args:
        communities: The world's `_Community` objects (the control among them, `control` set).
        start_ms: Start of the span.
        days: Length of the span.
        spike_days: The last days, in which the busiest broad community turns negative.
        posts_per_day: Expected posts of a community on a day of the span (the calibration).

    Returns:
        The planted incidents, brand by brand.
    """
    end_ms = start_ms + days * DAY_MS

    def window(share: float, length: int) -> tuple[int, int]:
        first = start_ms + round(share * days) * DAY_MS
        return first, first + length * DAY_MS

    planted: list[PlantedIncident] = []
    for brand_id in dict.fromkeys(c.brand_id for c in communities):
        own = [c for c in communities if c.brand_id == brand_id]
        middle = days // 2
        hosts = sorted(
            (
                c
                for c in own
                if c.kind == "micro"
                and not c.loud
                and not c.control
                and posts_per_day(c, middle) >= MIN_HOST_POSTS
            ),
            key=lambda c: (-posts_per_day(c, middle), c.index),
        )
        for position, (attribute, spec, alert_type, what) in enumerate(
            (
                ("crisis", CRISIS, "negative_sentiment_spike", "sentiment crisis"),
                ("collapse", COLLAPSE, "engagement_drop", "engagement collapse"),
                ("overposting", OVERPOSTING, "brand_voice_too_high", "brand overposting spell"),
            )
        ):
            candidates = hosts
            if attribute == "collapse":
                candidates = [
                    c
                    for c in hosts
                    if posts_per_day(c, middle) * c.p_engage * c.daily_present[middle]
                    >= MIN_HOST_ENGAGEMENTS
                ]
            if not candidates:
                continue
            host = candidates[position % len(candidates)]
            first, last = window(*spec)
            setattr(host, attribute, (first, last))
            if attribute == "overposting":
                host.brand_post_share = USUAL_BRAND_SHARE
            planted.append(
                PlantedIncident(host.cid, alert_type, _moment(first), _moment(last), what=what)
            )
        broad = [c for c in own if c.kind == "broad"]
        portal = max(broad, key=lambda c: (c.size * c.idea_factor, -c.index))
        first, last = window(*UNANSWERED)
        portal.unanswered = (first, last)
        planted.append(
            PlantedIncident(
                portal.cid,
                "idea_unanswered",
                _moment(first + UNANSWERED_LIMIT_DAYS * DAY_MS),
                _moment(min(end_ms, last + LATE_ANSWER_DAYS * DAY_MS)),
                what=f"ideas answered only after {LATE_ANSWER_DAYS} days",
            )
        )
        for c in own:
            if c.spike:
                planted.append(
                    PlantedIncident(
                        c.cid,
                        "negative_sentiment_spike",
                        _moment(end_ms - spike_days * DAY_MS),
                        _moment(end_ms),
                        what="large community turns negative",
                    )
                )
            if c.control:
                first = start_ms + round(CONTROL_AT * days) * DAY_MS
                c.crisis = (first, first + DAY_MS)
                planted.append(
                    PlantedIncident(
                        c.cid,
                        "negative_sentiment_spike",
                        _moment(first),
                        _moment(first + DAY_MS),
                        expect_incident=False,
                        what="a few negative posts in a tiny community (control)",
                    )
                )
    quiet = _plant_quiet_spell(communities, start_ms, days, end_ms)
    if quiet is not None:
        planted.append(quiet)
    return planted


def _next_monday(at_ms: int) -> int:
    """00:00 UTC of the first Monday at or after `at_ms` (the epoch began on a Thursday)."""
    day = -(-at_ms // DAY_MS)
    return (day + (7 - (day + 3) % 7) % 7) * DAY_MS


def _plant_quiet_spell(
    communities: list[Any], start_ms: int, days: int, end_ms: int
) -> PlantedIncident | None:
    """Silence the most active non-lurking members of one micro community for `QUIET[1]` weeks.

    The host: the micro community (not the loud one, not the control) with the most members
    who can go quiet (joined `QUIET_TENURE_DAYS` before the spell, there after it, not erasing
    themselves; a share of a larger core is a clearer signal), on a tie one that hosts no other
    planted incident. Sets `quiet` (the window)
    and `quiet_members` on it, and `quiet_pool` (the members' activity draw without them).
    """
    first = _next_monday(start_ms + round(QUIET[0] * days) * DAY_MS)
    last = first + QUIET[1] * 7 * DAY_MS

    def eligible(c: Any) -> list[int]:
        return [
            i
            for i in c.active_index
            if c.join_ms[i] <= first - QUIET_TENURE_DAYS * DAY_MS
            and c.gone_ms[i] > min(last, end_ms)
            and not c.erasing[i]
        ]

    candidates = [c for c in communities if c.kind == "micro" and not c.loud and not c.control]
    if not candidates:
        return None

    def busy(c: Any) -> bool:
        return any(getattr(c, name) is not None for name in ("crisis", "collapse", "overposting"))

    host = max(candidates, key=lambda c: (len(eligible(c)), not busy(c), -c.index))
    pool = eligible(host)
    if len(pool) < QUIET_MIN_MEMBERS:
        return None
    cum = host.active_cum
    weight = {i: cum[p] - (cum[p - 1] if p else 0.0) for p, i in enumerate(host.active_index)}
    wanted = max(QUIET_MIN_MEMBERS, round(QUIET_SHARE * len(host.active_index)))
    chosen = frozenset(sorted(pool, key=lambda i: (-weight[i], i))[:wanted])
    host.quiet = (first, last)
    host.quiet_members = chosen
    # What _pick_active draws from while the spell lasts: the same members and weights, the
    # quiet ones left out, so the others write what the community writes on a usual day.
    kept = [i for i in host.active_index if i not in chosen]
    kept_cum: list[float] = []
    for i in kept:
        kept_cum.append((kept_cum[-1] if kept_cum else 0.0) + weight[i])
    host.quiet_pool = (kept, [host.join_ms[i] for i in kept], kept_cum)
    return PlantedIncident(
        host.cid,
        "core_members_quiet",
        _moment(first),
        _moment(min(last, end_ms)),
        what=f"{len(chosen)} core members stop acting for {QUIET[1]} weeks",
    )


def in_window(window: tuple[int, int] | None, at_ms: int) -> bool:
    """True when `at_ms` falls in a planted window (None: nothing planted)."""
    return window is not None and window[0] <= at_ms < window[1]


def first_idea_at(window: tuple[int, int]) -> int:
    """When the stretch's first idea is submitted: in its first hours, so that the first limit
    runs out on the stretch's first day plus the limit."""
    return window[0] + 2 * HOUR_MS


@dataclass(frozen=True)
class PlantedScore:
    """How an incident list compares with what was planted.

    Attributes:
        planted: Planted incidents expected to open one.
        found: Incidents opened.
        missed: Planted ones no incident of their community and type opened within `slack` of
            their start.
        unplanted: Incidents overlapping no planted one of their community and type (within
            `slack`), those in the control community included.
    """

    planted: int
    found: int
    missed: list[PlantedIncident]
    unplanted: list[dict[str, Any]]

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        return 1 - len(self.unplanted) / self.found if self.found else 1.0


def score(
    incidents: list[dict[str, Any]], planted: list[PlantedIncident], slack_days: float = 1
) -> PlantedScore:
    """Recall and precision of `incidents` (rows with community_id, alert_type, opened_at,
    last_seen_at, resolved_at: fct_alert_incidents') against `planted`."""
    slack = timedelta(days=slack_days)
    expected = [p for p in planted if p.expect_incident]

    def same(incident: dict[str, Any], p: PlantedIncident) -> bool:
        return (incident["community_id"], incident["alert_type"]) == (p.community_id, p.alert_type)

    missed = [
        p
        for p in expected
        if not any(same(i, p) and abs(i["opened_at"] - p.start) <= slack for i in incidents)
    ]
    unplanted = [
        i
        for i in incidents
        if not any(
            same(i, p)
            and i["opened_at"] < p.end + slack
            and (i["resolved_at"] or i["last_seen_at"]) > p.start - slack
            for p in expected
        )
    ]
    return PlantedScore(len(expected), len(incidents), missed, unplanted)
