"""Every suite the gates run, in one list, and the names that tie them to the GX project.

What is expected lives in `pulse.quality.raw_suites` and `pulse.quality.marts_suites`, built from
the blocks of `pulse.quality.rules`; `pulse.quality.project` turns `all_suites()` into the
committed Great Expectations project (`python -m pulse.quality build`) and `pulse.quality.runner`
runs it.

The names of those modules are re-exported here, so `from pulse.quality import suites as quality`
reaches the suites' whole vocabulary (`quality.RAW_EVENTS_ASSET`, `quality.MARTS_CHECKPOINT`,
`quality.SuiteSpec`, ...) from one place.
"""

from __future__ import annotations

from pulse.quality.marts_suites import MARTS_CHECKPOINT, MARTS_DATASOURCE, marts_suites
from pulse.quality.raw_suites import (
    COMMUNITY_ID_FORBIDDEN,
    GUC_FUTURE_AFTER,
    GUC_HISTORY_INTERVALS,
    GUC_INTERVAL_END,
    GUC_INTERVAL_START,
    MEMBER_KEY_FORBIDDEN,
    PARAM_BAND_HIGH,
    PARAM_BAND_LOW,
    PARAM_DEAD_LETTER_MAX,
    PARAM_LATEST_OCCURRED_AT,
    RAW_CHECKPOINT,
    RAW_DATASOURCE,
    RAW_EVENTS_ASSET,
    RAW_EVENTS_QUERY,
    RAW_VOLUME_ASSET,
    RAW_VOLUME_QUERY,
    raw_suites,
)
from pulse.quality.rules import (
    BATCH_DEFINITION,
    PARAM_MIN_GROUP_SIZE,
    Layer,
    Rule,
    SuiteSpec,
    at_most,
    group_large_enough,
    hidden_when_suppressed,
    in_set,
    none_negative,
    not_null,
    null_together,
    primary_key,
    sentiment,
    share,
    unique,
    within_interval,
)

__all__ = [
    "BATCH_DEFINITION",
    "COMMUNITY_ID_FORBIDDEN",
    "GUC_FUTURE_AFTER",
    "GUC_HISTORY_INTERVALS",
    "GUC_INTERVAL_END",
    "GUC_INTERVAL_START",
    "MARTS_CHECKPOINT",
    "MARTS_DATASOURCE",
    "MEMBER_KEY_FORBIDDEN",
    "PARAM_BAND_HIGH",
    "PARAM_BAND_LOW",
    "PARAM_DEAD_LETTER_MAX",
    "PARAM_LATEST_OCCURRED_AT",
    "PARAM_MIN_GROUP_SIZE",
    "RAW_CHECKPOINT",
    "RAW_DATASOURCE",
    "RAW_EVENTS_ASSET",
    "RAW_EVENTS_QUERY",
    "RAW_VOLUME_ASSET",
    "RAW_VOLUME_QUERY",
    "Layer",
    "Rule",
    "SuiteSpec",
    "all_suites",
    "at_most",
    "group_large_enough",
    "hidden_when_suppressed",
    "in_set",
    "marts_suites",
    "none_negative",
    "not_null",
    "null_together",
    "primary_key",
    "raw_suites",
    "sentiment",
    "share",
    "unique",
    "within_interval",
]


def all_suites() -> list[SuiteSpec]:
    """Every suite of both gates.

    Returns:
        The raw suites, then the marts suites.
    """
    return [*raw_suites(), *marts_suites()]
