"""The warehouse's names, in one place: schemas, roles, marts, locks, dead-letter reasons.

Everything that addresses the warehouse by name imports it from here, so a rename is one edit
and a list (the marts a build must hold, say) cannot differ between two modules.
"""

from __future__ import annotations

from streaming.decode import REASONS as DEAD_LETTER_REASONS

# schemas
RAW_SCHEMA = "raw"
STAGING_SCHEMA = "staging"
INTERMEDIATE_SCHEMA = "intermediate"
MARTS_SCHEMA = "marts"  # views onto the last validated build: what BI reads
QUALITY_SCHEMA = "quality"
BUILD_PREFIX = "build_"  # one build schema per pipeline run: build_<run>

# roles
INGEST_ROLE = "pulse_ingest"  # writes raw only
TRANSFORM_ROLE = "pulse_transform"  # reads raw, builds the dbt schemas, owns the builds
BI_ROLE = "pulse_bi"  # reads marts only
OWNER_ROLE = "pulse_owner"  # owns marts: alone changes what BI sees; applies erasures
ROLES = (INGEST_ROLE, TRANSFORM_ROLE, OWNER_ROLE, BI_ROLE)
# The group of the per-brand roles (`pulse bi grant`): reads marts, only its brands' rows. Not a
# login, so not in ROLES.
BRAND_BI_ROLE = "pulse_brand_bi"

# The marts, in the order BI documentation lists them. A build must hold all of them.
MARTS = (
    "dim_community",
    "fct_community_daily",
    "fct_brand_engagement_lift",
    "fct_member_retention",
    "fct_community_health",
    "fct_community_quiet_core_weekly",
    "fct_feedback_ideas",
    "agg_feedback_daily",
    "fct_alert_incidents",
    "fct_community_topics_weekly",
    "fct_brand_topics_weekly",
)

# Advisory locks (hashtext of the name): who may not run at the same time as whom.
INIT_LOCK = "pulse db init"
REBUILD_LOCK = "pulse warehouse rebuild"  # dbt builds and member erasure
PROMOTE_LOCK = "pulse promote"
PUBLISH_ALERTS_LOCK = "pulse publish alerts"
PUBLISH_INCIDENTS_LOCK = "pulse publish incidents"
ERASURE_LOCK = "pulse member erasure"
REPLAY_LOCK = "pulse dead-letter replay"

__all__ = [
    "BI_ROLE",
    "BRAND_BI_ROLE",
    "BUILD_PREFIX",
    "DEAD_LETTER_REASONS",
    "ERASURE_LOCK",
    "INGEST_ROLE",
    "INIT_LOCK",
    "INTERMEDIATE_SCHEMA",
    "MARTS",
    "MARTS_SCHEMA",
    "OWNER_ROLE",
    "PROMOTE_LOCK",
    "PUBLISH_ALERTS_LOCK",
    "PUBLISH_INCIDENTS_LOCK",
    "QUALITY_SCHEMA",
    "RAW_SCHEMA",
    "REBUILD_LOCK",
    "REPLAY_LOCK",
    "ROLES",
    "STAGING_SCHEMA",
    "TRANSFORM_ROLE",
]
