"""Retrying infrastructure errors with backoff: the one policy of the consumer's loops."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaError

from streaming.errors import TRANSIENT_DB_ERRORS

logger = logging.getLogger(__name__)

BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0


def retry(what: str, action: Callable[[], Any], give_up: Callable[[], bool]) -> Any:
    """Run `action` until it succeeds, backing off on infrastructure errors (0.2 s doubling to
    10 s), each logged as a warning that says what is being waited for.

    Re-raises only when `give_up()` says so (a stop was requested during an outage); the caller
    then exits without storing anything it could not store.
    """
    delay = BACKOFF_START_S
    while True:
        try:
            return action()
        except (*TRANSIENT_DB_ERRORS, KafkaError) as error:
            if give_up():
                raise
            logger.warning("%s failed (%s); retrying in %.1f s", what, one_line(error), delay)
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)


def one_line(error: BaseException) -> str:
    """An error as one bounded log line: its type and its message, whitespace folded."""
    name = type(error).__name__
    text = " ".join(str(error).split()) or name
    # kafka-python's messages often start with the type's name already.
    return (text if name in text[: len(name) + 12] else f"{name}: {text}")[:300]
