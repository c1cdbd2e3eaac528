"""The marts gate's suites of fct_alert_incidents (pulse.quality.marts_suites lists them with the
others): its keys and lifecycle, and the incident types of community.incidents.v1."""

from __future__ import annotations

from pulse.quality.mart_suite import MARTS_DATASOURCE, changed_table
from pulse.quality.rules import (
    Rule,
    SuiteSpec,
    at_most,
    gxe,
    in_set,
    none_negative,
    not_null,
    primary_key,
)
from streaming.incidents import INCIDENT_TYPES


def _one_open_incident() -> Rule:
    query = """select community_id, alert_type, count(*) as open_incidents
from {batch}
where status = 'open' and idea_id is null
group by community_id, alert_type
having count(*) > 1"""
    return Rule(
        "at most one open incident per community and day rule (a condition that holds is one "
        "incident)",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="one open incident per community and type"
        ),
        columns=("community_id", "alert_type", "status", "idea_id"),
    )


def _incident_consistency() -> Rule:
    query = """select incident_id, alert_type, status, severity, idea_id, escalated_at,
    resolved_at, resolution
from {batch}
where (status = 'open') <> (resolved_at is null)
    or (resolution is null) <> (resolved_at is null)
    or (alert_type = 'idea_unanswered') <> (idea_id is not null)
    or (escalated_at is not null and severity <> 'critical')"""
    return Rule(
        "open exactly while resolved_at is null (resolution with it), idea_id exactly on "
        "idea_unanswered, escalated only to critical",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="the incident lifecycle is consistent"
        ),
        columns=(
            "incident_id",
            "alert_type",
            "status",
            "severity",
            "idea_id",
            "escalated_at",
            "resolved_at",
            "resolution",
        ),
    )


def alert_incidents_suites() -> list[SuiteSpec]:
    """fct_alert_incidents: no suppression flag (a suppressed day never holds), so its own
    keys suite instead of `mart_suites`'."""
    name, key = "fct_alert_incidents", ("incident_id",)
    return [
        SuiteSpec(
            name=f"marts_{name}__keys",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=name,
            rules=[
                *primary_key(*key),
                *(
                    not_null(column)
                    for column in ("community_id", "alert_type", "status", "severity", "opened_at")
                ),
                _one_open_incident(),
            ],
        ),
        SuiteSpec(
            name=f"marts_{name}",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=changed_table(name),
            rules=[
                in_set("alert_type", sorted(INCIDENT_TYPES)),
                in_set("status", ["open", "resolved"]),
                in_set("severity", ["critical", "warning"]),
                in_set("resolution", ["condition_ended", "responded"]),
                not_null("last_seen_at"),
                none_negative(key, ("observed", "baseline", "days_held")),
                at_most("opened_at", "last_seen_at"),
                at_most("last_seen_at", "resolved_at"),
                at_most("opened_at", "escalated_at"),
                _incident_consistency(),
            ],
        ),
    ]
