"""Which DLQ publish failures are worth a retry (streaming/dead_letters.py): a permanent one
marks the dead letter unpublished at once, so it can never stop ingest."""

from __future__ import annotations

import pytest
from kafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from streaming.dead_letters import Failure, _mark
from streaming.decode import DeadLetter


def _letter() -> DeadLetter:
    return DeadLetter("t", 0, 7, None, b"{", [], "invalid_json", "not JSON")


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (MessageSizeTooLargeError("too big for the DLQ topic"), True),
        (TopicAuthorizationFailedError("denied"), True),
        (ValueError('Topic name "bad topic!" is illegal'), True),
        (KafkaTimeoutError("not acknowledged"), False),
        (KafkaConnectionError("broker away"), False),
        (NotLeaderForPartitionError("moving"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_failure_is_permanent_only_when_retrying_cannot_help(
    error: Exception, permanent: bool
) -> None:
    assert Failure(_letter(), error).permanent is permanent


def test_a_marked_dead_letter_is_stored_unpublished_with_its_error() -> None:
    letter = _letter()
    _mark(letter, MessageSizeTooLargeError("x" * 1000))
    row = dict(zip(("dlq_published", "dlq_error"), letter.copy_row()[-2:], strict=True))
    assert row["dlq_published"] is False
    assert row["dlq_error"].startswith("MessageSizeTooLargeError") and len(row["dlq_error"]) <= 300
