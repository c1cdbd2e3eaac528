"""The charts' colours and font: one look for every chart of the report."""

from __future__ import annotations

# Observable's 10-colour categorical scheme: distinct on white, reasonable for colour-blind readers.
PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)
MICRO_COLOR = "#4269d0"
BROAD_COLOR = "#7a808c"
ALERT_COLOR = "#d62728"
MUTED_COLOR = "#c3c7cf"
TEXT_COLOR = "#1f2430"
AXIS_COLOR = "#5b6170"
GRID_COLOR = "#e6e8ec"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', 'DejaVu Sans', sans-serif"
