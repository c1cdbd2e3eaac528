"""The building blocks of the suites: `Rule`, `SuiteSpec` and the reusable rule builders.

A rule is one expectation plus the rule it enforces, in words; the words become the expectation's
`notes`, which Data Docs, `quality.validation_results.rule` and the CLI summary show. The suites
themselves are in `pulse.quality.raw_suites` and `pulse.quality.marts_suites`.

Great Expectations is imported only when a rule is built (`Rule.build`), never when this module
is: it takes seconds, and most callers only need the suites' names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

Layer = Literal["raw", "marts"]

# Each data asset has one batch definition: the whole asset (a query asset is already the run's
# slice; a mart table is one build).
BATCH_DEFINITION = "whole"

# The runtime value of this `{"$PARAMETER": ...}` reference is PULSE_MIN_GROUP_SIZE; the runner
# fills it (the raw layer's parameters are in `pulse.quality.raw_suites`).
PARAM_MIN_GROUP_SIZE = "min_group_size"


@dataclass(frozen=True)
class Rule:
    """One expectation and the rule it enforces, in words."""

    text: str
    build: Callable[[], Expectation]
    # Columns a SQL-bodied rule reads (the others name theirs in the expectation's kwargs).
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteSpec:
    """One expectation suite on one data asset (one validation definition)."""

    name: str
    layer: Layer
    datasource: str
    asset: str
    rules: list[Rule] = field(default_factory=list)
    query: str | None = None  # query asset; else a table asset named `asset`

    def expectations(self) -> list[Expectation]:
        """The suite's expectations, each with its rule as `notes`."""
        built = []
        for rule in self.rules:
            expectation = rule.build()
            expectation.notes = rule.text
            built.append(expectation)
        return built


def param(name: str) -> dict[str, str]:
    """A reference to a value the checkpoint run supplies (`expectation_parameters`).

    Args:
        name: the parameter's name, one of the `PARAM_*` constants.

    Returns:
        The `{"$PARAMETER": name}` form Great Expectations resolves at run time.
    """
    return {"$PARAMETER": name}


def gxe() -> Any:
    """The `great_expectations.expectations` module, imported on first use."""
    import great_expectations.expectations as gxe

    return gxe


def _suppressed(value: bool) -> Any:
    from great_expectations.expectations.row_conditions import Column

    return Column("is_suppressed") == value


def _above_zero(column: str) -> Any:
    from great_expectations.expectations.row_conditions import Column

    return Column(column) > 0


def unique(*columns: str) -> Rule:
    """The key is unique: one column, or the combination of several.

    Args:
        *columns: the key's columns.
    """
    if len(columns) == 1:
        return Rule(
            f"{columns[0]} is unique (the key)",
            lambda: gxe().ExpectColumnValuesToBeUnique(column=columns[0]),
        )
    return Rule(
        f"({', '.join(columns)}) is unique (the key)",
        lambda: gxe().ExpectCompoundColumnsToBeUnique(column_list=list(columns)),
    )


def not_null(column: str) -> Rule:
    """`column` is never null."""
    return Rule(
        f"{column} is never null", lambda: gxe().ExpectColumnValuesToNotBeNull(column=column)
    )


def primary_key(*columns: str) -> list[Rule]:
    """Every key column is never null, and the key is unique.

    Args:
        *columns: the key's columns.
    """
    return [*(not_null(column) for column in columns), unique(*columns)]


def share(column: str) -> Rule:
    """`column` is a share: within [0, 1]."""
    return Rule(
        f"{column} is a share: within [0, 1]",
        lambda: gxe().ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1),
    )


def sentiment(column: str) -> Rule:
    """`column` is a sentiment score: within [-1, 1]."""
    return Rule(
        f"{column} is a sentiment: within [-1, 1]",
        lambda: gxe().ExpectColumnValuesToBeBetween(column=column, min_value=-1, max_value=1),
    )


def at_most(smaller: str, larger: str, text: str | None = None) -> Rule:
    """smaller <= larger on every row where both are shown.

    Args:
        smaller: the column that may not exceed `larger`.
        larger: the column that bounds `smaller`.
        text: the rule in words (default: "smaller <= larger").
    """
    return Rule(
        text or f"{smaller} <= {larger}",
        lambda: gxe().ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=larger,
            column_B=smaller,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
    )


