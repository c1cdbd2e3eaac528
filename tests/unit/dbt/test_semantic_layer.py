"""The dbt exposures name what the code reads, and the semantic layer names only real columns.

`dbt parse` validates the semantic manifest (measures, entities, time spine), but not that an
exposure's depends_on is what its code reads, nor that a measure's or dimension's column is in
the mart's contract, nor a metric filter's dimension reference (MetricFlow resolves those only
when it queries). These checks need no database.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from pulse.paths import REPO_ROOT
from pulse.publishing.publish import DAILY_MART, IDEAS_MART
from pulse.report.read.marts import COLUMNS_READ
from pulse.report.read.operational import EVENTS
from pulse.warehouse.names import MARTS

MODELS = REPO_ROOT / "dbt_project" / "models"
SEMANTIC = MODELS / "semantic"
REF = re.compile(r"^ref\('(\w+)'\)$")
SOURCE = re.compile(r"^source\('(\w+)', '(\w+)'\)$")
DIMENSION = re.compile(r"Dimension\('(\w+?)__(\w+)'\)")
# Words of SQL the measures' and dimensions' expressions use, everything else is a column.
SQL_WORDS = {"case", "when", "then", "else", "end", "is", "not", "and", "or", "coalesce", "null"}


def _load(path: Any) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def _exposures() -> dict[str, dict[str, set[Any]]]:
    exposures: dict[str, dict[str, set[Any]]] = {}
    every = [e for path in MODELS.rglob("*.yml") for e in _load(path).get("exposures", [])]
    for exposure in every:
        refs: set[Any] = set()
        sources: set[Any] = set()
        for node in exposure["depends_on"]:
            if match := REF.match(node):
                refs.add(match.group(1))
            elif match := SOURCE.match(node):
                sources.add(match.groups())
            else:
                raise AssertionError(f"{exposure['name']}: unexpected depends_on {node}")
        exposures[exposure["name"]] = {"refs": refs, "sources": sources}
    return exposures


def _contract_columns() -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for path in (MODELS / "marts").rglob("*.yml"):
        for model in _load(path).get("models", []):
            columns[model["name"]] = {column["name"] for column in model.get("columns", [])}
    return columns


def _semantic_models() -> list[dict[str, Any]]:
    return _load(SEMANTIC / "_semantic__semantic_models.yml")["semantic_models"]


def test_exposures_depend_on_exactly_what_their_code_reads() -> None:
    exposures = _exposures()
    assert exposures["bi_marts_views"]["refs"] == set(MARTS)
    assert exposures["community_pulse_report"]["refs"] == set(COLUMNS_READ)
    # The report's one read of a dbt source: the events stored, from raw (as ops, not BI).
    assert exposures["community_pulse_report"]["sources"] == {("pulse", EVENTS[1])}
    assert exposures["community_metrics_topic"]["refs"] == {DAILY_MART}
    assert exposures["community_alerts_topic"]["refs"] == {DAILY_MART, IDEAS_MART}
    others = [e for name, e in exposures.items() if name != "community_pulse_report"]
    assert all(not exposure["sources"] for exposure in others)
    # Whatever else reads the warehouse downstream reads marts (the views BI sees or a build).
    assert all(exposure["refs"] <= set(MARTS) for exposure in exposures.values())


def test_semantic_models_name_only_columns_of_the_marts_contracts() -> None:
    contracts = _contract_columns()
    for semantic_model in _semantic_models():
        match = REF.match(semantic_model["model"])
        assert match, f"{semantic_model['name']}: model is not a ref"
        mart = match.group(1)
        assert mart in contracts, f"{semantic_model['name']}: {mart} is not a mart"
        named: set[str] = set()
        for element in [
            *semantic_model.get("entities", []),
            *semantic_model.get("dimensions", []),
            *semantic_model.get("measures", []),
        ]:
            expr = element.get("expr")
            if expr is None:
                named.add(element["name"])
            else:
                named.update(set(re.findall(r"[a-z_][a-z0-9_]*", str(expr).lower())) - SQL_WORDS)
        unknown = named - contracts[mart]
        assert not unknown, f"{semantic_model['name']} names columns {mart} lacks: {unknown}"


def test_metric_filters_name_dimensions_that_exist() -> None:
    # A dimension is referenced through its semantic model's primary entity.
    dimensions = set()
    for model in _semantic_models():
        primary = model.get("primary_entity") or next(
            entity["name"] for entity in model["entities"] if entity["type"] == "primary"
        )
        dimensions.update((primary, dimension["name"]) for dimension in model["dimensions"])
    metrics = _load(SEMANTIC / "_semantic__metrics.yml")["metrics"]
    filters = [
        (metric["name"], text)
        for metric in metrics
        for text in [
            metric.get("filter") or "",
            *(
                item.get("filter") or ""
                for item in metric["type_params"].get("metrics", [])
                if isinstance(item, dict)
            ),
        ]
    ]
    referenced = [(name, ref) for name, text in filters for ref in DIMENSION.findall(text)]
    assert referenced, "no metric filter names a dimension: this test checks nothing"
    for name, ref in referenced:
        assert ref in dimensions, f"metric {name} filters on {'__'.join(ref)}, which is not defined"
