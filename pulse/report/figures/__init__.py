"""The report's figures, one module per theme: each builds `Figure`s from a `ReportData`.

`engagement`, `retention`, `voice`, `topics`, `feedback`, `sentiment` and `quality` hold the
figures; `incidents` shades incident windows on the time charts and tables the incidents;
`layout` frames figures in HTML, `communities` labels and colours communities and brands, and
`numbers` words shares and durations.
"""

from __future__ import annotations

from pulse.report.figures.engagement import (
    engagement_rate_figure,
    lift_figure,
    micro_vs_broad_figure,
)
from pulse.report.figures.feedback import feedback_figures
from pulse.report.figures.incidents import incident_tables
from pulse.report.figures.layout import Figure
from pulse.report.figures.quality import dead_letters_figure
from pulse.report.figures.retention import retention_figure
from pulse.report.figures.sentiment import sentiment_figure
from pulse.report.figures.topics import topics_figure
from pulse.report.figures.voice import brand_voice_figure, brand_voice_over_time_figure

__all__ = [
    "Figure",
    "brand_voice_figure",
    "brand_voice_over_time_figure",
    "dead_letters_figure",
    "engagement_rate_figure",
    "feedback_figures",
    "incident_tables",
    "lift_figure",
    "micro_vs_broad_figure",
    "retention_figure",
    "sentiment_figure",
    "topics_figure",
]
