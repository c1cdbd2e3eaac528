"""The marts gate's suites: two per mart of the build being validated.

The data source `marts_build` is connected at run time only (its connection string is a `${...}`
reference the runner fills in memory; nothing is committed). Its table assets are tables of one
build, addressed without a schema: the gate's connection sets `search_path` to the build schema
being validated, and only to it.

So that a gate costs what a run changed, not what the marts hold, each mart has
- `marts_<mart>__keys` on the whole mart: the cheap whole-table invariants (the key is unique and
  never null, is_suppressed never null), which a change anywhere could break;
- `marts_<mart>` on `<mart>__changed`: every other rule, on the rows of the build that are not in
  its base build, row for row (the runner makes that table; in a build without a base, every
  row). A row the base build has was validated when the base build passed its gate.

The parts every mart's suites share are in `pulse.quality.mart_suite` (re-exported here), the
incidents' in `pulse.quality.incident_suites`.
"""

from __future__ import annotations

from pulse.quality.incident_suites import alert_incidents_suites
from pulse.quality.mart_suite import (
    CHANGED_SUFFIX,
    MARTS_CHECKPOINT,
    MARTS_DATASOURCE,
    changed_table,
    mart_suites,
)
from pulse.quality.rules import (
    Rule,
    SuiteSpec,
    at_most,
    group_large_enough,
    gxe,
    hidden_when_suppressed,
    in_set,
    none_negative,
    not_null,
    null_together,
    primary_key,
    sentiment,
    share,
    within_interval,
)

_DAILY_KEY = ("community_id", "activity_date")
_DAILY_COUNTS = (
    "members_total",
    "members_new",
    "members_new_observed",
    "members_left",
    "members_at_start",
    "active_members",
    "wau",
    "mau",
    "posts",
    "comments",
    "reactions",
    "shares",
    "ugc_posts",
    "brand_posts",
    "engagements",
)
_DAILY_MEASURES = ("engagements_per_post", "engagement_rate", "median_first_response_minutes")
_DAILY_SHARES = ("stickiness", "brand_voice_share", "negative_share")

# MAU counts members who left during the 30 days, so it may exceed members_total (seen on clean
# data); every member active in the window was active at some time, so MAU can never exceed the
# community's members ever active.
_MAU_ABOVE_EVER_ACTIVE = """select daily.community_id, daily.activity_date, daily.mau,
    community.active_members_all_time
from {batch} as daily
inner join dim_community as community on community.community_id = daily.community_id
where daily.mau > community.active_members_all_time"""


def _community_daily() -> list[SuiteSpec]:
    return mart_suites(
        "fct_community_daily",
        _DAILY_KEY,
        [
            none_negative(_DAILY_KEY, (*_DAILY_COUNTS, *_DAILY_MEASURES)),
            at_most(
                "active_members",
                "members_total",
                "DAU <= members: whoever is active on a day is a member that day (observed "
                "membership)",
            ),
            at_most("members_at_start", "members_total"),
            at_most("members_new", "members_total"),
            at_most("members_left", "members_total"),
            at_most("members_new_observed", "members_new"),
            at_most(
                "active_members", "wau", "DAU <= WAU: the day's active members are among the week's"
            ),
            at_most("wau", "mau", "WAU <= MAU: the week's active members are among the month's"),
            at_most(
                "active_members",
                "mau",
                "DAU <= MAU: the day's active members are among the month's",
            ),
            Rule(
                "MAU <= members ever active in the community (dim_community)",
                lambda: gxe().UnexpectedRowsExpectation(
                    unexpected_rows_query=_MAU_ABOVE_EVER_ACTIVE,
                    description="MAU <= members ever active in the community",
                ),
                columns=("community_id", "activity_date", "mau"),
            ),
            at_most("ugc_posts", "posts"),
            at_most("brand_posts", "posts"),
            *(share(column) for column in _DAILY_SHARES),
            sentiment("avg_sentiment"),
            group_large_enough("active_members"),
            # WAU and MAU count their own 7 and 30 days: shown wherever those have enough
            # members, on a suppressed day too (the week's active members of
            # fct_community_health are a Sunday's WAU).
            group_large_enough("wau", where_shown=False),
            group_large_enough("mau", where_shown=False),
            hidden_when_suppressed(
                _DAILY_KEY,
                (
                    *(c for c in _DAILY_COUNTS if c not in ("wau", "mau")),
                    *_DAILY_MEASURES,
                    *_DAILY_SHARES,
                    "avg_sentiment",
                ),
            ),
        ],
    )


def _dim_community() -> list[SuiteSpec]:
    figures = ("members_current", "active_members_all_time")
    return mart_suites(
        "dim_community",
        ("community_id",),
        [
            in_set("community_kind", ["broad", "micro"]),
            none_negative(("community_id",), (*figures, "audience_size")),
            at_most(
                "members_current",
                "active_members_all_time",
                "members_current <= members ever active (a membership starts with a join, which "
                "counts as active, or with an action)",
            ),
            group_large_enough("active_members_all_time"),
            hidden_when_suppressed(("community_id",), figures),
        ],
    )


