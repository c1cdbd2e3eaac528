"""The reference values of the dbt unit tests on intervals, recomputed by independent oracles.

`fct_brand_engagement_lift`'s unit tests state expected interval bounds. The SQL computes them
in closed form (dbt_project/macros/metrics.sql); here they are recomputed another way: Poisson
score limits as the roots of the score equation found numerically, Wilson limits by scipy's own
implementation. A wrong expected value in the yml (or a closed form that is not the method the
yml names) fails here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from scipy.optimize import brentq
from scipy.stats import binomtest, norm

from pulse.paths import REPO_ROOT

UNIT_TESTS = (
    REPO_ROOT / "dbt_project" / "models" / "marts" / "community" / "_community__unit_tests.yml"
)
Z = norm.ppf(0.975)

# (unit test, brand): micro engagements and exposure, broad engagements and exposure, as the
# test's given rows make them (see each test's description).
CASES = {
    ("lift_intervals_against_reference_values", "z0"): (0, 10, 10, 10),
    ("lift_intervals_against_reference_values", "z1"): (1, 1, 0, 5),
    ("lift_intervals_against_reference_values", "z10"): (10, 1, 1, 1),
    ("lift_poisson_intervals_and_small_group_share", "b1"): (5, 8, 4, 40),
}


def poisson_score_limits(events: int, exposure: float) -> tuple[float, float]:
    """Roots in mu of (k - mu)^2 = z^2 mu, by bracketing: no closed form involved."""

    def score(mu: float) -> float:
        return (events - mu) ** 2 - Z * Z * mu

    lower = 0.0 if events == 0 else brentq(score, 1e-12, events, xtol=1e-14)
    upper = brentq(score, max(events, 1e-12), 10 * events + 50, xtol=1e-14)
    return lower / exposure, upper / exposure


def wilson_limits(successes: int, trials: int) -> tuple[float, float]:
    interval = binomtest(successes, trials).proportion_ci(method="wilson")
    return float(interval.low), float(interval.high)


def expected_row(test_name: str, brand: str) -> dict[str, object]:
    tests = yaml.safe_load(UNIT_TESTS.read_text())["unit_tests"]
    (test,) = (t for t in tests if t["name"] == test_name)
    (row,) = (r for r in test["expect"]["rows"] if r["brand_id"] == brand)
    return row


def shown(value: float | None, places: int) -> str | None:
    return None if value is None else str(Decimal(repr(value)).quantize(Decimal(10) ** -places))


@pytest.mark.parametrize(("test_name", "brand"), sorted(CASES))
def test_interval_bounds_in_the_yml_match_independent_oracles(test_name: str, brand: str) -> None:
    micro_k, micro_e, broad_k, broad_e = CASES[(test_name, brand)]
    row = expected_row(test_name, brand)

    for side, k, e in (("micro", micro_k, micro_e), ("broad", broad_k, broad_e)):
        lower, upper = poisson_score_limits(k, e)
        assert row[f"{side}_engagement_rate_lower_95"] == shown(lower, 6), side
        assert row[f"{side}_engagement_rate_upper_95"] == shown(upper, 6), side

    # Lift: conditional binomial, k_micro of k_micro + k_broad, odds scaled by the exposures.
    if broad_k == 0:
        assert row["lift"] is None and row["lift_lower_95"] is None
    else:
        p_lower, p_upper = wilson_limits(micro_k, micro_k + broad_k)
        scale = broad_e / micro_e
        assert row["lift_lower_95"] == shown(p_lower / (1 - p_lower) * scale, 4)
        assert row["lift_upper_95"] == shown(p_upper / (1 - p_upper) * scale, 4)

    share_lower, share_upper = wilson_limits(micro_k, micro_k + broad_k)
    assert row["small_group_engagement_share_lower_95"] == shown(share_lower, 6)
    assert row["small_group_engagement_share_upper_95"] == shown(share_upper, 6)


def test_poisson_score_limits_agree_with_the_closed_form_the_sql_uses() -> None:
    # The macro's formula, (k + z^2/2 -+ z sqrt(k + z^2/4)) / E, at the textbook counts.
    for k in (0, 1, 2, 10, 100, 10_000):
        closed = (
            max(0.0, k + Z * Z / 2 - Z * (k + Z * Z / 4) ** 0.5),
            k + Z * Z / 2 + Z * (k + Z * Z / 4) ** 0.5,
        )
        assert poisson_score_limits(k, 1.0) == pytest.approx(closed, abs=1e-9)
