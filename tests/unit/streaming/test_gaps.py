"""`streaming.gaps.classify`: which stored offsets are gaps, and why (docs/contracts.md, "Gaps")."""

from __future__ import annotations

import pytest

from streaming.gaps import Gap, classify


@pytest.mark.parametrize(
    ("stored", "start", "end", "ids", "cause"),
    [
        (12, 0, 20, ("a", "a"), None),  # inside the partition
        (20, 0, 20, ("a", "a"), None),  # at the end: nothing new yet
        (0, 0, 0, (None, None), None),  # an empty partition, read to its end
        (12, 0, 6, (None, None), "beyond_end"),  # recreated, and the broker has no topic ids
        (12, 0, None, ("a", "b"), "topic_recreated"),  # a new topic id wins over offsets
        (3, 0, 20, ("a", "b"), "topic_recreated"),  # even when the offset still fits
        (4, 10, 20, ("a", "a"), "before_start"),  # retention removed 4..9 unread
        (4, None, None, ("a", None), None),  # nothing known: no gap claimed
    ],
)
def test_classify(
    stored: int, start: int | None, end: int | None, ids: tuple, cause: str | None
) -> None:
    assert (
        classify(stored, log_start=start, log_end=end, topic_id_stored=ids[0], topic_id_now=ids[1])
        == cause
    )


def test_offsets_start_over_after_a_recreation_but_not_after_retention() -> None:
    gap = Gap(topic="t", partition=0, stored_offset=12, cause="topic_recreated", resume_offset=0)
    assert gap.reuses_offsets
    assert "stored offset 12" in gap.describe() and "resuming at 0" in gap.describe()
    retention = Gap(topic="t", partition=0, stored_offset=4, cause="before_start", resume_offset=10)
    assert not retention.reuses_offsets
