"""The DLQ topic publisher: rejected records, original key and value, `pulse.*` headers."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streaming.decode import DeadLetter

logger = logging.getLogger(__name__)

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 5.0
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Failure:
    """A dead letter the DLQ topic did not take, and why."""

    letter: DeadLetter
    error: Exception

    @property
    def permanent(self) -> bool:
        """True when retrying cannot help: the message is too large for the topic, the topic
        name is refused, the client is not authorised. Timeouts and connection errors pass."""
        if isinstance(self.error, KafkaError):
            return not self.error.retriable and not isinstance(self.error, KafkaTimeoutError)
        # kafka-python refuses an illegal topic name with a ValueError before sending anything.
        return isinstance(self.error, ValueError | TypeError)


class DeadLetterPublisher:
    """Publishes dead letters and waits for the broker's acknowledgement of every one."""

    def __init__(
        self, bootstrap: str, topic: str, max_message_bytes: int = 5 * 1024 * 1024
    ) -> None:
        self._topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="pulse-dlq",
            acks="all",
            linger_ms=5,
            # The DLQ topic's own limit: a bigger dead letter is refused here, for good, instead
            # of by the broker after a round trip (and is then kept in Postgres, unpublished).
            max_request_size=max_message_bytes,
            # A send never blocks the writer longer than this on missing metadata.
            max_block_ms=10_000,
            bootstrap_timeout_ms=5000,
            retries=5,
        )

    def publish(self, letters: list[DeadLetter], timeout_s: float = 30.0) -> list[Failure]:
        """Send and confirm every letter; returns the ones the broker did not take."""
        failures: list[Failure] = []
        sent = []
        for letter in letters:
            try:
                # An offset range has neither key nor value; the client needs one of them.
                value = letter.value if letter.key is not None or letter.value is not None else b""
                future = self._producer.send(
                    self._topic, key=letter.key, value=value, headers=letter.dlq_headers()
                )
            except (KafkaError, ValueError, TypeError) as error:
                failures.append(Failure(letter, error))
            else:
                sent.append((letter, future))
        # On a timeout the futures still pending say which letters were not taken.
        with contextlib.suppress(KafkaTimeoutError):
            self._producer.flush(timeout=timeout_s)
        for letter, future in sent:
            if not future.is_done:
                failures.append(Failure(letter, KafkaTimeoutError("not acknowledged in time")))
                continue
            try:
                future.get(timeout=0)
            except KafkaError as error:
                failures.append(Failure(letter, error))
        return failures

    def publish_all(
        self, letters: list[DeadLetter], give_up: Callable[[], bool], budget_s: float
    ) -> None:
        """Publish, retrying what can succeed; mark the rest unpublished on the letters.

        A permanent refusal marks the letter at once; retriable errors are retried with backoff
        for `budget_s`, then the letters left are marked too. Either way ingest goes on: a marked
        letter stays in Postgres (`dlq_published = false`) with the error.

        Raises:
            KafkaError: a stop was requested (`give_up()`) while letters were still unsent; the
                caller then stores nothing, so they are read again on the next start.
        """
        pending, delay, deadline = list(letters), _BACKOFF_START_S, time.monotonic() + budget_s
        while pending:
            retry: list[DeadLetter] = []
            for failure in self.publish(pending):
                if failure.permanent:
                    _mark(failure.letter, failure.error)
                else:
                    retry.append(failure.letter)
            if not retry:
                return
            last = f"{len(retry)} dead letter(s) not acknowledged by {self._topic}"
            if time.monotonic() + delay > deadline:
                for letter in retry:
                    _mark(letter, KafkaTimeoutError(f"gave up after {budget_s:.0f} s: {last}"))
                return
            if give_up():
                raise KafkaTimeoutError(last)
            logger.warning("%s; retrying in %.1f s", last, delay)
            time.sleep(delay)
            pending, delay = retry, min(delay * 2, _BACKOFF_MAX_S)

    def close(self) -> None:
        self._producer.close(timeout=5)


def _mark(letter: DeadLetter, error: Exception) -> None:
    letter.dlq_published = False
    letter.dlq_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    logger.error(
        "dead letter %s[%d]@%d kept in Postgres only, the DLQ topic refused it: %s",
        letter.source_topic,
        letter.source_partition,
        letter.source_offset,
        letter.dlq_error,
    )
