"""The data interval a run covers: explicit bounds or the DAG run's own, never in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse.errors import PulseError
from pulse.timestamps import parse_moment

# How far ahead of this machine's clock an explicit interval end may be (clock skew between the
# machine that chose it and this one); the freshness check then waits those seconds out.
FUTURE_END_TOLERANCE = timedelta(seconds=5)


def refuse_future_end(end: datetime, now: datetime | None = None) -> None:
    """Raise when an interval ends in the future: its freshness cannot come before that moment,
    so a run would only wait (up to the freshness timeout) for nothing."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if end > now + FUTURE_END_TOLERANCE:
        raise PulseError(
            f"the interval ends at {end.isoformat()}, in the future (now {now:%Y-%m-%dT%H:%M:%S}"
            "+00:00); a run covers a past interval (the last complete hour by default)"
        )


def resolve_interval(
    explicit_start: str | datetime | None,
    explicit_end: str | datetime | None,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The run's interval: explicit bounds (run params) if given, else the DAG run's interval.

    Explicit bounds that end in the future are refused (`refuse_future_end`), so a manually
    triggered run with such params fails at once instead of waiting in the freshness check; a
    scheduled run's own interval always ends before the run starts.
    """
    if (explicit_start is None) != (explicit_end is None):
        raise PulseError("give both interval_start and interval_end, or neither")
    if explicit_start is not None and explicit_end is not None:
        start = parse_moment(explicit_start, "interval_start")
        end = parse_moment(explicit_end, "interval_end")
        refuse_future_end(end, now)
    elif data_interval_start is not None and data_interval_end is not None:
        start = parse_moment(data_interval_start, "data_interval_start")
        end = parse_moment(data_interval_end, "data_interval_end")
    else:
        raise PulseError("the run has no data interval; give interval_start and interval_end")
    if end <= start:
        raise PulseError(f"the data interval is empty: {start.isoformat()} to {end.isoformat()}")
    return start, end


def last_complete_hour(now: datetime | None = None) -> tuple[datetime, datetime]:
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end
