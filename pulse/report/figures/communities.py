"""Communities and brands on the charts: labels, colours, and one line per community by brand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from pulse.report import svg as charts
from pulse.report.data import Community, ReportData
from pulse.report.svg import MUTED_COLOR, PALETTE, LegendItem, Series

# The panel of communities that never said their brand.
NO_BRAND = "(no brand)"


def community_names(data: ReportData) -> dict[str, Community]:
    """Each community by its id."""
    return {c.community_id: c for c in data.communities}


def brand_ids(data: ReportData) -> list[str]:
    """Every brand with a community or a lift week, sorted."""
    brands = {c.brand_id for c in data.communities if c.brand_id}
    brands |= {row.brand_id for row in data.lift}
    return sorted(brands)


def brand_label(brand_id: str) -> str:
    """A brand id as a panel title: `cedar_co` reads `Cedar co`; mixed case is kept."""
    return brand_id.replace("_", " ").capitalize() if brand_id.islower() else brand_id


def community_label(community: Community | None, community_id: str) -> str:
    """A community's name and kind, as legends and tooltips show it."""
    if community is None:
        return community_id
    kind = f" ({community.kind})" if community.kind else ""
    return f"{community.name}{kind}"


def community_styles(data: ReportData) -> dict[str, tuple[str, bool]]:
    """Colour and dash per community: micro communities in colour, broad ones dashed grey."""
    styles: dict[str, tuple[str, bool]] = {}
    by_brand: dict[str | None, list[Community]] = defaultdict(list)
    for community in data.communities:
        by_brand[community.brand_id].append(community)
    broad_shades = ("#3d4350", "#8b93a3", "#5f6676")
    for members in by_brand.values():
        micro = broad = 0
        for community in members:
            if community.kind == "broad":
                styles[community.community_id] = (broad_shades[broad % len(broad_shades)], True)
                broad += 1
            else:
                styles[community.community_id] = (PALETTE[micro % len(PALETTE)], False)
                micro += 1
    return styles


def on_grid(
    points: dict[date, float], first: date, last: date, step: int
) -> list[tuple[date, float | None]]:
    """Values on every step from first to last; a missing one is None, so the line breaks."""
    grid = []
    day = first
    while day <= last:
        grid.append((day, points.get(day)))
        day += timedelta(days=step)
    return grid


def per_brand_series(
    data: ReportData, values: dict[str, dict[date, float]], step: int
) -> list[tuple[str, list[Series]]]:
    """One panel per brand, one line per community (missing periods break the line)."""
    names = community_names(data)
    styles = community_styles(data)
    every = [day for points in values.values() for day in points]
    if not every:
        return []
    first, last = min(every), max(every)
    by_brand: dict[str, list[Series]] = defaultdict(list)
    for community_id, points in values.items():
        community = names.get(community_id)
        brand = (community.brand_id if community else None) or NO_BRAND
        colour, dashed = styles.get(community_id, (MUTED_COLOR, False))
        by_brand[brand].append(
            Series(
                community_label(community, community_id),
                on_grid(points, first, last, step),
                colour,
                dashed,
            )
        )
    return [
        (brand, sorted(by_brand[brand], key=lambda s: (s.dashed, s.name)))
        for brand in [*brand_ids(data), NO_BRAND]
        if brand in by_brand
    ]


def legend_for(series: Sequence[Series]) -> str:
    """A legend of one entry per line, dashed where the line is."""
    return charts.legend(
        [LegendItem(s.name, s.color, "dashed" if s.dashed else "line") for s in series]
    )