def in_set(column: str, values: list[str]) -> Rule:
    """`column` is one of `values`."""
    return Rule(
        f"{column} is one of {', '.join(values)}",
        lambda: gxe().ExpectColumnValuesToBeInSet(column=column, value_set=values),
    )


def _flagged_columns(columns: tuple[str, ...], condition: str) -> str:
    """SQL: the names of `columns` whose value meets `condition` ("{}" is the column)."""
    flags = ", ".join(f"case when {condition.format(c)} then '{c}' end" for c in columns)
    return f"array_remove(array[{flags}], null)"


def none_negative(keys: tuple[str, ...], columns: tuple[str, ...]) -> Rule:
    """Every count and non-negative measure of a mart, in one query (rows name the columns).

    Args:
        keys: the mart's key columns, shown on each offending row.
        columns: the columns that may not be negative.
    """
    query = (
        f"select {', '.join(keys)}, {_flagged_columns(columns, '{} < 0')} as negative_columns\n"
        f"from {{batch}}\nwhere " + "\n    or ".join(f"{column} < 0" for column in columns)
    )
    return Rule(
        "counts and measures are not negative (rows name the negative columns)",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="counts and measures are not negative"
        ),
        columns=(*keys, *columns),
    )


def hidden_when_suppressed(keys: tuple[str, ...], columns: tuple[str, ...]) -> Rule:
    """The suppression rule of the privacy contract, in one query (rows name figures shown).

    Args:
        keys: the mart's key columns, shown on each offending row.
        columns: the member figures a suppressed row must leave null.
    """
    query = (
        f"select {', '.join(keys)}, "
        f"{_flagged_columns(columns, '{} is not null')} as shown_figures\n"
        f"from {{batch}}\nwhere is_suppressed and (\n    "
        + "\n    or ".join(f"{column} is not null" for column in columns)
        + "\n)"
    )
    return Rule(
        "no member figure where is_suppressed (rows name the figures shown anyway)",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="no member figure where is_suppressed"
        ),
        columns=(*keys, "is_suppressed", *columns),
    )


def group_large_enough(column: str, where_shown: bool = True, zero_allowed: bool = False) -> Rule:
    """A figure shown only for groups of at least PULSE_MIN_GROUP_SIZE members.

    Args:
        column: the group's member count.
        where_shown: check the rows that are not suppressed; else every row where `column` is
            shown (not null), for marts that hide a figure by nulling it.
        zero_allowed: (with where_shown=False) an empty group may be shown as 0: it reveals
            nobody.
    """
    if zero_allowed:
        return Rule(
            f"{column}, where shown, is 0 or >= min_group_size",
            lambda: gxe().ExpectColumnValuesToBeBetween(
                column=column,
                min_value=param(PARAM_MIN_GROUP_SIZE),
                row_condition=_above_zero(column),
            ),
        )
    if where_shown:
        return Rule(
            f"{column} >= min_group_size where not is_suppressed",
            lambda: gxe().ExpectColumnValuesToBeBetween(
                column=column,
                min_value=param(PARAM_MIN_GROUP_SIZE),
                row_condition=_suppressed(False),
            ),
        )
    return Rule(
        f"{column}, where shown, is >= min_group_size",
        lambda: gxe().ExpectColumnValuesToBeBetween(
            column=column, min_value=param(PARAM_MIN_GROUP_SIZE)
        ),
    )


def within_interval(point: str, lower: str, upper: str) -> list[Rule]:
    """lower <= point <= upper: the confidence interval contains its estimate."""
    return [
        at_most(lower, point, f"{lower} <= {point} (the interval contains the estimate)"),
        at_most(point, upper, f"{point} <= {upper} (the interval contains the estimate)"),
    ]


def null_together(keys: tuple[str, ...], estimate: str, lower: str, upper: str) -> Rule:
    """An interval is shown exactly when its estimate is.

    Args:
        keys: the mart's key columns, shown on each offending row.
        estimate: the estimate's column.
        lower: its lower bound's column.
        upper: its upper bound's column.
    """
    query = (
        f"select {', '.join(keys)}, {estimate}, {lower}, {upper}\nfrom {{batch}}\n"
        f"where ({estimate} is null) <> ({lower} is null)\n"
        f"    or ({estimate} is null) <> ({upper} is null)"
    )
    return Rule(
        f"{lower} and {upper} are null exactly when {estimate} is",
        lambda: gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query,
            description=f"the interval of {estimate} is shown exactly when it is",
        ),
        columns=(*keys, estimate, lower, upper),
    )
