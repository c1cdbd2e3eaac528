"""The one way a moment in time enters the pipeline: `parse_moment`.

One rule for every caller (CLI options, DAG run params, XCom values, library arguments): a
moment without a UTC offset is a UTC moment, because every day and week of the pipeline is a UTC
one. Nothing is ever read in the machine's local time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pulse.errors import PulseError


def parse_moment(value: str | date | datetime, name: str) -> datetime:
    """An aware datetime in UTC.

    Args:
        value: ISO 8601 text (`2026-01-02`, `2026-01-02T03:00`, `...Z`, `...+02:00`), a
            datetime, or a date (its midnight).
        name: what the value is, for the error message.

    Raises:
        PulseError: the text is not ISO 8601.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        except (ValueError, IndexError):
            raise PulseError(f"{name} is not an ISO 8601 date or time: {value!r}") from None
    elif not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
