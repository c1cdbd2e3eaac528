"""`pulse report`: one self-contained HTML page of what BI sees, with charts.

The marts are read exactly as a BI tool reads them: connect with the DSN, `SET ROLE pulse_bi`,
select from the views of schema `marts`. If the report builds, BI-level access is enough for
every figure drawn from the marts, the incidents (`fct_alert_incidents`: the open ones and those
resolved in the period, and their windows shaded on the sentiment, engagement and brand voice
charts) and the topics (`fct_community_topics_weekly`) included. What BI may not see, the
dead-letter summary and the events stored (`raw`), comes through a second, read-only connection
acting as `pulse_transform`. The page's footer says where each part came from.

The package, in the order a report is made:

- `read`: the figures from the warehouse (`marts` as pulse_bi, `operational` as pulse_transform)
- `data`: the figures as plain values (`ReportData`); `derived`: what is computed from them
- `figures`: one module per theme of charts; `svg`: the chart types they draw with
- `kpis`, `page` and `assets/`: the page around the figures; `build`: writing it to a file

This module is the facade: `build_report` for `pulse report`, and its parts for tests.
"""

from __future__ import annotations

from pulse.report.build import ReportSummary, build_report
from pulse.report.data import ReportData
from pulse.report.errors import ReportError
from pulse.report.page import render_report
from pulse.report.read import COLUMNS_READ, load_report_data

__all__ = [
    "COLUMNS_READ",
    "ReportData",
    "ReportError",
    "ReportSummary",
    "build_report",
    "load_report_data",
    "render_report",
]