def _brand_engagement_lift() -> list[SuiteSpec]:
    key = ("brand_id", "week_start")
    counts = (
        "micro_communities",
        "broad_communities",
        "micro_active_members",
        "broad_active_members",
        "micro_posts",
        "broad_posts",
        "micro_engagements",
        "broad_engagements",
        "micro_member_post_opportunities",
        "broad_member_post_opportunities",
        # Engagements are counts (a member may engage many times per post): rates, their
        # Poisson bounds and the lift are only non-negative, never shares.
        "micro_engagement_rate",
        "micro_engagement_rate_lower_95",
        "micro_engagement_rate_upper_95",
        "broad_engagement_rate",
        "broad_engagement_rate_lower_95",
        "broad_engagement_rate_upper_95",
        "lift",
        "lift_lower_95",
        "lift_upper_95",
    )
    share_and_bounds = (
        "small_group_engagement_share",
        "small_group_engagement_share_lower_95",
        "small_group_engagement_share_upper_95",
    )
    return mart_suites(
        "fct_brand_engagement_lift",
        key,
        [
            none_negative(key, counts),
            *within_interval(
                "micro_engagement_rate",
                "micro_engagement_rate_lower_95",
                "micro_engagement_rate_upper_95",
            ),
            *within_interval(
                "broad_engagement_rate",
                "broad_engagement_rate_lower_95",
                "broad_engagement_rate_upper_95",
            ),
            *within_interval("lift", "lift_lower_95", "lift_upper_95"),
            *(
                null_together(key, estimate, f"{estimate}_lower_95", f"{estimate}_upper_95")
                for estimate in (
                    "micro_engagement_rate",
                    "broad_engagement_rate",
                    "lift",
                    "small_group_engagement_share",
                )
            ),
            *(share(column) for column in share_and_bounds),
            *within_interval(*share_and_bounds),
            # A side below the threshold shows no member figure; a side shown is large enough.
            group_large_enough("micro_active_members", where_shown=False),
            group_large_enough("broad_active_members", where_shown=False),
            hidden_when_suppressed(
                key, ("lift", "lift_lower_95", "lift_upper_95", *share_and_bounds)
            ),
        ],
    )


def _member_retention() -> list[SuiteSpec]:
    key = ("community_id", "cohort_week", "weeks_since_join")
    counts = ("weeks_since_join", "cohort_members", "retained_members", "still_members")
    shares = ("retained_share", "still_member_share")
    return mart_suites(
        "fct_member_retention",
        key,
        [
            none_negative(key, counts),
            at_most("retained_members", "cohort_members"),
            at_most("still_members", "cohort_members"),
            *(share(column) for column in shares),
            group_large_enough("cohort_members"),
            hidden_when_suppressed(key, (*counts[1:], *shares)),
        ],
    )


def _community_health() -> list[SuiteSpec]:
    key = ("community_id", "week_start")
    counts = (
        "active_members",
        "newcomers",
        "members_at_week_end",
        "inactive_members",
        "casual_members",
        "regular_members",
        "core_members",
        "contributors",
        "contributions",
        "contributors_for_half",
    )
    return mart_suites(
        "fct_community_health",
        key,
        [
            none_negative(key, counts),
            at_most("contributors_for_half", "contributors"),
            at_most("inactive_members", "members_at_week_end"),
            share("contributor_concentration_share"),
            group_large_enough("active_members"),
            # A week's newcomers are its join-week cohort (fct_member_retention): shown only
            # when it is large enough (0: nobody joined).
            group_large_enough("newcomers", where_shown=False, zero_allowed=True),
            hidden_when_suppressed(key, (*counts, "contributor_concentration_share")),
        ],
    )


def _quiet_core_share_consistency(keys: tuple[str, ...]) -> Rule:
    query = f"""select {", ".join(keys)}, core_members, quiet_core_share
from {{batch}}
where not is_suppressed and (quiet_core_share is null) <> (core_members = 0)"""
    return Rule(
        "quiet_core_share is null exactly where a shown week has no core members",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="quiet_core_share agrees with core_members"
        ),
        columns=(*keys, "is_suppressed", "core_members", "quiet_core_share"),
    )


def _community_quiet_core() -> list[SuiteSpec]:
    key = ("community_id", "week_start")
    counts = ("core_members", "quiet_core_members", "quiet_core_members_previous_4_weeks_avg")
    return mart_suites(
        "fct_community_quiet_core_weekly",
        key,
        [
            not_null("brand_id"),
            none_negative(key, counts),
            at_most(
                "quiet_core_members",
                "core_members",
                "quiet core members <= core members (they are core members silent 7-28 days)",
            ),
            share("quiet_core_share"),
            _quiet_core_share_consistency(key),
            # Suppressed by the members active in the four weeks before, which the mart does not
            # publish: no group_large_enough column here.
            hidden_when_suppressed(key, (*counts, "quiet_core_share")),
        ],
    )


