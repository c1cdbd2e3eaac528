"""The parts every mart's suites share (pulse.quality.marts_suites): the marts data source and
checkpoint, the table of a mart's changed rows, and the two suites of a mart."""

from __future__ import annotations

from pulse.quality.rules import Rule, SuiteSpec, not_null, primary_key

MARTS_DATASOURCE = "marts_build"
MARTS_CHECKPOINT = "marts_gate"
# The table of a mart's changed rows, beside the mart in the build schema.
CHANGED_SUFFIX = "__changed"


def changed_table(mart: str) -> str:
    """The table of a mart's changed rows (see pulse.quality.marts_suites)."""
    return f"{mart}{CHANGED_SUFFIX}"


def mart_suites(name: str, keys: tuple[str, ...], rules: list[Rule]) -> list[SuiteSpec]:
    """The mart's two suites: keys on the whole mart, `rules` on its changed rows."""
    return [
        SuiteSpec(
            name=f"marts_{name}__keys",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=name,
            rules=[*primary_key(*keys), not_null("is_suppressed")],
        ),
        SuiteSpec(
            name=f"marts_{name}",
            layer="marts",
            datasource=MARTS_DATASOURCE,
            asset=changed_table(name),
            rules=rules,
        ),
    ]