def _feedback_ideas() -> list[SuiteSpec]:
    key = ("community_id", "idea_id")
    return mart_suites(
        "fct_feedback_ideas",
        key,
        [
            not_null("current_status"),
            in_set(
                "current_status",
                ["accepted", "declined", "implemented", "submitted", "under_review"],
            ),
            none_negative(
                key,
                (
                    "votes_up",
                    "votes_down",
                    "voters",
                    "comments",
                    "hours_to_first_response",
                    "hours_to_decision",
                ),
            ),
            at_most("votes_up", "voters"),
            at_most("votes_down", "voters"),
            # An idea's votes are shown only for enough distinct voters.
            group_large_enough("voters", where_shown=False),
            share("popularity_score"),
            sentiment("sentiment"),
            hidden_when_suppressed(
                key,
                (
                    "idea_title",
                    "votes_up",
                    "votes_down",
                    "votes_net",
                    "voters",
                    "comments",
                    "popularity_score",
                    "sentiment",
                ),
            ),
        ],
    )


def _feedback_daily() -> list[SuiteSpec]:
    key = ("community_id", "activity_date")
    counts = (
        "active_members",
        "ideas_submitted",
        "votes",
        "votes_up",
        "votes_down",
        "ideas_accepted",
        "ideas_implemented",
        "ideas_declined",
        "median_response_hours",
    )
    return mart_suites(
        "agg_feedback_daily",
        key,
        [
            none_negative(key, counts),
            at_most("votes_up", "votes"),
            at_most("votes_down", "votes"),
            share("acceptance_rate"),
            sentiment("avg_sentiment"),
            group_large_enough("active_members"),
            # ideas_submitted, median_response_hours and avg_sentiment restate fct_feedback_ideas
            # (each idea's submission, first response, sentiment): shown as it shows them.
            hidden_when_suppressed(
                key,
                (
                    "active_members",
                    "votes",
                    "votes_up",
                    "votes_down",
                    "ideas_accepted",
                    "ideas_implemented",
                    "ideas_declined",
                    "acceptance_rate",
                ),
            ),
        ],
    )


def _trend_consistency(keys: tuple[str, ...]) -> Rule:
    key = ", ".join(keys)
    query = f"""select {key}, posts, posts_previous_4_weeks_avg, posts_change, is_rising
from {{batch}}
where (posts_change is null) <> (coalesce(posts_previous_4_weeks_avg, 0) = 0)
    or (is_rising and posts_previous_4_weeks_avg is null)"""
    return Rule(
        "posts_change is null exactly when the mean of the weeks before is 0 or null, and a week "
        "with no week shown before it (no mean) never rises",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="the trend columns agree"
        ),
        columns=(*keys, "posts", "posts_previous_4_weeks_avg", "posts_change", "is_rising"),
    )


def _topics(name: str, keys: tuple[str, ...], counts: tuple[str, ...]) -> list[SuiteSpec]:
    """A topic mart: no suppression flag (a week too small to show has no rows), so its own
    keys suite instead of `_mart`'s."""
    return [
        SuiteSpec(
            name=f"marts_{name}__keys",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=name,
            rules=[*primary_key(*keys), not_null("brand_id"), not_null("is_rising")],
        ),
        SuiteSpec(
            name=f"marts_{name}",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=changed_table(name),
            rules=[
                *(not_null(column) for column in counts),
                none_negative(
                    keys,
                    (*counts, "engagements_per_post", "posts_previous_4_weeks_avg"),
                ),
                Rule(
                    "posts >= 1: a row is a tag some post of the week carries",
                    lambda: gxe().ExpectColumnValuesToBeBetween(column="posts", min_value=1),
                ),
                # One tag is on a post at most once, so it is on at most all of the week's posts
                # (the week's shares may add up to more than 1: a post carries several tags).
                share("share_of_posts"),
                _trend_consistency(keys),
            ],
        ),
    ]


def _community_topics() -> list[SuiteSpec]:
    return _topics(
        "fct_community_topics_weekly",
        ("community_id", "week_start", "tag"),
        ("posts", "engagements"),
    )


def _brand_topics() -> list[SuiteSpec]:
    specs = _topics(
        "fct_brand_topics_weekly",
        ("brand_id", "week_start", "tag"),
        ("communities", "posts", "engagements"),
    )
    # Each community counted has at least one of the posts.
    specs[1].rules.append(at_most("communities", "posts"))
    return specs


def marts_suites() -> list[SuiteSpec]:
    """The marts gate: two suites per mart of the build being validated (see the module doc).

    Returns:
        The suites, in the order of the checkpoint's validation definitions.
    """
    return [
        *_dim_community(),
        *_community_daily(),
        *_brand_engagement_lift(),
        *_member_retention(),
        *_community_health(),
        *_community_quiet_core(),
        *_feedback_ideas(),
        *_feedback_daily(),
        *alert_incidents_suites(),
        *_community_topics(),
        *_brand_topics(),
    ]


__all__ = [
    "CHANGED_SUFFIX",
    "MARTS_CHECKPOINT",
    "MARTS_DATASOURCE",
    "changed_table",
    "marts_suites",
]
